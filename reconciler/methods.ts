import { loadSpec } from './spec.js';
import type { JobMode, JobType } from '../transactions/types.js';
import { completeUnitName } from '../units/index.js';
import type { Daemon } from './daemon.js';
import type { Handler } from './control.js';
import type { LogFilter } from '../logger/store.js';
import { ControlError } from './protocol.js';
import { resourceSample, socketInfo, timerInfo, unitInfo, unitProperties, unitStatus } from './view.js';
import { killUnit } from './kill.js';

const JOB_TYPES: JobType[] = ['start', 'stop', 'restart', 'reload', 'try-restart', 'reload-or-restart'];
const MODES: JobMode[] = ['replace', 'fail', 'isolate'];

/** What the process around the daemon does for it: exit (with a power action) and re-exec. */
export interface Hooks {
  exit(code: number, action?: 'poweroff' | 'reboot' | 'halt'): void;
  /** Hand over to a fresh core (new code on disk). */
  reexec(): void;
  /** The pid of the sysmaster-init this core runs under. */
  init: number;
}

/** The control API (docs/protocol.md): one handler per method, each a thin call into the daemon. */

export function methods(d: Daemon, hooks: Hooks): Record<string, Handler> {
  const names = (p: Record<string, unknown>): string[] => strings(p.units, 'units').map(completeUnitName);
  const spec = async (p: Record<string, unknown>) => {
    if (typeof p.spec !== 'string') throw new ControlError('EPARAMS', '"spec" must be the path of a spec file');
    return loadSpec(p.spec);
  };
  const power = (action: 'poweroff' | 'reboot' | 'halt') => {
    setImmediate(() => hooks.exit(0, action));
    return { action };
  };
  return {
    ping: () => ({ pid: process.pid, init: hooks.init, stateDir: d.paths.dir, units: d.units.size, specFile: d.specFile }),

    'list-units': (p) => {
      const states = p.states ? strings(p.states, 'states') : [];
      const types = p.types ? strings(p.types, 'types') : [];
      return [...d.units.values()]
        .filter((u) => !states.length || states.includes(u.active) || states.includes(u.sub))
        .filter((u) => !types.length || types.includes(u.type.name))
        .sort((a, b) => byCodeUnits(a.name, b.name))
        .map((u) => unitInfo(d, u));
    },

    // systemctl list-timers: active timers (every one with `all`), the next to elapse first, those with none last.
    'list-timers': (p) =>
      [...d.units.values()]
        .filter((u) => u.type.name === 'timer' && (p.all === true || u.active !== 'inactive'))
        .map((u) => timerInfo(d, u))
        .sort((a, b) => byCodeUnits(`${a.next ?? '~'} ${a.unit}`, `${b.next ?? '~'} ${b.unit}`)),

    // systemctl list-sockets: each listening address of the active sockets (of every one with `all`).
    // sctl top: every service's cgroup accounting in one call; the client takes %CPU from two of these.
    resources: () => {
      const sample = resourceSample(d);
      if (!sample) throw new ControlError('ENOCGROUPS', `This manager has no cgroups, so no accounting: ${d.effects.cgroups.why}.`);
      return sample;
    },

    'list-sockets': (p) =>
      [...d.units.values()]
        .filter((u) => u.type.name === 'socket' && (p.all === true || u.active !== 'inactive'))
        .flatMap((u) => socketInfo(u))
        .sort((a, b) => byCodeUnits(`${a.listen} ${a.unit}`, `${b.listen} ${b.unit}`)),

    status: async (p) => {
      const lines = typeof p.lines === 'number' ? p.lines : 10;
      const list = names(p);
      const units = list.length ? list.map((n) => d.unit(n)) : [...d.units.values()];
      // The state as it is now; the last lines then come from the log process (none if it cannot answer).
      const states = units.map((u) => unitStatus(d, u, []));
      const logs = await Promise.all(units.map((u) => (lines > 0 ? d.logs.tail({ units: [u.name] }, lines).catch(() => []) : [])));
      const lost = await d.logs.lost().catch(() => ({}) as Record<string, number>);
      return states.map((s, i) => ({ ...s, logs: logs[i], ...(lost[s.name] && { logsLost: lost[s.name] }) }));
    },

    show: (p) => unitProperties(d, d.unit(completeUnitName(string(p.unit, 'unit')))),

    cat: (p) => ({ text: d.source(d.unit(completeUnitName(string(p.unit, 'unit')))) }),

    job: async (p, ctx) => {
      const type = string(p.type, 'type') as JobType;
      if (!JOB_TYPES.includes(type)) throw new ControlError('EPARAMS', `"type" must be one of ${JOB_TYPES.join(', ')}`);
      const mode = (p.mode ?? 'replace') as JobMode;
      if (!MODES.includes(mode)) throw new ControlError('EPARAMS', `"mode" must be one of ${MODES.join(', ')}`);
      if (p.key !== undefined && (typeof p.key !== 'string' || !p.key)) throw new ControlError('EPARAMS', '"key" must be a non-empty string');
      const tx = await d.run(names(p).map((unit) => ({ unit, type })), mode, p.key as string | undefined);
      ctx.emit({ transaction: tx.id, jobs: tx.jobs.map((j) => ({ id: j.id, unit: j.unit, type: j.type })) });
      if (p.wait === false) return { transaction: tx.id, results: null };
      const out = await tx.done;
      return { transaction: tx.id, results: out.results };
    },

    'list-jobs': () => d.engine.jobs().map((j) => ({ id: j.id, unit: j.unit, type: j.type, state: j.state })),

    'reset-failed': (p) => {
      const list = names(p);
      for (const u of list.length ? list.map((n) => d.unit(n)) : [...d.units.values()]) d.send(u, { type: 'RESET_FAILED' });
      return null;
    },

    kill: (p) => {
      const u = d.unit(completeUnitName(string(p.unit, 'unit')));
      const signal = typeof p.signal === 'string' ? p.signal : 'SIGTERM';
      const who = p.who ?? 'all';
      const ctx = d.context(u);
      const mainPid = typeof ctx.mainPid === 'number' && who !== 'control' ? ctx.mainPid : null;
      const controlPid = typeof ctx.controlPid === 'number' && who !== 'main' ? ctx.controlPid : null;
      killUnit({ mainPid, controlPid, mode: who === 'all' ? 'control-group' : 'process', signal });
      return null;
    },

    logs: async (p, ctx) => {
      // `sysmaster` names the manager's own messages (docs/logs.md); any other name must be a unit.
      const units = p.units ? strings(p.units, 'units').map((n) => (n === 'sysmaster' ? n : completeUnitName(n))) : [];
      for (const n of units) if (n !== 'sysmaster') d.unit(n);
      const filter: LogFilter = { units, since: time(p.since, 'since'), until: time(p.until, 'until'), priority: level(p.priority) };
      const lines = typeof p.lines === 'number' ? p.lines : 100;
      // The log process reads the files and follows: the core's loop only passes the records on.
      if (p.follow) await d.logs.follow(filter, lines, (r) => ctx.emit(r), ctx.signal);
      else for (const r of await d.logs.tail(filter, lines)) ctx.emit(r);
      return null;
    },

    plan: async (p) => d.plan(await spec(p)),

    apply: async (p, ctx) => {
      const key = typeof p.key === 'string' && p.key ? p.key : undefined;
      const timeoutMs = p.timeout === undefined || p.timeout === null ? undefined : duration(p.timeout, 'timeout');
      return d.transactions.apply(await spec(p), (progress) => ctx.emit(progress), {
        rollback: p.rollback !== false,
        key,
        wait: p.wait === true,
        strict: p.strict === true,
        timeoutMs,
      });
    },

    abort: (p) => {
      const key = p.key === undefined ? undefined : string(p.key, 'key');
      const id = d.transactions.abort(key, p.reason === undefined ? undefined : string(p.reason, 'reason'));
      if (id === null) throw new ControlError('ENOTRANSACTION', key ? 'That apply is not running any more.' : 'No apply is running.');
      return { transaction: id };
    },

    history: async () => (await d.transactions.journal()).list(),

    rollback: (p, ctx) => d.transactions.revert(p.id === undefined || p.id === null ? null : Number(p.id), (progress) => ctx.emit(progress)),

    'show-transaction': async (p) => {
      const journal = await d.transactions.journal();
      const id = Number(p.id);
      const tx = Number.isInteger(id) ? journal.get(id) : null;
      if (!tx) throw new ControlError('ENOTRANSACTION', `No transaction ${String(p.id)} in the journal (sctl history lists them).`);
      return { ...tx, savepoints: journal.savepoints(id), errors: journal.errors(id) };
    },

    'daemon-reload': async (p, ctx) => {
      if (!d.specFile) throw new ControlError('ENOSPEC', 'no spec has been applied yet: run sctl apply SPEC');
      return d.transactions.apply(await loadSpec(d.specFile), (progress) => ctx.emit(progress));
    },

    exit: (p) => {
      const code = typeof p.code === 'number' && Number.isInteger(p.code) && p.code >= 0 && p.code <= 255 ? p.code : 0;
      setImmediate(() => hooks.exit(code));
      return { code };
    },

    // A host's PID 1 powers off, reboots or halts after stopping everything; in a container or under `up` the
    // manager just exits (0).
    poweroff: () => power('poweroff'),
    reboot: () => power('reboot'),
    halt: () => power('halt'),

    'daemon-reexec': () => {
      setImmediate(hooks.reexec);
      return { pid: process.pid };
    },
  };
}


/** Code-unit order: localeCompare's first call sets up ICU (~10 ms), right when a new core answers its first list. */
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function string(v: unknown, name: string): string {
  if (typeof v !== 'string' || !v) throw new ControlError('EPARAMS', `"${name}" must be a non-empty string`);
  return v;
}

function strings(v: unknown, name: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new ControlError('EPARAMS', `"${name}" must be an array of strings`);
  }
  return v as string[];
}

function duration(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ControlError('EPARAMS', `"${name}" must be milliseconds (0: none)`);
  return v;
}

function time(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ControlError('EPARAMS', `"${name}" must be milliseconds since the epoch`);
  return v;
}

function level(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 7) throw new ControlError('EPARAMS', '"priority" must be 0 to 7');
  return v;
}
