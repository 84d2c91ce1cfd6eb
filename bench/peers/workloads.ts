// The side-by-side benchmark's workloads (issue 9): flat (independent services), chain (each after the one before)
// and the core benchmark's layered DAG (bench/dag.ts). Units are listed in dependency order: every unit after the
// units it requires. Size knobs: BENCH_PEER_FLAT (300), BENCH_PEER_CHAIN (100), BENCH_LAYERS × BENCH_WIDTH (10 × 30).
import { dagNames, dagParents, type DagOptions } from '../dag.js';
import type { PeerUnit, Workload } from './types.js';

/** `n` independent services. */
export function flatWorkload(n: number): Workload {
  return { name: 'flat', units: Array.from({ length: n }, (_, i) => ({ name: `f${i}`, after: [] })) };
}

/** `n` services, each requiring and ordered after the one before it. */
export function chainWorkload(n: number): Workload {
  return { name: 'chain', units: Array.from({ length: n }, (_, i) => ({ name: `c${i}`, after: i ? [`c${i - 1}`] : [] })) };
}

/** The core benchmark's DAG: `layers` × `width`, each unit requiring and ordered after two of the layer above. */
export function dagWorkload(layers: number, width: number): Workload {
  const o: DagOptions = { layers, width, ready: '', marker: '' };
  const units: PeerUnit[] = dagNames(o).flatMap((layer, l) => layer.map((name, i) => ({ name, after: dagParents(o, l, i) })));
  return { name: 'dag', units };
}

const size = (env: NodeJS.ProcessEnv, key: string, dflt: number): number => {
  const v = env[key];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${key} wants a positive whole number, got "${v}"`);
  return n;
};

/** The three workloads, sized from the environment. */
export function workloads(env: NodeJS.ProcessEnv = process.env): Workload[] {
  return [
    flatWorkload(size(env, 'BENCH_PEER_FLAT', 300)),
    chainWorkload(size(env, 'BENCH_PEER_CHAIN', 100)),
    dagWorkload(size(env, 'BENCH_LAYERS', 10), size(env, 'BENCH_WIDTH', 30)),
  ];
}

/** A line for the table's heading: what the workload is, with its size. */
export function describe(w: Workload): string {
  const n = w.units.length;
  switch (w.name) {
    case 'flat':
      return `flat: ${n} independent services`;
    case 'chain':
      return `chain: ${n} services, each requiring and ordered after the one before (depth ${n})`;
    case 'dag': {
      const layers = new Set(w.units.map((u) => u.name.replace(/u\d+$/, ''))).size;
      return `dag: ${n} services in ${layers} layers of ${n / layers}, each requiring and ordered after two of the layer above`;
    }
  }
}

/** The payload everywhere: the manager's native readiness step, then a sleep that carries the marker. */
export function payloadScript(ready: string, marker: string): string {
  return ready ? `${ready}; exec sleep ${marker}` : `exec sleep ${marker}`;
}

/** The units that require nothing, and for each unit those that require it (for stop order, or start waves). */
export function dependents(w: Workload): Map<string, string[]> {
  const out = new Map<string, string[]>(w.units.map((u) => [u.name, []]));
  for (const u of w.units) for (const a of u.after) out.get(a)?.push(u.name);
  return out;
}
