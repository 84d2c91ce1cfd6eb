// Recovery time (issue 3): `sysmaster up` runs the layered DAG; each round kills the core with SIGKILL and times how
// long until a client gets an answer in which every unit is active with the main PID it had before. Measured in the
// same run: the Node cold start that any CLI pays, and the memory of init next to a bare Node process.
// Size knobs: BENCH_LAYERS, BENCH_WIDTH, BENCH_ROUNDS.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from '../reconciler/client.js';
import type { UnitInfo } from '../reconciler/view.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidsWith } from '../test/integration/harness.js';
import { dagSpec, type DagOptions } from './dag.js';
import { stateTmp } from './dirs.js';
import { cpuSeconds, memory, median, peakRss, percentile } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const opts: DagOptions = {
  layers: Number(process.env.BENCH_LAYERS ?? 10),
  width: Number(process.env.BENCH_WIDTH ?? 30),
  ready: 'systemd-notify --ready',
  marker: '3600.778',
};
const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
const units = opts.layers * opts.width;
const sctl = path.join(root, 'bin/sctl.js');
/** A settled core uses no CPU for this long (heartbeats cost less than a clock tick). */
const IDLE_MS = 200;
const GIVE_UP_MS = 30_000;

/**
 * `sysmaster up` (or bare sysmaster-init, with up's console) on the DAG, run as users run it: the bin itself, with
 * the node flags of its #! line. (test/integration/harness.ts's Up finds bin/ from its own file, which fails from
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

  /** Every unit active: the initial apply's summary. */
  async ready(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.child.stdout!.on('data', () => {
        if (this.output.includes(`all ${units} jobs done`)) resolve();
        if (/started with failures/.test(this.output)) reject(new Error(this.output.slice(-3000)));
      });
      this.exit.then(() => reject(new Error(`exited early:\n${this.output.slice(-3000)}`)));
    });
    await done;
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

/** What a correct answer says: every unit, active and running, each with the main PID it had before the kill. */
type Pids = Map<string, number | null>;

function correct(answer: UnitInfo[], before: Pids): boolean {
  return answer.length === before.size && answer.every((u) => u.active === 'active' && u.sub === 'running' && u.mainPid === before.get(u.name));
}

/** Run a command to its exit: how long it took from launch, and what it printed. */
function timed(command: string, args: string[]): Promise<{ ms: number; code: number | null; stdout: string }> {
  const t0 = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ ms: performance.now() - t0, code, stdout })));
}

/** Peak RSS of a Node process that has started and waits: what every Node process costs before any work. */
async function nodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'console.log("up"); setInterval(() => {}, 1e6)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((r) => child.stdout.once('data', r));
  const mb = peakRss(child.pid!);
  child.kill('SIGKILL');
  return mb;
}

/** When init's and the new core's console lines arrive, in ms since `t0`: where the recovery time goes. */
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
  early: number; // answers that came back before that one and were not yet correct
  respawn: number;
  serving: number;
  core: { hwm: number; rss: number; cpu: number }; // the new core once settled
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

  async pids(): Promise<Pids> {
    return new Map((await this.list()).map((u) => [u.name, u.mainPid]));
  }

  /** Kill the core, then ask `ask` until it answers correctly. */
  async round(ask: () => Promise<UnitInfo[] | null>): Promise<Round> {
    const before = await this.pids();
    const old = this.up.corePid();
    this.marks.start();
    process.kill(old, 'SIGKILL');
    let early = 0;
    for (;;) {
      const answer = await ask().catch(() => null);
      if (answer && correct(answer, before)) break;
      if (performance.now() - this.marks.t0 > GIVE_UP_MS) throw new Error(`no correct answer ${GIVE_UP_MS} ms after the kill:\n${this.up.output.slice(-3000)}`);
      early++;
    }
    const answer = performance.now() - this.marks.t0;
    const { respawn, serving } = this.marks;
    const core = await this.settled(old);
    return { answer, early, respawn, serving, core: { hwm: peakRss(core), rss: memory(core, 'VmRSS'), cpu: cpuSeconds(core) } };
  }

  viaSctl = (): Promise<UnitInfo[] | null> =>
    timed(sctl, ['--state-dir', this.up.stateDir, '-o', 'json', 'list-units']).then((r) => (r.code === 0 ? (JSON.parse(r.stdout) as UnitInfo[]) : null));

  viaSocket = (): Promise<UnitInfo[] | null> => this.list();

  /** Wait for a new core that has announced itself and whose CPU has gone quiet (its saves and GC are done). */
  async settled(old: number): Promise<number> {
    const t0 = performance.now();
    for (;;) {
      const pid = this.up.corePid();
      if (pid !== old && !Number.isNaN(this.marks.serving)) {
        let cpu = cpuSeconds(pid);
        for (let quiet = 0; quiet < IDLE_MS; quiet += 100) {
          await sleep(100);
          const now = cpuSeconds(pid);
          if (now !== cpu) quiet = -100;
          cpu = now;
        }
        return pid;
      }
      if (performance.now() - t0 > GIVE_UP_MS) throw new Error(`no new core after the kill:\n${this.up.output.slice(-3000)}`);
      await sleep(20);
    }
  }
}

const ms = (xs: number[]) => `${median(xs).toFixed(0)} | ${percentile(xs, 95).toFixed(0)} | ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
const mb = (xs: number[]) => `${median(xs).toFixed(1)} | ${percentile(xs, 95).toFixed(1)} | ${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');

async function main() {
  const { dir, tmpfs } = stateTmp();
  const viaSctl: Round[] = [];
  const viaSocket: Round[] = [];
  const node: number[] = [];
  const help: number[] = [];
  const nodeMb: number[] = [];
  let initMb: number[] = [];
  let bareInitMb: number[] = [];
  let firstCoreMb = NaN;
  try {
    const up = new Up(dir, false);
    try {
      await up.ready();
      const b = new Bench(up);
      firstCoreMb = peakRss(up.corePid());
      for (let i = 0; i < rounds; i++) {
        // Interleaved, so drift in the machine's speed hits every kind alike.
        viaSctl.push(await b.round(b.viaSctl));
        viaSocket.push(await b.round(b.viaSocket));
        node.push((await timed(process.execPath, ['-e', '0'])).ms);
        help.push((await timed(sctl, ['--help'])).ms);
        nodeMb.push(await nodeRss());
        process.stderr.write('.');
      }
      process.stderr.write('\n');
      initMb = [peakRss(up.child.pid!)];
    } finally {
      await up.stop();
    }
    // Without up's command line (its spec check loads the spec parser into init): three kills are enough for a peak.
    const bare = new Up(fs.mkdirSync(path.join(dir, 'bare'), { recursive: true })!, true);
    try {
      await bare.ready();
      const b = new Bench(bare);
      for (let i = 0; i < 3; i++) await b.round(b.viaSocket);
      bareInitMb = [peakRss(bare.child.pid!)];
    } finally {
      await bare.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const all = [...viaSctl, ...viaSocket];
  const answers = viaSctl.map((r) => r.answer);
  const early = (rs: Round[]) => rs.filter((r) => r.early > 0).length;
  const table = [
    `## Recovery: kill -9 of the core with ${units} active units (${opts.layers} × ${opts.width} DAG, Type=notify via systemd-notify), ${rounds} rounds of each kind`,
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString()}; ` +
      `state directory on ${tmpfs ? 'tmpfs (/dev/shm), as /run is on a host' : 'disk (no writable /dev/shm)'}; ` +
      `clients run with NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set, as in this VM' : 'unset'}`,
    '',
    'Each round: kill -9 of the core; at once the client asks, again until the answer is correct (every unit active, running, with the main PID it had before). The next round starts once the new core is idle.',
    '',
    '| ms from the kill (or from launch, for the cold starts) | median | p95 | min–max |',
    '|---|---|---|---|',
    `| **\`sctl list-units -o json\` answers correctly** (target: median ≤ 300, p95 ≤ 600) | ${ms(answers)} |`,
    `| a raw control-socket call (\`list-units\`) from the benchmark answers correctly: no CLI start | ${ms(viaSocket.map((r) => r.answer))} |`,
    `| init logs the death and starts a new core (all rounds) | ${ms(all.map((r) => r.respawn))} |`,
    `| the new core has restored ${units} units and serves (its "manager pid" line; all rounds) | ${ms(all.map((r) => r.serving))} |`,
    `| cold start, launch to exit: \`node -e 0\` | ${ms(node)} |`,
    `| cold start, launch to exit: \`sctl --help\` (no socket) | ${ms(help)} |`,
    '',
    `Answers not yet correct before the first correct one: in ${early(viaSctl)} of ${rounds} sctl rounds, ${early(viaSocket)} of ${rounds} socket rounds.`,
    '',
    '| memory, MB | median | p95 | min–max |',
    '|---|---|---|---|',
    `| **peak RSS (VmHWM) of sysmaster-init: the \`up\` process, after all rounds** (target ≤ 35) | ${mb(initMb)} |`,
    `| peak RSS of a bare \`sysmaster-init --state-dir X --spec Y\`, same DAG, after 3 kills | ${mb(bareInitMb)} |`,
    `| peak RSS of \`node -e\` that has started and waits | ${mb(nodeMb)} |`,
    `| peak RSS of the core that brought the units up | ${mb([firstCoreMb])} |`,
    `| peak RSS of a recovered core, once settled | ${mb(all.map((r) => r.core.hwm))} |`,
    `| RSS of a recovered core, once settled | ${mb(all.map((r) => r.core.rss))} |`,
    `| CPU of a recovered core to settled, s | ${median(all.map((r) => r.core.cpu)).toFixed(2)} | ${percentile(all.map((r) => r.core.cpu), 95).toFixed(2)} | ${Math.min(...all.map((r) => r.core.cpu)).toFixed(2)}–${Math.max(...all.map((r) => r.core.cpu)).toFixed(2)} |`,
    '',
    `Targets: sctl median ≤ 300 ms: ${verdict(median(answers) <= 300)}; sctl p95 ≤ 600 ms: ${verdict(percentile(answers, 95) <= 600)}; ` +
      `init (\`up\`) RSS ≤ 35 MB: ${verdict(median(initMb) <= 35)}; bare sysmaster-init RSS ≤ 35 MB: ${verdict(median(bareInitMb) <= 35)}.`,
  ].join('\n');
  console.log(table);
  fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench/results/recovery.md'), table + '\n');
}

await main();
