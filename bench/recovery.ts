// Recovery time (issue 3): `sysmaster up` runs the layered DAG; each round kills the core with SIGKILL and times how
// long until a client gets an answer in which every unit is active with the main PID it had before. Measured in the
// same run: the Node cold start that any CLI pays, and the memory of init next to a bare Node process.
// Size knobs: BENCH_LAYERS, BENCH_WIDTH, BENCH_ROUNDS.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { call } from '../reconciler/client.js';
import type { UnitInfo } from '../reconciler/view.js';
import { pidsWith } from '../test/integration/harness.js';
import { dagOptions, dagSpec } from './dag.js';
import { stateTmp } from './dirs.js';
import { cpuSeconds, median, memory, peakRss, percentile, range, revision, row, verdict, writeResults } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const opts = dagOptions('3600.778');
const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
const units = opts.layers * opts.width;
const sctl = path.join(root, 'bin/sctl.js');
/** A settled core uses no CPU for this long (its heartbeats cost less than a clock tick). */
const IDLE_MS = 200;
const GIVE_UP_MS = 30_000;
/** Kills of the bare sysmaster-init's core before its memory is read: its peak is reached by then. */
const BARE_KILLS = 3;

/**
 * `sysmaster up` (or bare sysmaster-init, with up's console) on the DAG, run as users run it: the bin itself, with
 * the node flags of its #! line. (test/integration/harness.ts's Up finds bin/ from its own file, which is wrong from
 * dist/, where the benchmarks run.)
 */
class Up {
  readonly child: ChildProcess;
  readonly stateDir: string;
  output = '';
  private exit: Promise<void>;

  constructor(dir: string, init: boolean) {
    const spec = path.join(dir, 'dag.toml');
    fs.writeFileSync(spec, dagSpec(opts));
    this.stateDir = path.join(dir, 'state');
    const [command, args] = init
      ? ['bin/sysmaster-init.js', ['--state-dir', this.stateDir, '--spec', spec]]
      : ['bin/sysmaster.js', ['--state-dir', this.stateDir, 'up', spec]];
    this.child = spawn(path.join(root, command), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...(init ? { SYSMASTER_UP: 'prefix' } : {}) },
    });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    this.exit = new Promise((r) => this.child.on('exit', () => r()));
  }

  /** The initial apply has finished: its summary line. */
  ready(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.child.stdout!.on('data', () => {
        if (/all \d+ jobs done/.test(this.output)) resolve();
        if (/started with failures/.test(this.output)) reject(new Error(this.output.slice(-3000)));
      });
      void this.exit.then(() => reject(new Error(`exited early:\n${this.output.slice(-3000)}`)));
    });
  }

  corePid(): number {
    return Number(fs.readFileSync(path.join(this.stateDir, 'core.pid'), 'utf8'));
  }

  /** SIGTERM (an orderly stop of every unit); then no payload may be left. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exit;
    const left = pidsWith(opts.marker);
    if (left.length) throw new Error(`payloads left running after up exited: ${left.join(' ')}`);
  }
}

/** Each unit's main PID before the kill (null for the default target). */
type Pids = Map<string, number | null>;

/** A correct answer: the same units, every one active, each with the main PID it had before the kill. */
function correct(answer: UnitInfo[], before: Pids): boolean {
  return answer.length === before.size && answer.every((u) => u.active === 'active' && before.has(u.name) && u.mainPid === before.get(u.name));
}

/** Why an answer is not correct, for the error when a round gives up. */
function wrong(answer: UnitInfo[] | Error, before: Pids): string {
  if (answer instanceof Error) return answer.message;
  const bad = answer.find((u) => u.active !== 'active' || u.mainPid !== before.get(u.name));
  return bad ? `${bad.name} ${bad.active}/${bad.sub}, main PID ${bad.mainPid} (before: ${before.get(bad.name)})` : `${answer.length} units, not ${before.size}`;
}

/** Run a command to its exit: how long it took from launch, and what it printed. */
function timed(command: string, args: string[]): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  const t0 = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ ms: performance.now() - t0, code, stdout, stderr })));
}

/** Peak and private RSS in MB. */
interface Mem {
  hwm: number;
  anon: number;
}

const mem = (pid: number): Mem => ({ hwm: peakRss(pid), anon: memory(pid, 'RssAnon') });

/** The memory of a Node process that has started and waits: what any Node process costs before its own work. */
async function nodeFloor(): Promise<Mem> {
  const child = spawn(process.execPath, ['-e', 'console.log("up"); setInterval(() => {}, 1e6)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => child.stdout.once('data', r));
  const m = mem(child.pid!);
  child.kill('SIGKILL');
  return m;
}

/** When init's and the new core's console lines arrive, in ms since the kill: where the recovery time goes. */
class Marks {
  t0 = 0;
  respawn = NaN; // init saw the core die and starts a new one
  serving = NaN; // the new core has restored every unit and serves the control socket

  constructor(up: Up) {
    this.listen(up.child.stderr!, /core \d+ was killed by SIGKILL: starting a new one/, (t) => (this.respawn = t));
    this.listen(up.child.stdout!, /manager pid \d+ under sysmaster-init/, (t) => (this.serving = t));
  }

  start(): void {
    this.t0 = performance.now();
    this.respawn = this.serving = NaN;
  }

  private listen(stream: NodeJS.ReadableStream, line: RegExp, mark: (ms: number) => void): void {
    let tail = '';
    stream.on('data', (d: Buffer) => {
      const text = tail + d.toString();
      if (this.t0 && line.test(text)) mark(performance.now() - this.t0);
      tail = text.slice(text.lastIndexOf('\n') + 1);
    });
  }
}

interface Round {
  answer: number; // ms from the kill to the first correct answer
  early: number; // answers before that one, not yet correct
  respawn: number;
  serving: number;
  core: Mem & { cpu: number }; // the new core once settled; cpu in s
}

class Bench {
  readonly sock: string;
  readonly marks: Marks;

  constructor(readonly up: Up) {
    this.sock = path.join(up.stateDir, 'control.sock');
    this.marks = new Marks(up);
  }

  list(): Promise<UnitInfo[]> {
    return call(this.sock, 'list-units', {}) as Promise<UnitInfo[]>;
  }

  /** What the settled core says: every service of the DAG running, or the round would measure nothing. */
  async pids(): Promise<Pids> {
    const list = await this.list();
    const running = list.filter((u) => u.type === 'service' && u.active === 'active' && u.mainPid);
    if (running.length !== units) throw new Error(`${running.length} of ${units} services active with a main PID:\n${this.up.output.slice(-3000)}`);
    return new Map(list.map((u) => [u.name, u.mainPid]));
  }

  /** Kill the settled core, ask until the answer is correct, then wait for the new core to settle. */
  async round(ask: () => Promise<UnitInfo[]>): Promise<Round> {
    const before = await this.pids();
    const old = this.up.corePid();
    this.marks.start();
    process.kill(old, 'SIGKILL');
    let early = 0;
    for (;;) {
      const answer = await ask().catch((err: Error) => err);
      if (Array.isArray(answer) && correct(answer, before)) break;
      if (performance.now() - this.marks.t0 > GIVE_UP_MS) {
        throw new Error(`no correct answer ${GIVE_UP_MS} ms after the kill; the last: ${wrong(answer, before)}\n${this.up.output.slice(-2000)}`);
      }
      early++;
    }
    const answer = performance.now() - this.marks.t0;
    const { respawn, serving } = this.marks;
    const core = await this.settled(old);
    return { answer, early, respawn, serving, core: { ...mem(core), cpu: cpuSeconds(core) } };
  }

  /** The real CLI, as a user runs it. */
  viaSctl = async (): Promise<UnitInfo[]> => {
    const r = await timed(sctl, ['--state-dir', this.up.stateDir, '-o', 'json', 'list-units']);
    if (r.code !== 0) throw new Error(`sctl exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as UnitInfo[];
  };

  /** The same call from this process: no CLI cold start. */
  viaSocket = (): Promise<UnitInfo[]> => this.list();

  /** Wait for a new core that has announced itself and gone idle. */
  async settled(old: number): Promise<number> {
    const t0 = performance.now();
    while (this.up.corePid() === old || Number.isNaN(this.marks.serving)) {
      if (performance.now() - t0 > GIVE_UP_MS) throw new Error(`no new core after the kill:\n${this.up.output.slice(-3000)}`);
      await sleep(20);
    }
    const pid = this.up.corePid();
    await idle(pid);
    return pid;
  }
}

/** Wait until the process has used no CPU for IDLE_MS: a core's saves are written, so every round starts alike. */
async function idle(pid: number): Promise<void> {
  let cpu = cpuSeconds(pid);
  for (let quiet = 0; quiet < IDLE_MS; quiet += 100) {
    await sleep(100);
    const now = cpuSeconds(pid);
    if (now !== cpu) quiet = -100;
    cpu = now;
  }
}

interface Run {
  tmpfs: boolean;
  load: [number, number]; // 1-minute load average at the start and at the end
  viaSctl: Round[];
  viaSocket: Round[];
  node: number[]; // ms, `node -e 0`
  help: number[]; // ms, `sctl --help`
  nodeMem: Mem[];
  firstCore: Mem; // the core that brought the units up
  init: Mem; // `up`
  bareInit: Mem;
}

// Stop between rounds, so that `up` is stopped in order: exiting at once would leave it and every unit behind.
let interrupted: string | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => (interrupted = sig));

async function measure(): Promise<Run> {
  const { dir, tmpfs } = stateTmp();
  const load0 = os.loadavg()[0];
  const run: Partial<Run> = { tmpfs, viaSctl: [], viaSocket: [], node: [], help: [], nodeMem: [] };
  try {
    const up = new Up(dir, false);
    try {
      await up.ready();
      const b = new Bench(up);
      await idle(up.corePid());
      run.firstCore = mem(up.corePid());
      for (let i = 0; i < rounds; i++) {
        if (interrupted) throw new Error(`interrupted by ${interrupted}`);
        // Interleaved, so drift in the machine's speed hits every kind alike.
        run.viaSctl!.push(await b.round(b.viaSctl));
        run.viaSocket!.push(await b.round(b.viaSocket));
        run.node!.push((await timed(process.execPath, ['-e', '0'])).ms);
        run.help!.push((await timed(sctl, ['--help'])).ms);
        run.nodeMem!.push(await nodeFloor());
        process.stderr.write('.');
      }
      process.stderr.write('\n');
      run.init = mem(up.child.pid!);
    } finally {
      await up.stop();
    }
    // init without up's command line, whose spec check loads the spec parser into the same process.
    const bare = new Up(fs.mkdirSync(path.join(dir, 'bare'), { recursive: true })!, true);
    try {
      await bare.ready();
      const b = new Bench(bare);
      await idle(bare.corePid());
      for (let i = 0; i < BARE_KILLS; i++) await b.round(b.viaSocket);
      run.bareInit = mem(bare.child.pid!);
    } finally {
      await bare.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  run.load = [load0, os.loadavg()[0]];
  return run as Run;
}



function report(r: Run): string {
  const answers = r.viaSctl.map((x) => x.answer);
  const all = [...r.viaSctl, ...r.viaSocket];
  const early = (rs: Round[]) => rs.filter((x) => x.early > 0).length;
  const memRow = (what: string, m: Mem[], target: string) =>
    `| ${what} | ${range(m.map((x) => x.hwm), 1)} | ${range(m.map((x) => x.anon), 1)} | ${target} |`;
  return [
    `## Recovery: kill -9 of the core with ${units} active units (${opts.layers} × ${opts.width} DAG, Type=notify via systemd-notify), ${rounds} rounds of each kind`,
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString()}, ${revision()}; ` +
      `state directory on ${r.tmpfs ? 'tmpfs (/dev/shm), as /run is on a host' : 'disk (no writable /dev/shm)'}; ` +
      `load average ${r.load[0].toFixed(2)} at the start, ${r.load[1].toFixed(2)} at the end; ` +
      `clients (sctl, node -e 0) run with NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set, as in this VM (it costs every Node start ~60 ms; init strips it from the core)' : 'unset'}`,
    '',
    'Each round: kill -9 of the core; at once the client asks, and asks again until the answer is correct (every unit ' +
      'active, with the main PID it had before the kill). The next round starts once the new core is idle. Rounds ' +
      'alternate: sctl, socket, sctl, ...',
    '',
    '| ms | median | p95 | min–max |',
    '|---|---|---|---|',
    `| **kill → \`sctl list-units -o json\` answers correctly** (target: median ≤ 300, p95 ≤ 600) | ${row(answers)} |`,
    `| kill → a raw control-socket call (\`list-units\`) from the benchmark answers correctly: no CLI start | ${row(r.viaSocket.map((x) => x.answer))} |`,
    `| socket rounds: kill → init logs the death and starts a new core | ${row(r.viaSocket.map((x) => x.respawn))} |`,
    `| all rounds: init starts a new core → it has restored the units and serves (its "manager pid" line) | ${row(all.map((x) => x.serving - x.respawn))} |`,
    `| socket rounds: the new core serves → the socket answer | ${row(r.viaSocket.map((x) => x.answer - x.serving))} |`,
    `| sctl rounds: the new core serves → sctl's answer | ${row(r.viaSctl.map((x) => x.answer - x.serving))} |`,
    `| cold start, launch to exit: \`node -e 0\` | ${row(r.node)} |`,
    `| cold start, launch to exit: \`sctl --help\` (no socket) | ${row(r.help)} |`,
    `| CPU of the new core from its start to idle, ms | ${row(all.map((x) => x.core.cpu * 1000))} |`,
    '',
    `Answers not yet correct before the first correct one: in ${early(r.viaSctl)} of ${rounds} sctl rounds, ${early(r.viaSocket)} of ${rounds} socket rounds.`,
    '',
    '| memory, MB: median (min–max) | peak RSS (VmHWM) | private (RssAnon) at the end | target |',
    '|---|---|---|---|',
    memRow('**sysmaster-init: the `up` process, after all rounds**', [r.init], '≤ 35'),
    memRow(`bare \`sysmaster-init --state-dir X --spec Y\`, same DAG, after ${BARE_KILLS} kills`, [r.bareInit], '≤ 35'),
    memRow(`\`node -e\` that has started and waits (${r.nodeMem.length} runs)`, r.nodeMem, '–'),
    memRow('the core that brought the units up', [r.firstCore], '≤ 80 (bench/results/core.md)'),
    memRow(`a recovered core, once idle (${all.length} rounds)`, all.map((x) => x.core), '≤ 80 (bench/results/core.md)'),
    '',
    `Targets: sctl median ≤ 300 ms: ${verdict(median(answers) <= 300)}; sctl p95 ≤ 600 ms: ${verdict(percentile(answers, 95) <= 600)}; ` +
      `init RSS ≤ 35 MB: ${verdict(r.init.hwm <= 35)} for \`up\`, ${verdict(r.bareInit.hwm <= 35)} for bare sysmaster-init.`,
  ].join('\n');
}

const table = report(await measure());
console.log(table);
writeResults('recovery.md', table);
