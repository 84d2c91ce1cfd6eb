// `npm run bench:logs` (also part of `npm run bench`): the log path's throughput (issue 8). Services write numbered
// lines as fast as they can to their journal FIFOs; the log process (sysmaster-logger) stores them as records in
// STATE_DIR/logs. Measured: lines per second stored, CPU of the log process per MB, and that every line is stored
// exactly once, in order (else the run fails). Baseline in the same run: the same generator piped into `cat > file`
// on the same file system. Size knobs: BENCH_LOG_MB (100: one service), BENCH_LOG_SERVICES (100) writing
// BENCH_LOG_EACH_MB (1) each; a MB is 10^6 bytes, 10,000 lines of 100 bytes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loggerSocket } from '../logger/protocol.js';
import type { LogRecord } from '../logger/store.js';
import { call } from '../reconciler/client.js';
import { mkfifo } from '../reconciler/sys.js';
import type { UnitInfo } from '../reconciler/view.js';
import { stateTmp } from './dirs.js';
import { cpuSeconds, revision, verdict, writeResults } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const singleMb = Number(process.env.BENCH_LOG_MB ?? 100);
const services = Number(process.env.BENCH_LOG_SERVICES ?? 100);
const eachMb = Number(process.env.BENCH_LOG_EACH_MB ?? 1);
const TARGET = 100_000; // lines/s stored (issue 8)
const LINE = 100; // bytes, with the newline
const FILL = 'the quick brown fox jumps over the lazy dog, then logs about it at some length so the line is long'.slice(0, LINE - 12);
const message = (i: number) => `${String(i).padStart(10, '0')} ${FILL}`;
const linesOf = (mb: number) => Math.round((mb * 1e6) / LINE);
/** The log files of a run must keep every record: a record is about twice its line (the JSON around it). */
const MAX_SIZE = 64 * 2 ** 20;
const maxFiles = (mbPerUnit: number) => Math.max(8, Math.ceil((mbPerUnit * 1e6 * 3) / MAX_SIZE) + 1);
/** No new byte stored for this long: the run has stalled. */
const STALL_MS = 30_000;
const awk = spawnSync('sh', ['-c', 'command -v awk'], { encoding: 'utf8' }).stdout.trim();

/**
 * The writer: blocks opening `go` until the benchmark opens it, then lines 1..n as fast as awk prints them (stdio,
 * 4 KiB writes, as a real program's output).
 */
const generator = (go: string, n: number) => `: < ${go}; exec ${awk} 'BEGIN { for (i = 1; i <= ${n}; i++) printf "%010d %s\\n", i, "${FILL}" }'`;

/** A FIFO every generator blocks on; open() releases them all at once (read-write: it never blocks itself). */
function gate(dir: string): { go: string; release: () => () => void } {
  const go = path.join(dir, 'go');
  mkfifo(go, 0o600);
  return {
    go,
    release: () => {
      const fd = fs.openSync(go, fs.constants.O_RDWR);
      return () => fs.closeSync(fd);
    },
  };
}

/** Every pid is blocked opening the gate, so the clock starts with no writer still starting up. */
async function blocked(pids: number[]): Promise<void> {
  const wchan = (pid: number) => fs.readFileSync(`/proc/${pid}/wchan`, 'utf8');
  for (const t0 = Date.now(); !pids.every((p) => wchan(p) === 'wait_for_partner'); await sleep(20)) {
    if (Date.now() - t0 > 20_000) throw new Error(`writers not waiting at the gate after 20 s: ${pids.map((p) => `${p}:${wchan(p)}`).join(' ')}`);
  }
}

interface Measured {
  lines: number; // all writers together
  seconds: number;
  /** Logged runs: CPU seconds of the log process and of the core during the run, the release → first record delay. */
  logger?: number;
  core?: number;
  firstMs?: number;
  files?: number;
}

/** The generators piped into `cat > file`, one file each, released together; timed to the last cat's exit. */
async function piped(dir: string, writers: number, n: number): Promise<Measured> {
  const g = gate(dir);
  const children = Array.from({ length: writers }, (_, i) =>
    spawn('/bin/sh', ['-c', `${generator(g.go, n)} | cat > ${path.join(dir, `out${i}`)}`], { stdio: 'ignore' }),
  );
  const exits = children.map((c) => new Promise<number | null>((r) => c.on('exit', r)));
  await Promise.all(children.map((c) => new Promise((r) => c.once('spawn', r))));
  await blocked(children.map((c) => c.pid!));
  const close = g.release();
  const t0 = performance.now();
  const codes = await Promise.all(exits);
  const seconds = (performance.now() - t0) / 1000;
  close();
  const short = children.map((_, i) => fs.statSync(path.join(dir, `out${i}`)).size).filter((s) => s !== n * LINE);
  if (codes.some((c) => c !== 0) || short.length) throw new Error(`baseline: exit codes ${codes.join(',')}; files of the wrong size: ${short.join(',')}`);
  return { lines: writers * n, seconds };
}

/** sysmaster-init on a spec of `writers` services, console off as on a host; stopped in order at the end. */
class Manager {
  readonly state: string;
  readonly names: string[];
  private child: ChildProcess;
  private stderr = '';
  private exit: Promise<void>;

  constructor(
    dir: string,
    go: string,
    writers: number,
    readonly n: number,
  ) {
    this.state = path.join(dir, 'state');
    this.names = Array.from({ length: writers }, (_, i) => `w${i}.service`);
    const spec = [
      '[manager]',
      `LogMaxSize = "${MAX_SIZE / 2 ** 20}M"`,
      `LogMaxFiles = ${maxFiles((n * LINE) / 1e6)}`,
      'DefaultTimeoutStopSec = "10s"',
      '',
      ...this.names.flatMap((u) => [`[service.${u.replace('.service', '')}]`, `ExecStart = ["/bin/sh", "-c", ${JSON.stringify(generator(go, n))}]`, '']),
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'spec.toml'), spec);
    this.child = spawn(path.join(root, 'bin/sysmaster-init.js'), ['--state-dir', this.state, '--spec', path.join(dir, 'spec.toml'), '--console', 'off'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.exit = new Promise((r) => this.child.on('exit', () => r()));
  }

  /** The main pids once every service runs (its shell waits at the gate). */
  async running(): Promise<number[]> {
    const sock = path.join(this.state, 'control.sock');
    for (const t0 = Date.now(); ; await sleep(50)) {
      const list = (await call(sock, 'list-units').catch(() => [])) as UnitInfo[];
      const up = list.filter((u) => this.names.includes(u.name) && u.active === 'active' && u.mainPid);
      if (up.length === this.names.length) return up.map((u) => u.mainPid!);
      if (Date.now() - t0 > 60_000) throw new Error(`${up.length} of ${this.names.length} services running after 60 s:\n${this.stderr.slice(-3000)}`);
    }
  }

  corePid(): number {
    return Number(fs.readFileSync(path.join(this.state, 'core.pid'), 'utf8'));
  }

  /** The log process of this state directory: named sysmaster-logger, holding our FIFOs open. */
  async loggerPid(): Promise<number> {
    const ours = (pid: string) => {
      try {
        if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sysmaster-logge') return false; // comm: 15 chars
        return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(`${this.state}/io/`));
      } catch {
        return false; // gone, or not ours to read
      }
    };
    for (const t0 = Date.now(); ; await sleep(50)) {
      const pid = fs.readdirSync('/proc').find((d) => /^\d+$/.test(d) && ours(d));
      if (pid) return Number(pid);
      if (Date.now() - t0 > 10_000) throw new Error(`no sysmaster-logger holds ${this.state}/io/* open after 10 s:\n${this.stderr.slice(-3000)}`);
    }
  }

  /** Waits until every unit's current file ends with its line n: when that was seen, in ms since the epoch. */
  async stored(): Promise<number> {
    const logs = path.join(this.state, 'logs');
    const last = `"message":${JSON.stringify(message(this.n))}`;
    const tail = Buffer.alloc(512);
    const done = (unit: string) => {
      let fd: number;
      try {
        fd = fs.openSync(path.join(logs, `${unit}.log`), 'r');
      } catch {
        return false; // not made yet, or between a rotation's rename and create
      }
      try {
        const len = fs.readSync(fd, tail, 0, tail.length, Math.max(0, fs.fstatSync(fd).size - tail.length));
        return tail.toString('utf8', 0, len).includes(last);
      } finally {
        fs.closeSync(fd);
      }
    };
    const size = (f: string) => {
      try {
        return fs.statSync(path.join(logs, f)).size;
      } catch {
        return 0; // renamed by a rotation meanwhile
      }
    };
    let i = 0;
    let bytes = -1;
    let moved = Date.now();
    let look = moved + 1000;
    // Units finish at about the same time, in no set order: look at the first not yet done only.
    while (i < this.names.length) {
      if (done(this.names[i])) {
        i++;
        continue;
      }
      await sleep(5);
      if (Date.now() < look) continue;
      look = Date.now() + 1000;
      const now = fs.readdirSync(logs).reduce((s, f) => s + size(f), 0);
      if (now !== bytes) [bytes, moved] = [now, Date.now()];
      else if (Date.now() - moved > STALL_MS) throw new Error(`nothing stored for ${STALL_MS / 1000} s; ${this.names[i]} has not got line ${this.n}:\n${this.stderr.slice(-3000)}`);
    }
    return Date.now();
  }

  /** What the log process counts as lost (a write that failed). */
  lost(): Promise<Record<string, number>> {
    return new Promise((resolve, reject) => {
      const c = net.connect(loggerSocket(this.state));
      let buf = '';
      c.on('error', reject);
      c.on('data', (d) => {
        buf += d;
        if (!buf.includes('\n')) return;
        c.destroy();
        resolve((JSON.parse(buf) as { lost: Record<string, number> }).lost);
      });
      c.write(JSON.stringify({ op: 'stats' }) + '\n');
    });
  }

  /** SIGTERM: init stops the units and the core ends the log process; none may be left. */
  async stop(logger: number | null): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exit;
    for (const t0 = Date.now(); logger && fs.existsSync(`/proc/${logger}`); await sleep(50)) {
      if (Date.now() - t0 > 5000) {
        process.kill(logger, 'SIGKILL');
        throw new Error(`the log process ${logger} was still running 5 s after sysmaster-init exited (killed it)`);
      }
    }
  }
}

/**
 * Reads every file of the unit, oldest first, and checks it holds exactly lines 1..n, in order: returns the time of
 * its first record and how many files it has; throws with the first problems found.
 */
function check(logs: string, unit: string, n: number): { first: number; files: number } {
  const files = fs
    .readdirSync(logs)
    .map((f) => ({ f, k: f === `${unit}.log` ? 0 : f.startsWith(`${unit}.log.`) ? Number(f.slice(unit.length + 5)) : NaN }))
    .filter((x) => !Number.isNaN(x.k))
    .sort((a, b) => b.k - a.k);
  const problems: string[] = [];
  let next = 1;
  let first = NaN;
  for (const { f } of files) {
    const lines = fs.readFileSync(path.join(logs, f), 'utf8').split('\n');
    if (lines.pop() !== '') problems.push(`${f}: the last record has no newline`);
    lines.forEach((line, at) => {
      const where = `${f}:${at + 1}`;
      let r: LogRecord;
      try {
        r = JSON.parse(line) as LogRecord;
      } catch {
        return problems.push(`${where}: not JSON: ${line.slice(0, 80)}`);
      }
      const i = Number(r.message.slice(0, 10));
      if (Number.isNaN(first)) first = r.time;
      if (r.message !== message(i) || r.unit !== unit || r.stream !== 'stdout') return problems.push(`${where}: not a line of ours: ${line.slice(0, 120)}`);
      if (i < next) problems.push(`${where}: line ${i} again (or out of order), after ${next - 1}`);
      else if (i > next) problems.push(`${where}: lines ${next}..${i - 1} lost`);
      next = Math.max(next, i + 1);
    });
  }
  if (next !== n + 1) problems.push(`lines ${next}..${n} lost (the files end at ${next - 1})`);
  if (problems.length) throw new Error(`${unit}: not every line stored exactly once, in order (${problems.length} problems):\n${problems.slice(0, 20).join('\n')}`);
  return { first, files: files.length };
}

/** The services write; the log process stores. Timed from the first record's capture to the last line seen stored. */
async function logged(dir: string, writers: number, n: number): Promise<Measured> {
  const g = gate(dir);
  const m = new Manager(dir, g.go, writers, n);
  let loggerPid: number | null = null;
  try {
    await blocked(await m.running());
    const logger = (loggerPid = await m.loggerPid());
    const core = m.corePid();
    const cpu0 = [cpuSeconds(logger), cpuSeconds(core)];
    const released = Date.now();
    const close = g.release();
    const end = await m.stored();
    const cpu1 = [cpuSeconds(logger), cpuSeconds(core)];
    close();
    const lost = Object.entries(await m.lost()).filter(([, k]) => k > 0);
    if (lost.length) throw new Error(`the log process counts records lost: ${JSON.stringify(Object.fromEntries(lost))}`);
    const logs = path.join(m.state, 'logs');
    const checked = m.names.map((u) => check(logs, u, n));
    const first = Math.min(...checked.map((c) => c.first));
    return {
      lines: writers * n,
      seconds: (end - first) / 1000,
      logger: cpu1[0] - cpu0[0],
      core: cpu1[1] - cpu0[1],
      firstMs: first - released,
      files: Math.max(...checked.map((c) => c.files)),
    };
  } finally {
    await m.stop(loggerPid);
  }
}

interface Case {
  title: string;
  writers: number;
  n: number; // lines per writer
  base?: Measured;
  ours?: Measured;
}

let onTmpfs = false;

async function run(c: Case): Promise<void> {
  // Each in a directory of its own, removed at once: 100 MB of lines is about 200 MB of records on tmpfs.
  for (const k of ['base', 'ours'] as const) {
    const { dir, tmpfs } = stateTmp();
    onTmpfs = tmpfs;
    try {
      c[k] = await (k === 'base' ? piped : logged)(dir, c.writers, c.n);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    process.stderr.write('.');
  }
}

const rate = (m: Measured) => m.lines / m.seconds;
const k = (x: number) => `${Math.round(x / 1000).toLocaleString('en')}k`;

function report(cases: Case[], tmpfs: boolean, load: [number, number]): string {
  const rows = cases.map((c) => {
    const [b, o] = [c.base!, c.ours!];
    const mb = (c.writers * c.n * LINE) / 1e6;
    return (
      `| ${c.title} | ${k(rate(b))} (${b.seconds.toFixed(2)} s) | **${k(rate(o))}** (${o.seconds.toFixed(2)} s) | ${(rate(o) / rate(b)).toFixed(2)} | ` +
      `${((o.logger! / mb) * 1000).toFixed(1)} | ${((o.core! / mb) * 1000).toFixed(2)} | ${o.firstMs} | ${o.files} | all ${o.lines.toLocaleString('en')}, once, in order | ${verdict(rate(o) >= TARGET)} |`
    );
  });
  return [
    `## Logs: lines stored per second, CPU per MB, nothing lost (100-byte lines)`,
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString()}, ${revision()}; ` +
      `state directory and baseline files on ${tmpfs ? 'tmpfs (/dev/shm), as /run is on a host' : 'disk (no writable /dev/shm)'}; ` +
      `load average ${load[0].toFixed(2)} at the start, ${load[1].toFixed(2)} at the end`,
    '',
    'Writers: `awk` printing numbered lines as fast as it can (4 KiB writes), each waiting on a FIFO that releases all ' +
      'at once. Baseline: the same writers piped into `cat > file`, timed from the release to the last `cat` exit. ' +
      'sysmaster: `sysmaster-init --console off` with one service per writer (StandardOutput=journal), timed from the ' +
      "first record's capture to the last line seen in the unit's file; CPU from /proc/PID/stat over the run, per MB " +
      'of lines written. Every file of every unit (rotated ones included) is then read back: each line 1..N exactly ' +
      'once, in order, else the run fails.',
    '',
    '| case | baseline: `cat > file`, lines/s | sysmaster-logger, lines/s stored | ratio | log process CPU, ms/MB | core CPU, ms/MB | release → first record, ms | files per unit | check | target ≥ 100k lines/s |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

async function main() {
  if (!awk) throw new Error('the log benchmark needs awk in PATH');
  const cases: Case[] = [
    { title: `1 service, ${singleMb} MB`, writers: 1, n: linesOf(singleMb) },
    { title: `${services} services, ${eachMb} MB each`, writers: services, n: linesOf(eachMb) },
  ];
  const load0 = os.loadavg()[0];
  for (const c of cases) await run(c);
  process.stderr.write('\n');
  const table = report(cases, onTmpfs, [load0, os.loadavg()[0]]);
  console.log(table);
  writeResults('logs.md', table);
}

await main();
