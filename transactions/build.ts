// Anchors → the jobs to queue, as systemd's transaction_activate(): a numbered pipeline of small steps over a
// Draft. Pure: it reads the atom graph, unit states and the queued jobs, and changes none of them.
import type { ActiveState } from '../machines/types.js';
import type { AtomGraph, Job, JobMode, JobType } from './types.js';
import { Draft, type DraftJob } from './draft.js';
import { TransactionError } from './errors.js';
import { conflicting, isRedundant, mergeAndCollapse, runsOrActive, type MergeType } from './merge.js';
import { compareJobs, type Direction } from './order.js';

/** What the builder needs to know about a unit's present. */
export interface UnitView {
  active: ActiveState;
  canReload: boolean;
}

export interface Anchor {
  unit: string;
  type: JobType;
}

export interface BuildInput {
  graph: AtomGraph;
  view(unit: string): UnitView | undefined;
  anchors: Anchor[];
  mode: JobMode;
  /** The engine's installed jobs (at most one per unit). */
  queued: Job[];
}

export interface PlannedJob {
  unit: string;
  type: JobType;
  /** The anchors need it: its failure fails them. */
  matters: boolean;
  /** The unit already is where the job takes it: the job completes at once. */
  noop: boolean;
  /** Asked for by the caller rather than pulled in. */
  anchor: boolean;
}

export type BuildResult =
  | {
      ok: true;
      jobs: PlannedJob[];
      /** Ids of queued jobs this transaction replaces. */
      cancel: number[];
      /** Jobs dropped to make the transaction work (a broken cycle, a conflict with an unneeded job). */
      warnings: string[];
    }
  | { ok: false; error: TransactionError };

/** The input plus what the steps derive from it. */
export interface Context extends BuildInput {
  queuedBy: Map<string, Job>;
  warnings: string[];
}

export function context(input: BuildInput): Context {
  const queuedBy = new Map(input.queued.filter((j) => j.type !== 'nop').map((j) => [j.unit, j]));
  return { ...input, queuedBy, warnings: [] };
}

function stateOf(ctx: Context, unit: string): ActiveState {
  return ctx.view(unit)?.active ?? 'inactive';
}

function notLoaded(unit: string, by: DraftJob | null): TransactionError {
  const why = by ? ` (needed by ${by.unit})` : '';
  return new TransactionError('ENOUNIT', `Unit ${unit}${why} is not loaded.`, { unit });
}

/** The caller's job type, reduced by the unit's state to one a transaction holds (systemd's manager_add_job). */
function anchorType(a: Anchor, view: UnitView): MergeType | 'nop' | TransactionError {
  switch (a.type) {
    case 'try-restart':
      return runsOrActive(view.active) ? 'restart' : 'nop';
    case 'reload-or-restart':
      if (!view.canReload) return 'restart';
      return runsOrActive(view.active) ? 'reload' : 'start';
    case 'reload':
      if (!view.canReload) return new TransactionError('ENORELOAD', `Unit ${a.unit} does not support reloading.`, { unit: a.unit });
      return 'reload';
    default:
      return a.type;
  }
}

/** 1. Add the anchors and, recursively, what they pull in (systemd's transaction_add_job_and_dependencies). */
export function expand(ctx: Context): Draft | TransactionError {
  const d = new Draft();

  const add = (type: DraftJob['type'], unit: string, by: DraftJob | null, matters: boolean, conflicts: boolean): TransactionError | undefined => {
    const atoms = ctx.graph[unit];
    if (!atoms || !ctx.view(unit)) {
      // Nothing to stop in a unit that is not there; a wanted one is simply skipped.
      return by === null || (matters && type !== 'stop') ? notLoaded(unit, by) : undefined;
    }
    const { job, created } = d.add(unit, type);
    d.link(by?.key ?? null, job.key, matters, conflicts);
    if (!created || type === 'nop') return;

    const pulls: [DraftJob['type'], string[], boolean, boolean][] = [];
    if (type === 'start' || type === 'restart') {
      pulls.push(
        ['start', atoms.pullInStart, true, false],
        ['start', atoms.pullInStartIgnored, false, false],
        ['verify-active', atoms.pullInVerify, true, false],
        ['stop', atoms.pullInStop, true, true],
      );
    }
    if (type === 'stop' || type === 'restart') {
      // A restart propagates as try-restart, so it restarts what runs and starts nothing new; those units get
      // no stop job on top.
      const restarted = type === 'restart' ? atoms.propagateRestart : [];
      pulls.push(['restart', restarted.filter((u) => runsOrActive(stateOf(ctx, u))), true, false]);
      pulls.push(['stop', atoms.propagateStop.filter((u) => !restarted.includes(u)), true, false]);
    }
    for (const [t, units, m, c] of pulls) {
      for (const u of units) {
        const err = add(t, u, job, m, c);
        if (err) return err;
      }
    }
  };

  for (const a of ctx.anchors) {
    const view = ctx.view(a.unit);
    if (!ctx.graph[a.unit] || !view) return notLoaded(a.unit, null);
    const type = anchorType(a, view);
    if (type instanceof TransactionError) return type;
    const err = add(type, a.unit, null, true, false);
    if (err) return err;
    d.ofUnit(a.unit).find((j) => j.type === type)!.anchor = true;
  }

  if (ctx.mode === 'isolate') {
    // Stop every unit that runs (or has a job) and that the anchors do not pull in.
    const first = [...d.jobs.values()].find((j) => j.anchor) ?? null;
    for (const unit of Object.keys(ctx.graph)) {
      const view = ctx.view(unit);
      if (!view || d.ofUnit(unit).length > 0) continue;
      if ((view.active === 'inactive' || view.active === 'failed') && !ctx.queuedBy.has(unit)) continue;
      add('stop', unit, first, true, false);
    }
  }
  return d;
}

/** 2. Mark the jobs the anchors need, through links that matter (transaction_find_jobs_that_matter_to_anchor). */
export function markMatters(d: Draft): void {
  const todo = [...d.jobs.values()].filter((j) => j.anchor).map((j) => j.key);
  while (todo.length > 0) {
    const job = d.jobs.get(todo.pop()!)!;
    if (job.matters) continue;
    job.matters = true;
    for (const l of d.links) if (l.from === job.key && l.matters) todo.push(l.to);
  }
}

/** 3. Mode fail only: drop unneeded jobs that would stop a running unit or change a queued job (transaction_minimize_impact). */
export function minimizeImpact(d: Draft, ctx: Context): void {
  for (;;) {
    const harmful = [...d.jobs.values()].find((j) => {
      if (j.matters) return false;
      const state = stateOf(ctx, j.unit);
      const stopsRunning = j.type === 'stop' && (runsOrActive(state) || state === 'activating');
      const queued = ctx.queuedBy.get(j.unit);
      return stopsRunning || (queued !== undefined && conflicting(j.type, queued.type));
    });
    if (!harmful) return;
    d.remove(harmful.key, true);
  }
}

function collectUnlessIsolating(d: Draft, ctx: Context): void {
  // As systemd: isolating keeps its stop jobs even though only the anchor links them.
  if (ctx.mode !== 'isolate') d.collectGarbage();
}

/** Two jobs of one unit that do not merge, or null. */
function findClash(d: Draft): [DraftJob, DraftJob] | null {
  for (const unit of d.units()) {
    const jobs = d.ofUnit(unit);
    for (let i = 0; i < jobs.length; i++) {
      for (let k = i + 1; k < jobs.length; k++) {
        if (conflicting(jobs[i].type, jobs[k].type)) return [jobs[i], jobs[k]];
      }
    }
  }
  return null;
}

/** 4. One job per unit: drop an unneeded job from each clash, then merge by the table (transaction_merge_jobs). */
export function mergeJobs(d: Draft, ctx: Context): TransactionError | undefined {
  for (let clash = findClash(d); clash; clash = findClash(d)) {
    const [a, b] = clash;
    let victim: DraftJob;
    if (!a.matters && !b.matters) {
      // Only stop conflicts with anything. Keep the start, unless the stop comes from a conflict.
      const [stop, other] = a.type === 'stop' ? [a, b] : [b, a];
      victim = d.conflictedBy(stop.key) ? other : stop;
    } else if (!a.matters || !b.matters) {
      victim = a.matters ? b : a;
    } else {
      return new TransactionError(
        'ECONFLICT',
        `Transaction contains conflicting jobs '${a.type}' and '${b.type}' for ${a.unit}. ` +
          'Probably contradicting requirement dependencies configured.',
        { jobs: [a, b].map(({ unit, type }) => ({ unit, type })) },
      );
    }
    const kept = victim === a ? b : a;
    ctx.warnings.push(`Dropped ${victim.unit}/${victim.type}: it conflicts with ${kept.unit}/${kept.type}.`);
    d.remove(victim.key, true);
    collectUnlessIsolating(d, ctx);
  }

  for (const unit of d.units()) {
    const jobs = d.ofUnit(unit);
    if (jobs.length < 2) continue;
    // nop is no member of the table: it joins whatever else the unit gets.
    const real = jobs.map((j) => j.type).filter((t): t is MergeType => t !== 'nop');
    const state = stateOf(ctx, unit);
    // findClash left no conflicting pair, and the table's algebra makes the whole fold succeed.
    const type = real.length === 0 ? 'nop' : real.reduce((t, u) => mergeAndCollapse(t, u, state)!);
    const keep = jobs.find((j) => j.anchor) ?? jobs[0];
    keep.type = type;
    keep.matters = jobs.some((j) => j.matters);
    for (const j of jobs) {
      if (j === keep) continue;
      keep.anchor ||= j.anchor;
      d.absorb(keep, j);
    }
  }
  return undefined;
}

/** 5. Reduce each job by its unit's state and flag what is already done (job_type_collapse, job_type_is_redundant). */
export function collapseByState(d: Draft, ctx: Context): void {
  const done = new Set<number>();
  for (const job of d.jobs.values()) {
    const state = stateOf(ctx, job.unit);
    if (job.type === 'restart' && (state === 'inactive' || state === 'failed')) job.type = 'start';
    // A restart asked for while the unit is coming up still restarts it; one that is merely pulled in does not.
    const redundant = isRedundant(job.type, state) && !(job.anchor && job.type === 'restart');
    // A job joining a queued one waits for it rather than completing at once.
    job.noop = job.type === 'nop' || (redundant && !ctx.queuedBy.has(job.unit));
    // systemd drops redundant jobs here, and with them what only they pulled in; the anchor stays.
    if (job.noop && !job.anchor) done.add(job.key);
  }
  d.release(done);
  collectUnlessIsolating(d, ctx);
}

/** A job in the ordering graph: one of the draft's, or a queued one. */
export interface OrderNode {
  id: string;
  unit: string;
  type: JobType;
  draft?: DraftJob;
}

/** A cycle of jobs, each running before the next, the last before the first; or null. */
export function findCycle(d: Draft, ctx: Context): OrderNode[] | null {
  const nodeOf = (unit: string): OrderNode | undefined => {
    const draft = d.ofUnit(unit).find((j) => !j.noop);
    if (draft) return { id: `d${draft.key}`, unit, type: draft.type, draft };
    const queued = ctx.queuedBy.get(unit);
    return queued && { id: `q${queued.id}`, unit, type: queued.type };
  };
  const done = new Set<string>();
  const onPath = new Map<string, number>();
  const path: OrderNode[] = [];

  const visit = (n: OrderNode): OrderNode[] | null => {
    if (done.has(n.id)) return null;
    const at = onPath.get(n.id);
    if (at !== undefined) return path.slice(at);
    onPath.set(n.id, path.length);
    path.push(n);
    const atoms = ctx.graph[n.unit];
    const edges: [Direction, string[]][] = [
      ['before', atoms?.before ?? []],
      ['after', atoms?.after ?? []],
    ];
    for (const [dir, units] of edges) {
      for (const u of units) {
        const next = nodeOf(u);
        if (!next || compareJobs(n.type, next.type, dir) >= 0) continue;
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    path.pop();
    onPath.delete(n.id);
    done.add(n.id);
    return null;
  };

  for (const job of d.jobs.values()) {
    if (job.noop) continue;
    const cycle = visit(nodeOf(job.unit)!);
    if (cycle) return cycle;
  }
  return null;
}

/** 6. Break ordering cycles by dropping a job the anchors do not need (transaction_verify_order). */
export function verifyOrder(d: Draft, ctx: Context): TransactionError | undefined {
  for (let cycle = findCycle(d, ctx); cycle; cycle = findCycle(d, ctx)) {
    const units = [...cycle.map((n) => n.unit), cycle[0].unit];
    // As systemd, look back from where the cycle closed.
    const victim = [...cycle].reverse().find((n) => n.draft && !n.draft.matters)?.draft;
    if (!victim) {
      return new TransactionError(
        'ECYCLE',
        `Transaction order is cyclic: ${units.join(' → ')}. Every job in the cycle is needed; remove an After=/Before=.`,
        { cycle: units },
      );
    }
    ctx.warnings.push(`Ordering cycle ${units.join(' → ')}: dropped ${victim.unit}/${victim.type}.`);
    for (const j of d.ofUnit(victim.unit)) d.remove(j.key, true);
    collectUnlessIsolating(d, ctx);
  }
  return undefined;
}

/** 7. Against the queued jobs: mode fail refuses to replace one, replace and isolate cancel them (transaction_is_destructive). */
export function checkQueued(d: Draft, ctx: Context): number[] | TransactionError {
  const cancel: number[] = [];
  for (const job of d.jobs.values()) {
    const queued = ctx.queuedBy.get(job.unit);
    if (!queued || !conflicting(queued.type, job.type)) continue;
    if (ctx.mode === 'fail') {
      const anchor = [...d.jobs.values()].find((j) => j.anchor) ?? job;
      return new TransactionError(
        'EDESTRUCTIVE',
        `Transaction for ${anchor.unit}/${anchor.type} is destructive ` +
          `(${job.unit} has '${queued.type}' job queued, but '${job.type}' is included in transaction).`,
        { jobs: [{ unit: job.unit, type: queued.type }, { unit: job.unit, type: job.type }] },
      );
    }
    cancel.push(queued.id);
  }
  if (ctx.mode === 'isolate') {
    for (const queued of ctx.queuedBy.values()) {
      if (d.ofUnit(queued.unit).length === 0) cancel.push(queued.id);
    }
  }
  return cancel;
}

export function buildTransaction(input: BuildInput): BuildResult {
  const ctx = context(input);
  const d = expand(ctx); // 1
  if (d instanceof TransactionError) return { ok: false, error: d };
  markMatters(d); // 2
  if (ctx.mode === 'fail') minimizeImpact(d, ctx); // 3
  const unmergeable = mergeJobs(d, ctx); // 4
  if (unmergeable) return { ok: false, error: unmergeable };
  collapseByState(d, ctx); // 5
  const cyclic = verifyOrder(d, ctx); // 6
  if (cyclic) return { ok: false, error: cyclic };
  const cancel = checkQueued(d, ctx); // 7
  if (cancel instanceof TransactionError) return { ok: false, error: cancel };
  const jobs = [...d.jobs.values()].map(({ unit, type, matters, noop, anchor }) => ({ unit, type, matters, noop, anchor }));
  return { ok: true, jobs, cancel, warnings: ctx.warnings };
}
