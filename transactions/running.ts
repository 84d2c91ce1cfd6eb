// The job engine's decisions, as pure functions over jobs, atoms and one state change (systemd's
// job_is_runnable, unit_process_job and the dependency side of unit_notify).
import type { ActiveState } from '../machines/types.js';
import type { AtomGraph, Atoms, Job, JobResult, JobType } from './types.js';
import { runsOrActive } from './merge.js';
import { compareJobs } from './order.js';

/** A unit's public state changed; what the single choke point hands the engine. */
export interface UnitChange {
  from: ActiveState;
  to: ActiveState;
  /** A failed attempt, also when the unit goes on into auto-restart. */
  failed: boolean;
  /** When leaving `reloading`: whether the reload worked. */
  reloadOk?: boolean;
}

/**
 * The unit is midway through something the job must wait out: a start while it stops, a reload while it reloads
 * (systemd's -EAGAIN from service_start and unit_reload). A second reload must not just join the first: the
 * unit may have read its configuration already.
 */
export function mustWait(type: JobType, state: ActiveState | undefined): boolean {
  return (type === 'start' && state === 'deactivating') || (type === 'reload' && state === 'reloading');
}

/** The waiting jobs no other installed job must precede (job_is_runnable), and whose unit is ready for them. */
export function runnable(jobs: Job[], graph: AtomGraph, stateOf: (unit: string) => ActiveState | undefined = () => undefined): Job[] {
  const byUnit = new Map(jobs.map((j) => [j.unit, j]));
  const waitsFor = (j: Job, units: string[], dir: 'after' | 'before') =>
    units.some((u) => {
      const other = byUnit.get(u);
      return other !== undefined && other !== j && compareJobs(j.type, other.type, dir) > 0;
    });
  return jobs.filter((j) => {
    if (j.state !== 'waiting' || mustWait(j.type, stateOf(j.unit))) return false;
    const atoms = graph[j.unit];
    return !atoms || !(waitsFor(j, atoms.after, 'after') || waitsFor(j, atoms.before, 'before'));
  });
}

function down(s: ActiveState): boolean {
  return s === 'inactive' || s === 'failed';
}

/**
 * The result `change` gives `job`, or null while it goes on (unit_process_job). A restart's 'done' ends its stop
 * phase only; the engine then runs it as a start.
 */
export function completes(job: Pick<Job, 'type' | 'state'>, change: UnitChange): JobResult | null {
  const running = job.state === 'running';
  switch (job.type) {
    case 'start':
    case 'verify-active':
      // Active is what a start wants, whoever brought it there.
      if (runsOrActive(change.to)) return 'done';
      if (!running) return null;
      if (change.failed || change.to === 'failed') return 'failed';
      // A unit that runs to completion (or skips on a condition) goes straight back to inactive: that is success.
      return change.to === 'inactive' ? 'done' : null;
    case 'reload':
      if (!running || change.to === 'activating' || change.to === 'reloading' || change.to === 'deactivating') return null;
      if (change.to === 'failed' || change.failed || change.reloadOk === false) return 'failed';
      return 'done';
    case 'stop':
    case 'restart':
      if (down(change.to)) return 'done';
      // Anything but going down while we stop it means the stop did not work.
      return running && change.to !== 'deactivating' ? 'failed' : null;
    default:
      return null;
  }
}

export type ReactionCause = 'on-failure' | 'on-success' | 'bound-by';

/** A job to queue, in its own transaction, because of a state change. */
export interface Reaction {
  unit: string;
  type: JobType;
  cause: ReactionCause;
}

/**
 * What a change of `atoms`' unit sets off beyond its own job (unit_notify). `stopping`: the unit has a stop or
 * restart job of ours, so going down was asked for.
 */
export function reactions(atoms: Atoms | undefined, change: UnitChange, stopping: boolean): Reaction[] {
  if (!atoms) return [];
  const out: Reaction[] = [];
  const upOrComing = runsOrActive(change.from) || change.from === 'activating';
  const goingDown = down(change.to) || change.to === 'deactivating';
  if (upOrComing && goingDown && !stopping) {
    for (const unit of atoms.boundBy) out.push({ unit, type: 'stop', cause: 'bound-by' });
  }
  // Only once it gave up: a failure followed by auto-restart goes on to activating, and systemd waits.
  if (down(change.to) && (change.to === 'failed' || change.failed) && change.from !== 'failed') {
    for (const unit of atoms.onFailure) out.push({ unit, type: 'start', cause: 'on-failure' });
  }
  if (change.to === 'inactive' && !down(change.from) && !change.failed) {
    for (const unit of atoms.onSuccess) out.push({ unit, type: 'start', cause: 'on-success' });
  }
  return out;
}

/** The jobs a failed start of a unit with `atoms` fails with 'dependency' (job_fail_dependencies). */
export function failedByStart(atoms: Atoms | undefined, jobOf: (unit: string) => Job | undefined): Job[] {
  return (atoms?.propagateStartFailure ?? [])
    .map(jobOf)
    .filter((j): j is Job => j !== undefined && (j.type === 'start' || j.type === 'verify-active'));
}
