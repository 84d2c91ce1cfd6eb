// The job engine: queues built transactions, runs each job when its ordering allows, completes jobs from unit
// state changes. No I/O: the host starts and stops units. Its decisions are the pure functions of running.ts.
import type { AtomGraph, Job, JobMode, JobResult, JobType } from './types.js';
import { buildTransaction, type Anchor, type PlannedJob, type UnitView } from './build.js';
import { TransactionError } from './errors.js';
import { isMergeType, isSuperset, mergeAndCollapse, runsOrActive, type MergeType } from './merge.js';
import { completes, failedByStart, reactions, runnable, type Reaction, type UnitChange } from './running.js';

export interface EngineHost {
  /** The current atoms. */
  graph(): AtomGraph;
  view(unit: string): UnitView | undefined;
  /**
   * Begin a job: send the unit its START / STOP / RELOAD. 'done' when the unit already is in the wanted state
   * (or a condition says skip), 'failed' when it cannot start at all, null when the outcome comes later through
   * engine.unitChanged().
   */
  begin(job: Job, action: 'start' | 'stop' | 'reload'): JobResult | null;
  /** Called once per finished job (progress, logs, persistence); not for the jobs planned as no-ops. */
  finished(job: Job, result: JobResult): void;
  /** A transaction's entry got its result (a job may serve several transactions: once for each). */
  recorded?(transaction: number, entry: { unit: string; type: JobType; result: JobResult }): void;
  /** A job the engine queues on its own (on-failure, on-success, bound-by) could not be built; or a transaction dropped a job. */
  warn?(message: string): void;
}

export interface TransactionOutcome {
  id: number;
  results: { unit: string; type: JobType; result: JobResult }[];
}

interface Slot {
  job: Job;
  /** Transactions waiting for this job, each with the type it asked for. */
  waiters: Map<number, JobType>;
  /** A restart past its stop phase: it runs as a start, and reports as the restart it is. */
  restarted: boolean;
  /** Complete before it began (the unit already is as asked): its transactions hear of it, the host does not. */
  noop: boolean;
}

interface Tracked {
  entries: { unit: string; type: JobType; jobId: number; result?: JobResult }[];
  left: number;
  done: Promise<TransactionOutcome>;
  resolve(outcome: TransactionOutcome): void;
}

/** Finished transactions kept for a late wait(). */
const KEEP_FINISHED = 256;

function asMergeType(t: JobType): MergeType {
  if (!isMergeType(t)) throw new Error(`job type '${t}' cannot be queued: the builder collapses it`);
  return t;
}

export class Engine {
  /** Installed jobs by id, in install order. */
  private readonly slots = new Map<number, Slot>();
  private readonly byUnit = new Map<string, Slot>();
  private readonly tracked = new Map<number, Tracked>();
  private readonly finishedTx: number[] = [];
  private lastJob = 0;
  private lastTx = 0;
  private dispatching = false;

  constructor(private readonly host: EngineHost) {}

  /** Build and queue a transaction; throws TransactionError (nothing queued) when it cannot be built. */
  enqueue(anchors: Anchor[], mode: JobMode): { id: number; jobs: Job[]; entries: { unit: string; type: JobType }[]; noops: number } {
    const built = buildTransaction({
      graph: this.host.graph(),
      view: (unit) => this.host.view(unit),
      anchors,
      mode,
      queued: this.jobs(),
    });
    if (!built.ok) throw built.error;
    for (const w of built.warnings) this.host.warn?.(w);

    const id = ++this.lastTx;
    const tx = this.track(id);
    for (const jobId of built.cancel) {
      const slot = this.slots.get(jobId);
      // Replaced, not failed: dependents keep their jobs (systemd cancels non-recursively here).
      if (slot) this.finish(slot, 'canceled', false);
    }
    const jobs: Job[] = [];
    const instant: Slot[] = [];
    for (const p of built.jobs) {
      const slot = p.noop ? { ...this.slot(p, id), noop: true } : this.install(p, id);
      slot.waiters.set(id, p.type);
      tx.entries.push({ unit: p.unit, type: p.type, jobId: slot.job.id });
      jobs.push({ ...slot.job });
      if (p.noop) instant.push(slot);
    }
    tx.left = tx.entries.length;
    if (tx.left === 0) this.close(id, tx);
    for (const slot of instant) this.finish(slot, 'done');
    this.dispatch();
    return { id, jobs, entries: tx.entries.map(({ unit, type }) => ({ unit, type })), noops: instant.length };
  }

  /** The single choke point's engine half: a unit's public state changed. */
  unitChanged(unit: string, change: UnitChange): void {
    const slot = this.byUnit.get(unit);
    const stopping = slot !== undefined && (slot.job.type === 'stop' || slot.job.type === 'restart');
    const result = slot && completes(slot.job, change);
    if (slot && result) this.settle(slot, result);
    this.react(unit, reactions(this.host.graph()[unit], change, stopping));
    this.dispatch();
  }

  /** Queued and running jobs (copies), oldest first. */
  jobs(): Job[] {
    return [...this.slots.values()].map((s) => ({ ...s.job }));
  }

  /** Cancel a queued or running job; the start jobs that need it fail with 'dependency'. */
  cancel(jobId: number): boolean {
    const slot = this.slots.get(jobId);
    if (!slot) return false;
    this.finish(slot, 'canceled');
    this.dispatch();
    return true;
  }

  /** Cancel every job the transaction still waits for (a timeout, an interrupt): it finishes at once. */
  abort(transactionId: number): void {
    const tx = this.tracked.get(transactionId);
    for (const e of tx?.entries ?? []) {
      const slot = e.result === undefined ? this.slots.get(e.jobId) : undefined;
      // Its own jobs all go: no need to fail the ones that need it first.
      if (slot) this.finish(slot, 'canceled', false);
    }
    this.dispatch();
  }

  /** Resolves when every job of the transaction has finished. */
  wait(transactionId: number): Promise<TransactionOutcome> {
    const tx = this.tracked.get(transactionId);
    if (tx) return tx.done;
    return Promise.reject(new TransactionError('ENOTRANSACTION', `No transaction ${transactionId} (never queued, or finished long ago).`));
  }

  private track(id: number): Tracked {
    let resolve!: (o: TransactionOutcome) => void;
    const done = new Promise<TransactionOutcome>((r) => (resolve = r));
    const tx: Tracked = { entries: [], left: 0, done, resolve };
    this.tracked.set(id, tx);
    return tx;
  }

  private close(id: number, tx: Tracked): void {
    tx.resolve({ id, results: tx.entries.map(({ unit, type, result }) => ({ unit, type, result: result! })) });
    this.finishedTx.push(id);
    while (this.finishedTx.length > KEEP_FINISHED) this.tracked.delete(this.finishedTx.shift()!);
  }

  private slot(p: PlannedJob, transaction: number): Slot {
    const job: Job = { id: ++this.lastJob, unit: p.unit, type: p.type, state: 'waiting', matters: p.matters, transaction };
    return { job, waiters: new Map(), restarted: false, noop: false };
  }

  /** A new job, or the planned one merged into the unit's queued job (systemd's job_install). */
  private install(p: PlannedJob, transaction: number): Slot {
    const cur = this.byUnit.get(p.unit);
    if (!cur) {
      const slot = this.slot(p, transaction);
      this.slots.set(slot.job.id, slot);
      this.byUnit.set(p.unit, slot);
      return slot;
    }
    const job = cur.job;
    const [have, want] = [asMergeType(job.type), asMergeType(p.type)];
    const merged = mergeAndCollapse(have, want, this.host.view(p.unit)?.active ?? 'inactive');
    if (merged === null) throw new Error(`${p.unit}: '${p.type}' cannot join queued '${job.type}'; the builder should have cancelled it`);
    // A running job absorbs what it already covers; otherwise it runs again as the merged type. A reload never
    // joins a running one: the unit may have read its configuration already.
    const covered = want !== 'reload' && isSuperset(have, want);
    if (job.state === 'running' && !covered) job.state = 'waiting';
    job.type = merged;
    job.matters ||= p.matters;
    return cur;
  }

  /** Run every job whose ordering allows it, until none is left (the run queue). */
  private dispatch(): void {
    // begin() may report back through unitChanged(); the outer loop then picks up whatever that changed.
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (;;) {
        const jobs = [...this.slots.values()].map((s) => s.job);
        const ready = runnable(jobs, this.host.graph(), (unit) => this.host.view(unit)?.active);
        if (!ready.length) return;
        // Starting one job never makes another wait, so the whole batch may run before looking again.
        for (const job of ready) {
          const slot = this.slots.get(job.id);
          if (slot && slot.job.state === 'waiting') this.run(slot);
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private run(slot: Slot): void {
    const job = slot.job;
    job.state = 'running';
    let action: 'start' | 'stop' | 'reload';
    switch (job.type) {
      case 'verify-active': {
        const state = this.host.view(job.unit)?.active ?? 'inactive';
        // Still coming up: unitChanged() decides.
        if (state !== 'activating') this.settle(slot, runsOrActive(state) ? 'done' : 'skipped');
        return;
      }
      case 'start':
        action = 'start';
        break;
      case 'stop':
      case 'restart':
        action = 'stop';
        break;
      case 'reload':
        action = 'reload';
        break;
      default:
        throw new Error(`job type '${job.type}' cannot run: the builder collapses it`);
    }
    const result = this.host.begin({ ...job }, action);
    // begin() may already have settled the job through unitChanged().
    if (result !== null && this.slots.get(job.id) === slot && job.state === 'running') this.settle(slot, result);
  }

  private settle(slot: Slot, result: JobResult): void {
    if (result === 'done' && slot.job.type === 'restart') {
      // Stop phase over: from here on it is a start, ordered as one (systemd patches the type the same way).
      slot.job.type = 'start';
      slot.job.state = 'waiting';
      slot.restarted = true;
      return;
    }
    this.finish(slot, result);
  }

  private finish(slot: Slot, result: JobResult, propagate = true): void {
    const job = slot.job;
    if (this.slots.get(job.id) === slot) {
      this.slots.delete(job.id);
      this.byUnit.delete(job.unit);
    }
    if (!slot.noop) this.host.finished({ ...job, type: slot.restarted ? 'restart' : job.type }, result);
    for (const id of slot.waiters.keys()) this.record(id, job.id, result);
    if (!propagate || result === 'done') return;

    const atoms = this.host.graph()[job.unit];
    if (job.type === 'start' || job.type === 'verify-active') {
      for (const other of failedByStart(atoms, (u) => this.byUnit.get(u)?.job)) {
        const dependent = this.slots.get(other.id);
        // An earlier one of these may have finished it already, through a chain of its own.
        if (dependent) this.finish(dependent, 'dependency');
      }
    }
    if (result === 'timeout' || result === 'dependency') {
      // The unit itself never entered failed, so unitChanged() will not start these (job_finish_and_invalidate).
      this.react(job.unit, (atoms?.onFailure ?? []).map((unit) => ({ unit, type: 'start', cause: 'on-failure' })));
    }
  }

  private record(id: number, jobId: number, result: JobResult): void {
    const tx = this.tracked.get(id);
    const entry = tx?.entries.find((e) => e.jobId === jobId && e.result === undefined);
    if (!tx || !entry) return;
    entry.result = result;
    this.host.recorded?.(id, { unit: entry.unit, type: entry.type, result });
    if (--tx.left === 0) this.close(id, tx);
  }

  /** Each reaction is a transaction of its own; one that cannot be built is reported, not thrown. */
  private react(unit: string, list: Reaction[]): void {
    for (const r of list) {
      try {
        this.enqueue([{ unit: r.unit, type: r.type }], 'replace');
      } catch (e) {
        if (!(e instanceof TransactionError)) throw e;
        this.host.warn?.(`${unit}: cannot queue ${r.type} of ${r.unit} (${r.cause}): ${e.message}`);
      }
    }
  }
}
