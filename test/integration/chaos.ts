// The pieces of the chaos test (chaos.test.ts): a spec of many units of every service type, sysmaster-init run as
// PID 1 of its own PID namespace (or as a subreaper), a stress loop of random jobs that records what it touched, and
// the checks of what must hold after a core is killed, read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { descendants } from '../../init/killall.js';
import { call, type CallOptions } from '../../reconciler/client.js';
import type { UnitStatus } from '../../reconciler/view.js';
import { bin, marker, sleep } from './harness.js';

export type Kind = 'simple' | 'notify' | 'oneshot' | 'forking';

export interface ChaosUnit {
  name: string;
  kind: Kind;
  /** The one word of its payload's command line that no other process has. */
  mark: string;
  /** Units it Requires= (and is ordered After=). */
  requires: string[];
}

/** A small seeded PRNG (mulberry32): a failing run prints its seed, and the same seed draws the same requests. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS: Kind[] = ['simple', 'notify', 'oneshot', 'forking'];

/**
 * `n` services, the kinds in turn; in every block of five, the second Requires= the first and the third the second
 * (chains of three, so a job on one unit moves its chain), the other two stand alone.
 */
export function chaosSpec(dir: string, n: number): { file: string; units: ChaosUnit[] } {
  const pids = path.join(dir, 'pids');
  fs.mkdirSync(pids, { recursive: true });
  const units: ChaosUnit[] = [];
  // Hangs would otherwise wait out 90 s defaults; the stress loop restarts units far more often than the start
  // limit allows, which is not what this test is about.
  let text = '[manager]\nDefaultTimeoutStartSec = "20s"\nDefaultTimeoutStopSec = "10s"\n';
  for (let i = 0; i < n; i++) {
    const name = `c${String(i).padStart(3, '0')}.service`;
    const kind = KINDS[i % KINDS.length];
    const mark = marker();
    const requires = i % 5 === 1 || i % 5 === 2 ? [units[i - 1].name] : [];
    units.push({ name, kind, mark, requires });
    const lines = [`[service.${name.replace(/\.service$/, '')}]`, 'StartLimitIntervalSec = 0'];
    // The short sleeps before readiness and in the oneshot widen the windows in which a core can die mid-start.
    if (kind === 'simple') lines.push(`ExecStart = ["/bin/sleep", "${mark}"]`);
    if (kind === 'notify') {
      lines.push('Type = "notify"', 'NotifyAccess = "all"');
      lines.push(`ExecStart = ["/bin/sh", "-c", "sleep 0.1; systemd-notify --ready; exec sleep ${mark}"]`);
    }
    if (kind === 'oneshot') {
      // The marker is the shell's $0: the shell, not its short sleep, is the main process.
      lines.push('Type = "oneshot"', 'RemainAfterExit = true');
      lines.push(`ExecStart = ["/bin/sh", "-c", "sleep 0.2; :", "${mark}"]`);
    }
    if (kind === 'forking') {
      const pidFile = path.join(pids, `${name}.pid`);
      lines.push('Type = "forking"', `PIDFile = "${pidFile}"`);
      lines.push(`ExecStart = ["/bin/sh", "-c", "sleep ${mark} </dev/null >/dev/null 2>&1 & echo $! > ${pidFile}"]`);
    }
    if (requires.length) lines.push(`Requires = ${JSON.stringify(requires)}`, `After = ${JSON.stringify(requires)}`);
    text += `\n${lines.join('\n')}\n`;
  }
  const file = path.join(dir, 'chaos.toml');
  fs.writeFileSync(file, text);
  return { file, units };
}

/** Every unit connected to `unit` through Requires=, either way: what a job on `unit` may move. */
export function chainOf(units: ChaosUnit[], unit: string): string[] {
  const seen = new Set([unit]);
  for (let size = 0; size !== seen.size; ) {
    size = seen.size;
    for (const u of units) if (seen.has(u.name) || u.requires.some((r) => seen.has(r))) [u.name, ...u.requires].forEach((x) => seen.add(x));
  }
  return [...seen];
}

/** A process under init, as /proc shows it: `ns` is its pid in init's namespace (what sctl reports). */
export interface Proc {
  pid: number;
  ns: number;
  ppid: number;
  state: string;
  start: string;
  argv: string[];
  /** The words of its command line (a `sh -c` script split too): markers are looked up here. */
  words: Set<string>;
}

/** Every process under `root`, read from /proc in one pass. */
export function processes(root: number): Proc[] {
  const out: Proc[] = [];
  for (const pid of descendants(root)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ns = (/^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? String(pid)).trim().split(/\s+/);
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid, ns: Number(ns.at(-1)), ppid: Number(f[1]), state: f[0], start: f[19], argv, words: new Set(argv.flatMap((a) => a.split(/\s+/))) });
    } catch {
      // it ended while we looked
    }
  }
  return out;
}

/** Which unit set SYSMASTER_UNIT for a process (the core puts it in every service's environment). */
export function unitEnv(pid: number): string | null {
  try {
    return /(?:^|\0)SYSMASTER_UNIT=([^\0]*)/.exec(fs.readFileSync(`/proc/${pid}/environ`, 'latin1'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/**
 * sysmaster-init with the chaos spec: PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`) when
 * `pid1`, else a subreaper child of the test. (`Up` in harness.ts cannot run under unshare.)
 */
export class Manager {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;
  readonly sock: string;

  constructor(
    spec: string,
    readonly stateDir: string,
    readonly pid1: boolean,
  ) {
    this.sock = path.join(stateDir, 'control.sock');
    const args = [bin('sysmaster-init'), '--state-dir', stateDir, '--spec', spec];
    // NODE_OPTIONS carries tap's loader, which neither init nor its cores need.
    const { NODE_OPTIONS: _, ...env } = process.env;
    this.child = spawn(pid1 ? 'unshare' : args[0], pid1 ? ['--pid', '--fork', '--mount-proc', ...args] : args.slice(1), {
      env: { ...env, NO_COLOR: '1', SYSMASTER_UP: 'prefix' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    this.exited = new Promise((r) => this.child.on('close', (code) => r(code)));
  }

  /** init's pid as the test sees it: under unshare, unshare's one child. */
  get init(): number {
    if (!this.pid1) return this.child.pid!;
    const [pid] = descendants(this.child.pid!);
    if (!pid) throw new Error(`unshare has not forked init:\n${this.tail()}`);
    return pid;
  }

  /** The core's pid in init's namespace, from STATE_DIR/core.pid. */
  corePid(): number {
    return Number(fs.readFileSync(path.join(this.stateDir, 'core.pid'), 'utf8'));
  }

  call<T>(method: string, params: object = {}, opts: CallOptions = {}): Promise<T> {
    return call(this.sock, method, params, opts) as Promise<T>;
  }

  async services(): Promise<UnitStatus[]> {
    return (await this.call<UnitStatus[]>('status', { lines: 0 })).filter((u) => u.type === 'service');
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    const t0 = Date.now();
    while (!re.test(this.output)) {
      if (this.child.exitCode !== null) throw new Error(`init exited ${this.child.exitCode}:\n${this.tail()}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${re}:\n${this.tail()}`);
      await sleep(25);
    }
  }

  /** The last lines of init's output about `units`, between those of init and the cores: their story across kills. */
  about(units: string[], lines = 80): string {
    const mine = this.output.split('\n').filter((l) => l.startsWith('sysmaster') || units.some((u) => l.includes(u)));
    return mine.slice(-lines).join('\n');
  }

  tail(lines = 40): string {
    return this.output.trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** SIGKILL init and all under it (in a namespace, the kernel ends the rest with its PID 1). */
  async destroy(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const all = descendants(this.child.pid!);
    for (const pid of this.pid1 ? all.slice(0, 1) : [this.child.pid!, ...all]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await this.exited;
  }
}

export type JobType = 'start' | 'stop' | 'restart';

/** One stress request, from send to answer. */
export interface Req {
  n: number;
  unit: string;
  type: JobType;
  sent: number;
  done: number | null;
  /** Units of its transaction (the job event), when the answer came. */
  jobs: string[] | null;
  /** The result of the job on `unit` (done, canceled, dependency, ...; `none` when the answer has none), once answered. */
  result: string | null;
  /** The whole answer's results. */
  results: { unit: string; result: string }[] | null;
  /** What the client saw instead of an answer. */
  error: string | null;
}

/**
 * Workers that each send a random start/stop/restart of a random unit, wait for its answer, and go again. Every
 * request is logged, so a round can tell which units nothing has asked to move since a moment.
 */
export class Stress {
  readonly log: Req[] = [];
  private workers: Promise<void>[] = [];
  private on = false;

  constructor(
    private readonly m: Manager,
    private readonly units: ChaosUnit[],
    private readonly rand: () => number,
    private readonly width: number,
  ) {}

  resume(): void {
    this.on = true;
    this.workers = Array.from({ length: this.width }, () => this.work());
  }

  /** Stop sending, and wait for the answers to what is in flight (a core death in between is retried). */
  async pause(): Promise<void> {
    this.on = false;
    await Promise.all(this.workers);
  }

  /** Requests still unanswered at `since`, or sent after it. */
  since(at: number): Req[] {
    return this.log.filter((r) => r.sent >= at || r.done === null || r.done >= at);
  }

  private async work(): Promise<void> {
    while (this.on) {
      const u = this.units[Math.floor(this.rand() * this.units.length)];
      const type: JobType = (['start', 'stop', 'restart'] as const)[Math.floor(this.rand() * 3)];
      await this.send(u.name, type);
      await sleep(this.rand() * 30);
    }
  }

  private async send(unit: string, type: JobType): Promise<void> {
    const r: Req = { n: this.log.length, unit, type, sent: Date.now(), done: null, jobs: null, result: null, results: null, error: null };
    this.log.push(r);
    try {
      // EEOF (the core died with the request accepted) is retried, as sctl does: the key makes the next core
      // answer the first request instead of running its jobs again.
      const out = await this.m.call<{ results: { unit: string; result: string }[] } | null>(
        'job',
        { units: [unit], type, key: randomUUID() },
        {
          retries: 20,
          signal: AbortSignal.timeout(60_000),
          onEvent: (e) => (r.jobs = (e as { jobs: { unit: string }[] }).jobs.map((j) => j.unit)),
        },
      );
      if (!out) r.error = 'no answer in 60 s';
      else {
        r.results = out.results;
        r.result = out.results.find((x) => x.unit === unit)?.result ?? 'none';
      }
    } catch (err) {
      r.error = `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.trim();
    }
    r.done = Date.now();
  }
}

/** What must hold once a core has taken over and the jobs drained, as a list of failures (empty: all hold). */
export function check(opts: {
  units: ChaosUnit[];
  list: UnitStatus[];
  procs: Proc[];
  /** The core's pid as the test sees it. */
  core: number;
  /** Untouched units that were running before the kill: their main pid (namespace) and start time. */
  kept: Map<string, { ns: number; start: string }>;
}): string[] {
  const { units, list, procs, core, kept } = opts;
  const bad: string[] = [];
  const byNs = new Map(procs.map((p) => [p.ns, p]));
  const marks = new Set(units.map((u) => u.mark));
  const kinds = new Map(units.map((u) => [u.name, u.kind]));
  const state = new Map(list.map((u) => [u.name, u]));
  const live = procs.filter((p) => p.state !== 'Z');
  const show = (p: Proc) => `pid ${p.pid} (ns ${p.ns}, ppid ${p.ppid}, ${p.state}) ${JSON.stringify(p.argv.join(' '))}`;
  const info = (name: string) => {
    const s = state.get(name);
    const what = `${name} (${kinds.get(name)})`;
    return s ? `${what} ${s.active}/${s.sub}, result ${s.result}, MainPID ${s.mainPid ?? '-'}` : `${what} not listed`;
  };

  for (const [name, was] of kept) {
    const s = state.get(name);
    const p = byNs.get(was.ns);
    if (s?.mainPid !== was.ns || s.sub !== 'running' || !p || p.start !== was.start || p.state === 'Z') {
      bad.push(`PID changed: ${name} ran as ${was.ns} before the kill, now ${info(name)}; process ${p ? show(p) : 'gone'}`);
    }
  }

  for (const u of units) {
    const mine = live.filter((p) => p.words.has(u.mark));
    if (mine.length > 1) bad.push(`runs twice: ${info(u.name)}: ${mine.map(show).join('; ')}`);
    const s = state.get(u.name);
    if (!s) {
      bad.push(info(u.name));
      continue;
    }
    if (s.active === 'active' && s.sub === 'running') {
      const p = s.mainPid === null ? undefined : byNs.get(s.mainPid);
      if (!p || p.state === 'Z' || !p.words.has(u.mark)) bad.push(`state mismatch: ${info(u.name)} but its main process is ${p ? show(p) : 'gone'}`);
    } else if (['inactive', 'failed'].includes(s.active) || (s.active === 'active' && s.sub === 'exited')) {
      if (mine.length) bad.push(`state mismatch: ${info(u.name)} but ${mine.map(show).join('; ')} runs`);
    } else bad.push(`not settled with no job queued: ${info(u.name)}`);
    // Every payload starts and stops within a moment: a timeout means an event (READY=1, an exit, the PID file) or
    // an effect (a kill) was lost with a core.
    if (s.result === 'timeout') bad.push(`timed out: ${info(u.name)}`);
  }

  for (const p of procs) {
    if (p.state === 'Z') bad.push(`zombie: ${show(p)}`);
    // The manager's own processes: the core, and its log process (docs/logs.md), which outlives each core.
    else if (p.pid !== core && !p.words.has('sysmaster-logger') && ![...p.words].some((w) => marks.has(w))) {
      bad.push(`orphan, in no unit: ${show(p)}, SYSMASTER_UNIT=${unitEnv(p.pid) ?? '(none)'}`);
    }
  }
  return bad;
}
