// The core as sysmaster-init runs it: inherited sockets, state in sql.js, and the init protocol (init/protocol.ts,
// docs/init.md). A core started here may be the first or the replacement of one that died: it restores what the
// dead one persisted, takes the exits init buffered, and carries on without touching a running service.
import fs from 'node:fs';
import path from 'node:path';
import { heartbeatMs, inheritedFds, type CoreMessage, type InitMessage } from '../init/protocol.js';
import { loadSpec } from './spec.js';
import { consoleSink } from './console.js';
import { startCore, type Core } from './core.js';
import { exitStatus } from './actions.js';
import { killUnit } from './kill.js';
import type { ExitInfo } from '../machines/types.js';
import { stateDir } from './paths.js';
import { startTime } from './proc.js';
import { StateStore } from './state.js';

const send = (m: CoreMessage) => process.send?.(m);
const log = (m: string) => process.stderr.write(`sysmaster-core[${process.pid}]: ${m}\n`);

async function main(): Promise<void> {
  const fds = inheritedFds();
  if (!fds || !process.send) {
    log('this is the core that sysmaster-init runs; start sysmaster-init (or sysmaster up) instead');
    process.exit(2);
  }
  process.on('SIGUSR1', () => log('SIGUSR1 ignored'));
  // The console under `up` may go away (the terminal closed): the core must not die of writing to it.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  // init's watchdog counts from our spawn: beat before the slow parts (sql.js, restoring units).
  send({ type: 'heartbeat' });
  setInterval(() => send({ type: 'heartbeat' }), heartbeatMs());
  const dir = stateDir();
  let stopping = false;
  // Under `sysmaster up` the terminal is the console: states and service output, prefixed.
  const sink = process.env.SYSMASTER_UP ? consoleSink(process.env.SYSMASTER_UP === 'prefix', []) : undefined;
  const store = await StateStore.open(path.join(dir, 'state.db'));
  const owner = initIdentity();
  if (store.dropped) log(`${store.file}: ${store.dropped}; starting over without it`);
  const saved = store.load();
  // A state left by the core of another init (a previous `up`, a reboot) describes processes that are not ours.
  const previous = saved && saved.owner === owner ? saved : null;
  if (saved && !previous) log('ignoring a state file left by another sysmaster-init');
  const core = await startCore({
    stateDir: dir,
    fds,
    store,
    owner,
    sink,
    state: previous,
    onExit: (code, action) => void shutdown(code, action),
    // Live update: the state is saved, init starts a fresh core (new code on disk), which takes over.
    onReexec: () => {
      d.flush();
      sink?.note('re-executing: a fresh core takes over');
      send({ type: 'reexec' });
      setTimeout(() => process.exit(0), 20);
    },
  });
  const d = core.daemon;
  const gone = core.gone;
  d.onAction = (a) => {
    if (a.action === 'exit-force') return void exitNow(a.code);
    void shutdown(a.action === 'exit' ? a.code : 0, a.action === 'exit' ? undefined : a.action);
  };
  sink?.note(`manager pid ${process.pid} under sysmaster-init ${process.ppid}, state in ${dir}`);
  if (previous) (sink ? sink.note : log)(`took over ${previous.units.length} units from the previous core (pid ${process.pid})`);

  let first = true;
  process.on('message', (m: InitMessage) => {
    if (m.type === 'events') {
      for (const e of m.events) d.applyEvent(e, (seq) => send({ type: 'ack', seq }));
      if (first) {
        first = false;
        // Pids the snapshot names that died with no exit for us (reaped by a core that died before saving it).
        for (const g of gone) d.lostProcess(g.unit, g.pid);
        // With every unit taken over and its downtime events applied: an apply the dead core left open.
        void d.transactions.resolveUnfinished().catch((err: Error) => log(`cannot resolve the unfinished transaction: ${err.message}`));
      }
    } else if (m.type === 'shutdown') void shutdown(0);
    else if (m.type === 'reload' && d.specFile) {
      void loadSpec(d.specFile)
        .then((spec) => d.transactions.apply(spec))
        .catch((err: Error) => log(`reload failed: ${err.message}`));
    } else if (m.type === 'ctrl-alt-del') log('ctrl-alt-del: no ctrl-alt-del.target yet, ignored');
    else if (m.type === 'forward') {
      const u = mainUnit(d);
      const pid = u ? d.context(u).mainPid : null;
      if (typeof pid === 'number') killUnit({ mainPid: pid, controlPid: null, mode: 'process', signal: m.signal });
      else log(`${m.signal}: the main command is not running`);
    }
  });

  async function shutdown(code: number, action?: 'poweroff' | 'reboot' | 'halt'): Promise<void> {
    if (stopping) return;
    stopping = true;
    sink?.note('stopping all units...');
    await d.stopAll();
    d.flush();
    // Every unit is stopped: the instance's cgroup parent is empty and goes (a crashed core leaves it to the next).
    d.effects.cgroups.cgroups?.close();
    sink?.note('all units stopped');
    // The log process stores what the units wrote last, then ends.
    await d.logs.exit();
    await exitNow(mainStatus(d) ?? code, action);
  }

  /** Tell init the code to end with, and go (exit-force: whatever still runs, init kills). */
  async function exitNow(code: number, action?: 'poweroff' | 'reboot' | 'halt'): Promise<void> {
    stopping = true;
    send({ type: 'exit', code, ...(action ? { action } : {}) });
    await core.close();
    store.close();
    process.exit(code);
  }

  send({ type: 'ready' });

  const spec = process.env.SYSMASTER_SPEC;
  if (!previous && spec && (fs.existsSync(spec) || process.env.SYSMASTER_MAIN_CMD)) {
    const result = await d.transactions.apply(await loadSpec(spec), undefined, { boot: true }).catch((err: Error) => {
      log(`cannot apply ${spec}: ${err.message}`);
      return null;
    });
    if (!result) return;
    const bad = result.results.filter((x) => x.result !== 'done');
    const summary = bad.length
      ? `started with failures: ${bad.map((b) => `${b.unit} (${b.result})`).join(', ')}`
      : `all ${result.results.length} jobs done`;
    (sink ? sink.note : log)(summary);
  }
}

/** The main command's unit (`sysmaster-init -- CMD`: the loader adds it as main.service), if there is one. */
function mainUnit(d: Core['daemon']) {
  return process.env.SYSMASTER_MAIN_CMD ? d.units.get('main.service') : undefined;
}

/**
 * A main command's exit status, once it has ended: the manager's own, as tini and s6-overlay pass it on (also after
 * `docker stop`, which ends it with SIGTERM: 143 unless it handles the signal).
 */
function mainStatus(d: Core['daemon']): number | null {
  const u = mainUnit(d);
  const exit = u ? (d.context(u).mainExit as ExitInfo | null | undefined) : null;
  return exit ? exitStatus(exit, 0) : null;
}

/** Which init this core belongs to: its pid and start time (a pid alone may be reused). */
function initIdentity(): string {
  return `${process.ppid}:${startTime(process.ppid) ?? ''}`;
}

main().catch((err: Error) => {
  log(`fatal: ${err.stack ?? err.message}`);
  process.exit(1);
});
