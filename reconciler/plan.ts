import { createHash } from 'node:crypto';
import equal from 'fast-deep-equal';
import type { ActiveState } from '../machines/types.js';
import type { ManagerConfig, SystemSpec, UnitSpec } from '../specs/types.js';
import { buildAtomGraph } from '../units/atoms.js';
import { buildTransaction } from '../transactions/build.js';
import type { JobType } from '../transactions/types.js';
import { commonKeyNames, typeOfUnit } from '../units/index.js';

/** What the core runs now, as plan() needs it. */
export interface Actual {
  units: Record<string, { spec: UnitSpec; active: ActiveState }>;
  /** The [manager] settings in force (absent: not compared). */
  manager?: ManagerConfig;
}

export interface FieldDiff {
  key: string;
  from: unknown;
  to: unknown;
}

export interface UnitDiff {
  unit: string;
  fields: FieldDiff[];
  /** Whether the running unit must restart for the change to take effect (else it applies live). */
  restart: boolean;
}

export interface PlannedJob {
  unit: string;
  type: JobType;
}

/** A serialisable diff and the jobs that apply will run, computed without touching anything. */
export interface Plan {
  added: string[];
  removed: string[];
  changed: UnitDiff[];
  /** [manager] settings that differ: installed by apply, no job needed (they reach what starts afterwards). */
  manager: FieldDiff[];
  /** The transaction's anchors: stop removed units, restart changed ones, start the default target. */
  anchors: PlannedJob[];
  /** The jobs the transaction runs, in engine order, without the ones that complete at once. */
  jobs: PlannedJob[];
  /** Set when the transaction cannot be built (a cycle, a conflict): apply refuses and changes nothing. */
  error: { code: string; message: string } | null;
}

export function configHash(spec: UnitSpec): string {
  return createHash('sha256').update(stableJson(spec.config)).digest('hex').slice(0, 16);
}

/** The plan from the actual state to the desired spec. Pure: the same inputs give the same plan. */
export function plan(desired: SystemSpec, actual: Actual): Plan {
  const want = desired.units;
  const have = actual.units;
  const added = Object.keys(want).filter((u) => !have[u]).sort();
  const removed = Object.keys(have).filter((u) => !want[u]).sort();
  const changed = Object.keys(want)
    .filter((u) => have[u])
    .sort()
    .map((u) => diffUnit(have[u].spec, want[u]))
    .filter((d): d is UnitDiff => d !== null);

  const was = actual.manager as unknown as Record<string, unknown> | undefined;
  const now = desired.manager as unknown as Record<string, unknown>;
  const manager = was
    ? [...new Set([...Object.keys(was), ...Object.keys(now)])]
        .sort()
        .filter((key) => !equal(was[key], now[key]))
        .map((key) => ({ key, from: was[key], to: now[key] }))
    : [];
  const running = (u: string) => isUp(have[u]?.active);
  const anchors: PlannedJob[] = [
    ...removed.filter(running).map((unit) => ({ unit, type: 'stop' as const })),
    ...changed.filter((d) => d.restart && running(d.unit)).map((d) => ({ unit: d.unit, type: 'restart' as const })),
    { unit: desired.manager.DefaultTarget, type: 'start' },
  ];

  // The transaction is built over the desired units plus the removed ones, which still have to be stopped.
  const units = { ...Object.fromEntries(removed.map((u) => [u, have[u].spec])), ...want };
  const graph = buildAtomGraph(Object.fromEntries(Object.entries(units).map(([n, s]) => [n, s.config])));
  const built = buildTransaction({
    graph,
    view: (u) => {
      const spec = units[u];
      if (!spec) return undefined;
      return { active: have[u]?.active ?? 'inactive', canReload: typeOfUnit(u).canReload(spec.config) };
    },
    anchors,
    mode: 'replace',
    queued: [],
  });
  if (!built.ok) {
    return { added, removed, changed, manager, anchors, jobs: [], error: { code: built.error.code, message: built.error.message } };
  }
  const jobs = built.jobs.filter((j) => !j.noop).map((j) => ({ unit: j.unit, type: j.type }));
  return { added, removed, changed, manager, anchors, jobs, error: null };
}

/** True when nothing would change: no definition differs and no job would run. */
export function isEmpty(p: Plan): boolean {
  return !p.added.length && !p.removed.length && !p.changed.length && !p.jobs.length && !p.error;
}

function diffUnit(from: UnitSpec, to: UnitSpec): UnitDiff | null {
  const a = from.config as unknown as Record<string, unknown>;
  const b = to.config as unknown as Record<string, unknown>;
  // Most units of a big spec are unchanged: one structural comparison, no serialising.
  if (equal(a, b)) return null;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const fields = keys.filter((k) => !equal(a[k], b[k])).map((key) => ({ key, from: a[key], to: b[key] }));
  if (!fields.length) return null;
  const live = new Set([...commonKeyNames, ...typeOfUnit(to.name).liveKeys]);
  return { unit: to.name, fields, restart: fields.some((f) => !live.has(f.key)) };
}

function isUp(a: ActiveState | undefined): boolean {
  return a === 'active' || a === 'activating' || a === 'reloading';
}

/** JSON with sorted keys, so equal configs hash and compare equal; Infinity survives as a string. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) => {
    if (val === Infinity) return 'infinity';
    if (val && typeof val === 'object' && !Array.isArray(val)) {
      return Object.fromEntries(Object.keys(val).sort().map((k) => [k, (val as Record<string, unknown>)[k]]));
    }
    return val;
  }) ?? 'undefined';
}
