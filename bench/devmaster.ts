// `npm run bench:devmaster` (also part of `npm run bench`): devmaster's rules load time and its event throughput with
// every rules file of Debian's udev package loaded, next to baselines measured in the same run: reading the same
// files without parsing them, and the same kernel events received by a bare netlink listener that applies no rules.
// Needs root (network interfaces, netlink broadcast). Size knobs: BENCH_EVENTS (2,000), BENCH_RUNS (5); devmaster
// options in BENCH_DEVMASTER_ARGS (`--children-max=2`).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileRules } from '../devmaster/evaluate.js';
import { MonitorListener } from '../devmaster/monitor.js';
import { loadRules, ruleFiles } from '../devmaster/rulesfiles.js';
import { UeventListener } from '../devmaster/uevents.js';
import { stateTmp } from './dirs.js';
import { median, peakRss, range, revision, verdict, writeResults } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const events = Number(process.env.BENCH_EVENTS ?? 2000);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function debianRules(): string {
  const cache = '/tmp/sysmaster-udev';
  const r = spawnSync('bash', [path.join(root, 'test/specs/debian-units.sh'), cache, 'udev'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot fetch Debian's udev package: ${r.stderr.trim()}`);
  return path.join(cache, 'root/lib/udev/rules.d');
}

/** Interfaces that are the events' devices: bridges (every kernel with bridging has them; dummy is a module). */
function interfaces(n: number): string[] {
  const names = Array.from({ length: n }, (_, i) => `smbench${i}`);
  for (const name of names) {
    spawnSync('ip', ['link', 'del', name]);
    const r = spawnSync('ip', ['link', 'add', name, 'type', 'bridge'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip link add ${name}: ${r.stderr.trim()}`);
  }
  return names;
}

/**
 * Writes `events` change requests spread over the devices; returns when the bare listener had them all (the floor)
 * and when devmaster had broadcast them all, in ms from the first write. Both hear the same burst.
 */
async function burst(names: string[], delivered: () => number, processed: () => number): Promise<{ floor: number; dm: number }> {
  const [d0, p0] = [delivered(), processed()];
  const t0 = performance.now();
  for (let i = 0; i < events; i++) fs.writeFileSync(`/sys/class/net/${names[i % names.length]}/uevent`, 'change');
  let floor = NaN;
  for (;;) {
    const now = performance.now() - t0;
    if (Number.isNaN(floor) && delivered() - d0 >= events) floor = now;
    if (processed() - p0 >= events && !Number.isNaN(floor)) return { floor, dm: now };
    if (now > 120_000) throw new Error(`after 120 s: ${delivered() - d0} delivered, ${processed() - p0} processed of ${events}`);
    await sleep(1);
  }
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the devmaster benchmark needs root (network interfaces, netlink broadcast)');
  const dir = debianRules();
  const files = ruleFiles([dir]);

  // Rules load: read + parse + compile, against reading the same bytes.
  const read: number[] = [];
  const load: number[] = [];
  let ruleCount = 0;
  for (let i = 0; i < Math.max(runs, 10); i++) {
    let t0 = performance.now();
    for (const f of files) fs.readFileSync(f, 'utf8');
    read.push(performance.now() - t0);
    t0 = performance.now();
    const r = loadRules([dir]);
    compileRules(r.rules);
    load.push(performance.now() - t0);
    ruleCount = r.rules.length;
  }

  // Events: one devmaster with all of Debian's rules; the same bursts to a bare listener as the floor.
  const { dir: tmp } = stateTmp();
  const single = interfaces(1);
  const many = interfaces(20);
  const child = spawn(process.execPath, [path.join(root, 'bin/devmaster.js'), ...(process.env.BENCH_DEVMASTER_ARGS ?? '').split(' ').filter(Boolean)], {
    env: { ...process.env, DEVMASTER_RUN_DIR: path.join(tmp, 'run'), DEVMASTER_DEV_DIR: path.join(tmp, 'dev'), DEVMASTER_RULES_DIRS: dir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const ours = new Set([...single, ...many]);
  let processed = 0;
  let delivered = 0;
  const monitor = new MonitorListener((p) => ours.has(p.get('INTERFACE') ?? '') && p.get('ACTION') === 'change' && processed++);
  const kernel = new UeventListener((e) => ours.has(e.properties.INTERFACE ?? '') && e.action === 'change' && delivered++);
  try {
    while (!fs.existsSync(path.join(tmp, 'run/control'))) await sleep(20);
    await sleep(500); // the adds of the new interfaces go through first
    const base1: number[] = [];
    const dm1: number[] = [];
    const baseN: number[] = [];
    const dmN: number[] = [];
    for (let i = 0; i < runs; i++) {
      const one = await burst(single, () => delivered, () => processed);
      base1.push(one.floor);
      dm1.push(one.dm);
      const spread = await burst(many, () => delivered, () => processed);
      baseN.push(spread.floor);
      dmN.push(spread.dm);
      process.stderr.write('.');
    }
    process.stderr.write('\n');
    const rss = peakRss(child.pid!);
    const rate = (ms: number[]) => Math.round(events / (median(ms) / 1000));
    const table = [
      `## devmaster: every rules file of Debian's udev 252 (${files.length} files, ${ruleCount} rules), ${events} change events, ${runs} runs`,
      '',
      `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString()}, ${revision()}; ` +
        `devmaster with its default workers (${Math.max(2, os.availableParallelism() * 2)} threads)`,
      '',
      '| ms, median (min–max) | baseline | devmaster | ratio | target |',
      '|---|---|---|---|---|',
      `| rules load: read + parse + compile (baseline: reading the files) | ${range(read, 1)} | ${range(load, 1)} | ${(median(load) / median(read)).toFixed(1)} | < 100 ms: ${verdict(median(load) < 100)} |`,
      `| ${events} change events on one device, first write → last broadcast (baseline: a bare listener hears the last) | ${range(base1)} | ${range(dm1)} | ${(median(dm1) / median(base1)).toFixed(2)} | < 2,000 ms: ${verdict(median(dm1) < 2000)} |`,
      `| ${events} change events over 20 devices | ${range(baseN)} | ${range(dmN)} | ${(median(dmN) / median(baseN)).toFixed(2)} | < 2,000 ms: ${verdict(median(dmN) < 2000)} |`,
      '',
      `Throughput: ${rate(dm1)} events/s on one device (processed in order), ${rate(dmN)} events/s over 20 devices (in parallel). ` +
        `Peak RSS of devmaster (its worker threads included): ${rss.toFixed(1)} MB.`,
    ].join('\n');
    console.log(table);
    writeResults('devmaster.md', table);
  } finally {
    monitor.close();
    kernel.close();
    child.kill('SIGTERM');
    for (const n of ours) spawnSync('ip', ['link', 'del', n]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
