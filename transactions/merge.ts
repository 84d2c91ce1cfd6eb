// The job-type algebra (systemd's job_type_lookup_merge, job_type_collapse, job_type_is_redundant): literal
// tables, checked by test/transactions/merge.test.ts over every pair and triple.
import type { ActiveState } from '../machines/types.js';
import type { JobType } from './types.js';

/** The job types the merge table covers (systemd's _JOB_TYPE_MAX_MERGING). */
export const MERGE_TYPES = ['start', 'verify-active', 'stop', 'reload', 'restart'] as const;
export type MergeType = (typeof MERGE_TYPES)[number];
/** reload + start means "reload if it runs, else start": collapsed by the unit's state right after merging. */
export type Merged = MergeType | 'reload-or-start';

const NO = null;

/** Row merged with column; null: the two cannot merge (they conflict). */
export const MERGE_TABLE: Record<MergeType, Record<MergeType, Merged | null>> = {
  //                  start              verify-active      stop  reload             restart
  start: { start: 'start', 'verify-active': 'start', stop: NO, reload: 'reload-or-start', restart: 'restart' },
  'verify-active': { start: 'start', 'verify-active': 'verify-active', stop: NO, reload: 'reload', restart: 'restart' },
  stop: { start: NO, 'verify-active': NO, stop: 'stop', reload: NO, restart: NO },
  reload: { start: 'reload-or-start', 'verify-active': 'reload', stop: NO, reload: 'reload', restart: 'restart' },
  restart: { start: 'restart', 'verify-active': 'restart', stop: NO, reload: 'restart', restart: 'restart' },
};

export function isMergeType(t: JobType): t is MergeType {
  return (MERGE_TYPES as readonly string[]).includes(t);
}

export function runsOrActive(state: ActiveState): boolean {
  return state === 'active' || state === 'reloading';
}

export function collapse(t: Merged, state: ActiveState): MergeType {
  if (t === 'reload-or-start') return runsOrActive(state) ? 'reload' : 'start';
  return t;
}

export function mergeAndCollapse(a: MergeType, b: MergeType, state: ActiveState): MergeType | null {
  const t = MERGE_TABLE[a][b];
  return t === null ? null : collapse(t, state);
}

/** Whether a job of type `b` cannot join a job of type `a` (nop never conflicts: it lives beside other jobs). */
export function conflicting(a: JobType, b: JobType): boolean {
  return isMergeType(a) && isMergeType(b) && MERGE_TABLE[a][b] === null;
}

/** `a` already does all that `b` does (systemd's job_type_is_superset). */
export function isSuperset(a: MergeType, b: MergeType): boolean {
  return MERGE_TABLE[a][b] === a;
}

/** The unit is already where the job would take it (systemd's job_type_is_redundant). */
export function isRedundant(t: JobType, state: ActiveState): boolean {
  switch (t) {
    case 'start':
    case 'verify-active':
      return runsOrActive(state);
    case 'stop':
      return state === 'inactive' || state === 'failed';
    case 'reload':
      return state === 'reloading';
    case 'restart':
      return state === 'activating';
    case 'nop':
      return true;
    default:
      return false;
  }
}
