// Which of two jobs runs first (systemd's job_compare). Units are ordered by After/Before; jobs follow that
// order when starting and the reverse when stopping, so a stack comes up bottom-first and goes down top-first.
import type { JobType } from './types.js';

/** How `a`'s unit relates to `b`'s unit: `a` is ordered after `b`, or before it. */
export type Direction = 'after' | 'before';

function stopLike(t: JobType): boolean {
  // A restart is a stop until its stop phase is over (the engine then turns it into a start).
  return t === 'stop' || t === 'restart';
}

/** > 0: `a` runs after `b`; < 0: `a` runs before `b`; 0: unordered (nop jobs are never ordered). */
export function compareJobs(a: JobType, b: JobType, dir: Direction): number {
  if (a === 'nop' || b === 'nop') return 0;
  if (dir === 'after') return -compareJobs(b, a, 'before');
  return stopLike(b) ? 1 : -1;
}
