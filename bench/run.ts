// `npm run bench`: the core's bring-up and tear-down of the layered DAG, next to a baseline measured in the same
// run that spawns the same payloads directly from Node. Size knobs: BENCH_LAYERS, BENCH_WIDTH, BENCH_RUNS.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dagOptions, dagSpec, payload } from './dag.js';
import { stateTmp } from './dirs.js';
import { cpuSeconds, median, peakRss, range, writeResults } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const opts = dagOptions('3600.777');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const units = opts.layers * opts.width;

interface Sample {
  ready: number; // ms from start to every unit ready
  stopped: number; // ms from the stop request to every process gone
  rss?: number; // MB, peak of the manager (the core under sysmaster-init)
  cpu?: number; // s of manager CPU (user + sys) to all ready
  initRss?: number; // MB, peak of sysmaster-init
}

/**
 * The floor: a Node process that spawns the same payloads directly and counts READY=1 on a notify socket, timed
 * like sysmaster as a whole process from launch (bench/direct.ts).
 */
function baseline(dir: string): Promise<Sample> {
  const args = [path.join(root, 'dist/bench/direct.js'), path.join(dir, 'notify.sock'), String(units), payload(opts)];
  return timeProcess(process.execPath, args, /^ready$/m);
}

/** sysmaster up on the DAG spec: ready when the initial transaction has finished; stopped when up has exited. */
function sysmaster(dir: string): Promise<Sample> {
  const spec = path.join(dir, 'dag.toml');
  fs.writeFileSync(spec, dagSpec(opts));
  // Run as users run it: the bin itself, with the node flags of its #! line.
  const state = path.join(dir, 'state');
  return timeProcess(path.join(root, 'bin/sysmaster.js'), ['--state-dir', state, 'up', spec], /all \d+ jobs done/, () =>
    Number(fs.readFileSync(path.join(state, 'core.pid'), 'utf8')),
  );
}

/** Launch a Node process, time it to the line that says everything is ready, then SIGTERM it and time its exit. */
/** `manager` names the process to measure when it is not the launched one (the core under init). */
async function timeProcess(command: string, args: string[], ready: RegExp, manager?: () => number): Promise<Sample> {
  const t0 = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (ready.test(out)) resolve();
      if (/started with failures/.test(out)) reject(new Error(out.slice(-2000)));
    });
    child.on('exit', () => reject(new Error(`${command} exited early:\n${out.slice(-2000)}`)));
  });
  const tReady = performance.now() - t0;
  const pid = manager ? manager() : child.pid!;
  const rss = peakRss(pid);
  const cpu = cpuSeconds(pid);
  const initRss = manager && pid !== child.pid ? peakRss(child.pid!) : undefined;
  const t1 = performance.now();
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
  return { ready: tReady, stopped: performance.now() - t1, rss, cpu, initRss };
}

let onTmpfs = false;

async function main() {
  const base: Sample[] = [];
  const sm: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    // Interleaved, so drift in the machine's speed hits both alike.
    for (const [list, fn] of [[base, baseline], [sm, sysmaster]] as const) {
      const { dir, tmpfs } = stateTmp();
      onTmpfs = tmpfs;
      try {
        list.push(await fn(dir));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  const ratio = (k: 'ready' | 'stopped') => median(sm.map((s, i) => s[k] / base[i][k]));
  const table = [
    `## Core: ${units}-unit layered DAG (${opts.layers} × ${opts.width}, Type=notify via systemd-notify), ${runs} runs`,
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString()}; ` +
      `state directory on ${onTmpfs ? 'tmpfs (/dev/shm), as /run is on a host' : 'disk (no writable /dev/shm)'}`,
    '',
    '| metric | baseline: a Node process spawning the payloads directly | sysmaster up | ratio (median of pairs) |',
    '|---|---|---|---|',
    `| time to all ready, ms | ${range(base.map((s) => s.ready))} | ${range(sm.map((s) => s.ready))} | ${ratio('ready').toFixed(2)} |`,
    `| time to all stopped, ms | ${range(base.map((s) => s.stopped))} | ${range(sm.map((s) => s.stopped))} | ${ratio('stopped').toFixed(2)} |`,
    `| peak RSS of the process, MB (sysmaster: the core) | ${range(base.map((s) => s.rss!), 1)} | ${range(sm.map((s) => s.rss!), 1)} | target ≤ 80 for the core |`,
    ...(sm.some((s) => s.initRss !== undefined) ? [`| peak RSS of sysmaster-init, MB | – | ${range(sm.map((s) => s.initRss!), 1)} | – |`] : []),
    `| CPU of the process to all ready, s | ${range(base.map((s) => s.cpu!), 2)} | ${range(sm.map((s) => s.cpu!), 2)} | – |`,
    '',
    'Targets: manager overhead ≤ 20% over the baseline (ratio ≤ 1.20); core RSS ≤ 80 MB with 300 units.',
  ].join('\n');
  console.log(table);
  writeResults('core.md', table);
}

await main();
