// `npm run bench:peers` (issue 9): every workload (bench/peers/workloads.ts) brought up and torn down by every
// manager in turn, each as PID 1 of its own PID namespace or container, the managers interleaved run by run so drift
// in the machine's speed hits all alike. Writes bench/results/peers.md (one table per workload) and one SVG chart per
// metric, bench/results/peers-<metric>.svg. A manager that cannot run here says why in its row.
// Knobs: BENCH_PEER_RUNS (5), the workload sizes (BENCH_PEER_FLAT, BENCH_PEER_CHAIN, BENCH_LAYERS, BENCH_WIDTH),
// BENCH_PEER_MANAGERS (a comma-separated list of names to run, by prefix: "floor,sysmaster"; default all),
// BENCH_PEER_WORKLOADS (flat,chain,dag), BENCH_PEER_TIMEOUT_MS (300000: one bring-up, where an adapter waits that
// long), BENCH_PEER_DEBUG=1 (print the processes counted as each manager's), BENCH_PEER_CRASH (the workloads whose
// kill -9 probes run once per manager after the measured runs: "dag" by default, "none" for none).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { revision, writeResults } from '../stats.js';
import { manager as floor } from './floor.js';
import { crashProbe } from './crash.js';
import { killPayloads } from './measure.js';
import { METRICS, renderReport, renderSvg, type Row, type WorkloadResults } from './report.js';
import { manager as runit } from './runit.js';
import { manager as s6 } from './s6.js';
import { manager as supervisord } from './supervisord.js';
import { manager as sysmaster } from './sysmaster.js';
import { manager as systemd } from './systemd.js';
import type { CrashResult, Manager, Workload } from './types.js';
import { workloads } from './workloads.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every manager, in the order of the tables: the floor first, then sysmaster, then the peers. */
const MANAGERS: Manager[] = [floor, sysmaster, systemd, s6, runit, supervisord];

const runs = Number(process.env.BENCH_PEER_RUNS ?? 5);
/** The kill -9 probes run after the measured runs of these workloads (BENCH_PEER_CRASH: a list, or "none"). */
const crashWorkloads = (process.env.BENCH_PEER_CRASH ?? 'dag').split(',').map((s) => s.trim());
/** Each manager's kill -9 probe: sysmaster's core; the peers' supervisors (crash.ts). */
const CRASH: Record<string, ((w: Workload, marker: string) => Promise<CrashResult>) | undefined> = {
  sysmaster: sysmaster.crash,
  s6: crashProbe('s6'),
  runit: crashProbe('runit'),
  supervisord: crashProbe('supervisord'),
};
/** A pause between two runs: the previous run's processes are gone and the page cache settles. */
const SETTLE_MS = 500;

function selected<T extends { name: string }>(all: T[], knob: string | undefined): T[] {
  if (!knob) return all;
  const wanted = knob.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return all.filter((x) => wanted.some((w) => x.name.toLowerCase().startsWith(w)));
}

let seq = 0;
/** A number no other process carries: the payloads' sleep, to find them in /proc. */
const newMarker = () => `86400.${process.pid}${String(++seq).padStart(4, '0')}`;

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : String(x));

function machineLine(): string {
  const cpus = os.cpus();
  return (
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GB, Linux ${os.release()}, ` +
    `Node ${process.version}, ${new Date().toISOString()}; ${revision()}`
  );
}

async function main(): Promise<void> {
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_PEER_RUNS wants a positive whole number, got "${process.env.BENCH_PEER_RUNS}"`);
  const ws = selected(workloads(), process.env.BENCH_PEER_WORKLOADS);
  const managers = selected(MANAGERS, process.env.BENCH_PEER_MANAGERS);
  const skipped = new Map<Manager, string | null>();
  for (const m of managers) {
    process.stderr.write(`prepare ${m.name} ... `);
    let reason: string | null;
    try {
      reason = await m.prepare();
    } catch (err) {
      reason = `prepare failed: ${(err as Error).message}`;
    }
    skipped.set(m, reason);
    process.stderr.write(reason === null ? 'ok\n' : `not run here: ${reason}\n`);
  }
  const results: WorkloadResults[] = [];
  for (const w of ws) {
    const rows = new Map<Manager, Row>(
      managers.map((m) => [m, { manager: m.name, readiness: m.readiness, dependencies: m.dependencies, skipped: skipped.get(m) ?? null, samples: [], errors: [] }]),
    );
    for (let i = 0; i < runs; i++) {
      for (const m of managers) {
        const row = rows.get(m)!;
        if (row.skipped !== null) continue;
        const marker = newMarker();
        process.stderr.write(`${w.name} (${w.units.length}) run ${i + 1}/${runs} ${m.name}: `);
        try {
          const r = await m.run(w, marker);
          row.samples.push(r);
          process.stderr.write(
            `ready ${fmt(r.readyMs)} ms, stopped ${fmt(r.stopMs)} ms, RSS ${(r.rssKb / 1024).toFixed(1)} MB, PSS ${(r.pssKb / 1024).toFixed(1)} MB, CPU ${fmt(r.cpuMs)} ms\n`,
          );
        } catch (err) {
          row.errors.push((err as Error).message);
          process.stderr.write(`FAILED: ${(err as Error).stack ?? err}\n`);
        }
        // Whatever a failed run left behind (the adapters clean up after themselves; this is the backstop).
        const left = killPayloads(marker);
        if (left) process.stderr.write(`  ${left} payload processes were left over and killed\n`);
        await sleep(SETTLE_MS);
      }
    }
    const crashes: WorkloadResults['crashes'] = [];
    for (const m of crashWorkloads.includes(w.name) ? managers : []) {
      const probe = CRASH[m.name];
      if (!probe || skipped.get(m) !== null) continue;
      const marker = newMarker();
      process.stderr.write(`${w.name} (${w.units.length}) kill -9 ${m.name}: `);
      try {
        const c = await probe(w, marker);
        crashes.push({ manager: m.name, result: c });
        process.stderr.write(`${c.killed}: ${c.kept} of ${c.services} kept, ${c.copies} running, ${c.recoveryMs === null ? 'never supervised again' : `recovered in ${fmt(c.recoveryMs)} ms`}\n`);
      } catch (err) {
        crashes.push({ manager: m.name, result: (err as Error).message });
        process.stderr.write(`FAILED: ${(err as Error).stack ?? err}\n`);
      }
      killPayloads(marker);
      await sleep(SETTLE_MS);
    }
    results.push({ workload: w, rows: [...rows.values()], crashes });
  }
  const report = renderReport(results, runs, machineLine());
  console.log(report);
  writeResults('peers.md', report);
  const dir = path.join(root, 'bench/results');
  for (const m of METRICS) fs.writeFileSync(path.join(dir, `peers-${m.file}.svg`), renderSvg(m, results));
  process.stderr.write(`wrote bench/results/peers.md and ${METRICS.map((m) => `peers-${m.file}.svg`).join(', ')}\n`);
}

await main();
