// Transactions (issue 4), each next to a baseline measured in the same run:
// 1. What durability costs an apply: `sctl apply --yes` adding the layered DAG to a running one-unit `up`, timed from
//    the launch of sctl to its exit, with the default journal (on disk, fsync per batch of savepoints) and with
//    SYSMASTER_JOURNAL=volatile (in memory only). Runs alternate.
// 2. What `plan` costs in the core: a 1,000-unit spec with one unit changed, planned over the control socket next to
//    a `ping` made the same way, and as the `sctl plan` CLI.
// Size knobs: BENCH_LAYERS, BENCH_WIDTH (the applied DAG), BENCH_APPLY_RUNS, BENCH_PLAN_UNITS, BENCH_PLAN_RUNS.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { call } from '../reconciler/client.js';
import { Journal, type TxPlan, type TxSummary } from '../reconciler/journal.js';
import { plan as makePlan, type Plan } from '../reconciler/plan.js';
import { openDatabase, writeDurable } from '../reconciler/state.js';
import { loadSpec } from '../specs/loader.js';
import { pidsWith } from '../test/integration/harness.js';
import { dagOptions, dagSpec, type DagOptions } from './dag.js';
import { stateTmp } from './dirs.js';
import { cpuSeconds, median, range, revision, row, verdict, writeResults } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sctl = path.join(root, 'bin/sctl.js');
const applied = dagOptions('3600.779');
const applyRuns = Number(process.env.BENCH_APPLY_RUNS ?? 5);
const planUnits = Number(process.env.BENCH_PLAN_UNITS ?? 1000);
const planRuns = Number(process.env.BENCH_PLAN_RUNS ?? 15);
const planned: DagOptions = { ...applied, width: Math.ceil(planUnits / applied.layers), marker: '3600.780' };
/** The unit the plan benchmark changes: in the middle of the DAG, with dependents below it. */
const changedUnit = `l${Math.floor(planned.layers / 2)}u${Math.floor(planned.width / 2)}`;
/** Where the durable journal goes: a directory that is normally on disk (/tmp may be tmpfs, where fsync is free). */
const diskTmp = process.env.BENCH_JOURNAL_TMP ?? '/var/tmp';
/** A settled core uses no CPU for this long. */
const IDLE_MS = 200;
/** Samples of each journal write in the breakdown. */
const WRITES = 20;

/** The unit of the base spec, kept by the apply: the apply only adds. */
const base = (o: DagOptions) => `[service.base]\nExecStart = ["/bin/sleep", "${o.marker}"]\n`;

/** `sysmaster up` run as users run it: the bin itself, with the node flags of its #! line. */
class Up {
  readonly child: ChildProcess;
  readonly sock: string;
  private output = '';
  private exit: Promise<void>;

  constructor(
    readonly stateDir: string,
    spec: string,
    env: NodeJS.ProcessEnv,
    private readonly marker: string,
  ) {
    this.sock = path.join(stateDir, 'control.sock');
    this.child = spawn(path.join(root, 'bin/sysmaster.js'), ['--state-dir', stateDir, 'up', spec], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, NO_COLOR: '1' },
    });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    this.exit = new Promise((r) => this.child.on('exit', () => r()));
  }

  /** The bring-up has finished and the core has gone idle: every run starts alike. */
  async ready(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (/all \d+ jobs done/.test(this.output)) resolve();
        if (/started with failures/.test(this.output)) reject(new Error(this.tail()));
      };
      this.child.stdout!.on('data', check);
      void this.exit.then(() => reject(new Error(`up exited early:\n${this.tail()}`)));
    });
    await idle(this.corePid());
  }

  corePid(): number {
    return Number(fs.readFileSync(path.join(this.stateDir, 'core.pid'), 'utf8'));
  }

  tail(): string {
    return this.output.slice(-3000);
  }

  /** SIGTERM stops every unit in order; then none of its payloads may be left. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exit;
    const left = pidsWith(this.marker);
    if (left.length) throw new Error(`payloads left running after up exited: ${left.join(' ')}`);
  }
}

/** Wait until the process has used no CPU for IDLE_MS (its saves are written). */
async function idle(pid: number): Promise<void> {
  let cpu = cpuSeconds(pid);
  for (let quiet = 0; quiet < IDLE_MS; quiet += 50) {
    await sleep(50);
    const now = cpuSeconds(pid);
    if (now !== cpu) quiet = -50;
    cpu = now;
  }
}

/** Run a command to its exit: ms from launch, exit code, output. */
function timed(command: string, args: string[]): Promise<{ ms: number; code: number | null; out: string }> {
  const t0 = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ ms: performance.now() - t0, code, out })));
}

/** Counts the files renamed into place as `name` in `dir`, as every durable write ends (inotify). */
function countWrites(dir: string, name: string): { count: number; close(): void } {
  let count = 0;
  const w = fs.watch(dir, (event, file) => {
    if (event === 'rename' && file === name) count++;
  });
  return {
    get count() {
      return count;
    },
    close: () => w.close(),
  };
}

/** The filesystem `dir` is on: the longest mount point above it in /proc/self/mounts. */
function filesystem(dir: string): string {
  const real = fs.realpathSync(dir);
  let best = { at: '', type: '?', dev: '?' };
  for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [dev, at, type] = line.split(' ');
    if (at && (real === at || real.startsWith(at === '/' ? '/' : at + '/')) && at.length >= best.at.length) best = { at, type, dev };
  }
  return `${best.type} (${best.dev}, mounted on ${best.at})`;
}

type Mode = 'durable' | 'volatile';

let onTmpfs = false;

interface ApplySample {
  mode: Mode;
  sctl: number; // ms, launch to exit of `sctl apply --yes`
  core: number; // ms, the transaction's begin to commit as the core records it (sctl history's duration)
  cpu: number; // ms of the core's CPU during the apply
  writes: number; // durable writes of journal.db during the apply (durable only)
  journal: number; // bytes of journal.db after it (durable only)
  plan: number; // bytes of the transaction's definitions before and after, as JSON (`sctl show-transaction`)
}

/** One apply of the DAG onto a running one-unit `up`, the journal durable on disk or in memory. */
async function applyOnce(mode: Mode, journalDir: string): Promise<ApplySample> {
  const { dir, tmpfs } = stateTmp();
  onTmpfs = tmpfs;
  try {
    const header = dagSpec({ ...applied, layers: 0 });
    const before = path.join(dir, 'base.toml');
    const after = path.join(dir, 'dag.toml');
    fs.writeFileSync(before, header + base(applied));
    fs.writeFileSync(after, dagSpec(applied) + base(applied));
    const { SYSMASTER_JOURNAL: _, ...env } = process.env;
    const up = new Up(path.join(dir, 'state'), before, { ...env, SYSMASTER_JOURNAL_DIR: journalDir, ...(mode === 'volatile' && { SYSMASTER_JOURNAL: 'volatile' }) }, applied.marker);
    try {
      await up.ready();
      const core = up.corePid();
      const file = path.join(journalDir, 'journal.db');
      const watch = mode === 'durable' ? countWrites(journalDir, 'journal.db') : null;
      const cpu0 = cpuSeconds(core);
      const r = await timed(sctl, ['--state-dir', up.stateDir, 'apply', '--yes', after]);
      const cpu = (cpuSeconds(core) - cpu0) * 1000;
      await sleep(50); // the last rename's event, on its way to this process
      watch?.close();
      if (r.code !== 0) throw new Error(`sctl apply exited ${r.code}:\n${r.out.slice(-2000)}\n${up.tail()}`);
      const tx = ((await call(up.sock, 'history')) as TxSummary[]).at(-1)!;
      const units = applied.layers * applied.width;
      if (tx.id !== 2 || tx.result !== 'committed' || tx.jobs.done < units) throw new Error(`unexpected transaction: ${JSON.stringify(tx)}`);
      // The durable journal holds every savepoint on disk; the volatile one wrote nothing.
      const onDisk = fs.existsSync(file) ? await lastOnDisk(file) : undefined;
      if (mode === 'durable' ? onDisk?.id !== 2 || onDisk.jobs.done !== tx.jobs.done : onDisk) {
        throw new Error(`${mode} journal on disk: ${JSON.stringify(onDisk)}`);
      }
      const shown = (await call(up.sock, 'show-transaction', { id: 2 })) as TxPlan;
      const plan = JSON.stringify([shown.before, shown.after]).length;
      return { mode, sctl: r.ms, core: tx.duration!, cpu, writes: watch?.count ?? 0, journal: mode === 'durable' ? fs.statSync(file).size : 0, plan };
    } finally {
      await up.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The newest transaction in a journal file, as the next core would read it. */
async function lastOnDisk(file: string): Promise<TxSummary | undefined> {
  const j = await Journal.open(file);
  try {
    return j.list().at(-1);
  } finally {
    await j.close();
  }
}

interface Writes {
  size: number; // bytes of journal.db
  exported: number[]; // ms: export of the whole database, as every durable write does
  durable: number[]; // ms: writing that export durably (temp file, fsync, rename, fsync of the directory)
  append: number[]; // ms: appending one savepoint line and fdatasync: the least a durable savepoint costs
}

/** What one durable journal write costs, measured on a journal left by an apply, on the same disk. */
async function journalWrites(file: string): Promise<Writes> {
  const db = await openDatabase(file);
  const out: Writes = { size: fs.statSync(file).size, exported: [], durable: [], append: [] };
  const copy = path.join(path.dirname(file), 'copy.db');
  const log = fs.openSync(path.join(path.dirname(file), 'savepoints.log'), 'a');
  const line = JSON.stringify({ tx: 2, seq: 1, phase: 'apply', unit: 'l9u29.service', type: 'start', result: 'done', time: Date.now() }) + '\n';
  try {
    for (let i = 0; i < WRITES; i++) {
      let t0 = performance.now();
      const bytes = db.export();
      out.exported.push(performance.now() - t0);
      t0 = performance.now();
      await writeDurable(copy, bytes);
      out.durable.push(performance.now() - t0);
      t0 = performance.now();
      fs.writeSync(log, line);
      fs.fdatasyncSync(log);
      out.append.push(performance.now() - t0);
    }
  } finally {
    fs.closeSync(log);
    db.close();
  }
  return out;
}

interface PlanRun {
  first: number; // ms, the first plan call after the bring-up
  plan: number[]; // ms, plan of the changed spec over the socket
  same: number[]; // ms, plan of the spec in force (nothing to do) over the socket
  ping: number[];
  parse: number[]; // ms, loadSpec of the changed spec in this process
  compute: number[]; // ms, plan() of that spec against the one in force, all active, in this process
  cli: number[]; // ms, `sctl plan` launch to exit
  shape: { added: number; removed: number; changed: string[]; jobs: number };
}

/** The changed spec: one unit gets a new environment, which a running unit must restart for. */
function changeOne(spec: string): string {
  const at = `[service.${changedUnit}]\n`;
  if (!spec.includes(at)) throw new Error(`no ${changedUnit} in the spec`);
  return spec.replace(at, `${at}Environment = { BENCH_CHANGED = "1" }\n`);
}

/** `plan` of a spec of `planUnits` units, one changed, against a core running them all. */
async function planBench(): Promise<PlanRun> {
  const { dir } = stateTmp();
  try {
    const running = path.join(dir, 'running.toml');
    const changed = path.join(dir, 'changed.toml');
    fs.writeFileSync(running, dagSpec(planned));
    fs.writeFileSync(changed, changeOne(dagSpec(planned)));
    // The journal stays in the state directory (tmpfs): the plan does not touch it; the bring-up need not wait on it.
    const { SYSMASTER_JOURNAL: _, SYSMASTER_JOURNAL_DIR: __, ...env } = process.env;
    const up = new Up(path.join(dir, 'state'), running, env, planned.marker);
    try {
      await up.ready();
      const timeCall = async (method: string, params: object) => {
        const t0 = performance.now();
        const r = await call(up.sock, method, params);
        return { ms: performance.now() - t0, r };
      };
      const first = await timeCall('plan', { spec: changed });
      const p = first.r as Plan;
      if (p.error) throw new Error(`plan refused: ${p.error.message}`);
      const shape = { added: p.added.length, removed: p.removed.length, changed: p.changed.map((c) => c.unit), jobs: p.jobs.length };
      if (shape.added || shape.removed || shape.changed.join() !== `${changedUnit}.service`) throw new Error(`unexpected plan: ${JSON.stringify(shape)}`);
      const run: PlanRun = { first: first.ms, plan: [], same: [], ping: [], parse: [], compute: [], cli: [], shape };
      const inForce = await loadSpec(running);
      const actual = { units: Object.fromEntries(Object.entries(inForce.units).map(([n, spec]) => [n, { spec, active: 'active' as const }])) };
      for (let i = 0; i < planRuns; i++) {
        run.ping.push((await timeCall('ping', {})).ms);
        run.plan.push((await timeCall('plan', { spec: changed })).ms);
        run.ping.push((await timeCall('ping', {})).ms);
        const same = await timeCall('plan', { spec: running });
        if ((same.r as Plan).changed.length) throw new Error('the spec in force plans changes');
        run.same.push(same.ms);
        const t0 = performance.now();
        const desired = await loadSpec(changed);
        const t1 = performance.now();
        makePlan(desired, actual);
        run.parse.push(t1 - t0);
        run.compute.push(performance.now() - t1);
        if (i % 3 === 0) {
          const r = await timed(sctl, ['--state-dir', up.stateDir, 'plan', changed]);
          if (r.code !== 2) throw new Error(`sctl plan exited ${r.code}, not 2 (changes):\n${r.out.slice(-2000)}`);
          run.cli.push(r.ms);
        }
        process.stderr.write('.');
      }
      return run;
    } finally {
      await up.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}


const kb = (bytes: number) => (bytes / 1024).toFixed(0);

async function main(): Promise<string> {
  const load0 = os.loadavg()[0];
  const disk = fs.mkdtempSync(path.join(diskTmp, 'sm-bench-journal-'));
  const samples: ApplySample[] = [];
  let writes: Writes;
  let planRun: PlanRun;
  try {
    for (let i = 0; i < applyRuns; i++) {
      // ABBA: neither mode always runs first, so drift in the machine's speed hits both alike.
      const order: Mode[] = i % 2 ? ['volatile', 'durable'] : ['durable', 'volatile'];
      for (const mode of order) {
        const journalDir = path.join(disk, `${mode}-${i}`);
        samples.push(await applyOnce(mode, journalDir));
        if (mode === 'durable' && i === applyRuns - 1) writes = await journalWrites(path.join(journalDir, 'journal.db'));
        fs.rmSync(journalDir, { recursive: true, force: true });
        process.stderr.write('.');
      }
    }
    process.stderr.write('\n');
    planRun = await planBench();
    process.stderr.write('\n');
  } finally {
    fs.rmSync(disk, { recursive: true, force: true });
  }
  const load1 = os.loadavg()[0];
  const of = (mode: Mode) => samples.filter((s) => s.mode === mode);
  const [dur, vol] = [of('durable'), of('volatile')];
  type Metric = 'sctl' | 'core' | 'cpu';
  const pairRatio = (k: Metric) => median(dur.map((s, i) => s[k] / vol[i][k]));
  const medRatio = (k: Metric) => median(dur.map((s) => s[k])) / median(vol.map((s) => s[k]));
  const applyRow = (what: string, k: Metric) =>
    `| ${what} | ${range(dur.map((s) => s[k]))} | ${range(vol.map((s) => s[k]))} | ${medRatio(k).toFixed(2)} / ${pairRatio(k).toFixed(2)} |`;
  const w = writes!;
  const p = planRun!;
  const inCore = p.plan.map((ms, i) => ms - p.ping[2 * i]);
  const sameInCore = p.same.map((ms, i) => ms - p.ping[2 * i + 1]);
  const units = applied.layers * applied.width;
  const ratio = medRatio('sctl');
  return [
    `## Apply: durability overhead. ${units}-unit DAG (${applied.layers} × ${applied.width}, Type=notify via systemd-notify) added by \`sctl apply --yes\` to a running one-unit \`up\`; ${applyRuns} runs of each mode, alternated (ABBA)`,
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString()}, ${revision()}; ` +
      `load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end. Runtime state directory on ${onTmpfs ? 'tmpfs (/dev/shm)' : 'disk (no writable /dev/shm)'}; ` +
      `durable journal (SYSMASTER_JOURNAL_DIR) under ${diskTmp}: ${filesystem(diskTmp)}.`,
    '',
    '| median (min–max) | durable journal (the default: export + fsync per batch of savepoints) | volatile (`SYSMASTER_JOURNAL=volatile`) | durable / volatile: ratio of medians / median of pair ratios |',
    '|---|---|---|---|',
    applyRow(`**launch → exit of \`sctl apply --yes\`, ms** (target: durable ≤ 10% slower)`, 'sctl'),
    applyRow('in the core: transaction begin → commit (`sctl history` duration), ms', 'core'),
    applyRow("the core's CPU during the apply, ms", 'cpu'),
    `| durable writes of journal.db during the apply (renames into place, counted with inotify), for ${units} savepoints | ${range(dur.map((s) => s.writes))} | none | – |`,
    `| journal.db after the apply, KB | ${range(dur.map((s) => s.journal / 1024))} | in memory | – |`,
    '',
    `Target durable ≤ 10% slower (ratio of medians ≤ 1.10): ${verdict(ratio <= 1.1)} (${((ratio - 1) * 100).toFixed(0)}%).`,
    '',
    `What one durable journal write costs, on the journal.db the last durable run left (${kb(w.size)} KB; the applied transaction's definitions before and after are ${kb(dur.at(-1)!.plan)} KB as JSON), on the same disk, ${WRITES} times each:`,
    '',
    '| ms | median | p95 | min–max |',
    '|---|---|---|---|',
    `| \`export()\` of the whole database (sql.js), as every journal write does | ${row(w.exported, 1)} |`,
    `| writing that export durably (\`writeDurable\`: temp file, fsync, rename, fsync of the directory) | ${row(w.durable, 1)} |`,
    `| for comparison: appending one savepoint line to a file and \`fdatasync\` | ${row(w.append, 1)} |`,
    '',
    `## Plan: \`plan\` of a ${planned.layers * planned.width}-unit spec (${planned.layers} × ${planned.width} DAG, every unit active) with one unit changed (${changedUnit}: an Environment= added), ${planRuns} calls of each kind, interleaved`,
    '',
    `The plan: ${p.shape.changed.length} changed, ${p.shape.added} added, ${p.shape.removed} removed, ${p.shape.jobs} jobs. Socket calls come from the benchmark process (already running: no CLI start), a new connection per call, as reconciler/client.ts \`call\` makes them; the core loads and checks the spec file inside the call.`,
    '',
    '| ms | median | p95 | min–max |',
    '|---|---|---|---|',
    `| \`plan\` over the control socket: connect, request, reply | ${row(p.plan)} |`,
    `| \`ping\` the same way (${p.ping.length} calls: one before each plan) | ${row(p.ping, 1)} |`,
    `| **plan − the ping before it: the time in the core** (target ≤ 100) | ${row(inCore)} |`,
    `| \`plan\` of the spec in force (nothing to do) − the ping before it | ${row(sameInCore)} |`,
    `| the first \`plan\` call after the bring-up (not in the rows above) | ${p.first.toFixed(0)} | – | – |`,
    `| in the benchmark process, the core's code by itself: \`loadSpec\` of the changed file | ${row(p.parse)} |`,
    `| in the benchmark process: \`plan()\` of that spec against the one in force, every unit active | ${row(p.compute)} |`,
    `| \`sctl plan\` (exit 2: changes), launch → exit (${p.cli.length} runs) | ${row(p.cli)} |`,
    '',
    `Target plan ≤ 100 ms in the core: ${verdict(median(inCore) <= 100)} (median ${median(inCore).toFixed(0)} ms).`,
  ].join('\n');
}

const table = await main();
console.log(table);
writeResults('apply.md', table);
