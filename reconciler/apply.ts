// Whole-system transactions (docs/transactions.md): an apply runs as one journaled transaction that commits whole
// or is rolled back; `sctl rollback` reverts a committed one; a transaction a dead core left open is resolved by its
// policy. The journal (journal.ts) is the record; the daemon installs definitions and runs the jobs.
import { createHash } from 'node:crypto';
import type { SystemSpec } from '../specs/types.js';
import type { Job, JobResult, JobType } from '../transactions/types.js';
import type { Daemon, Unit } from './daemon.js';
import { Journal, OPEN, type Definitions, type TxPlan, type TxPolicy } from './journal.js';
import { journalFile } from './paths.js';
import { configHash, isEmpty, type Plan } from './plan.js';
import { ControlError } from './protocol.js';

export interface ApplyProgress {
  phase: 'apply' | 'rollback';
  done: number;
  total: number;
  unit: string;
  type: JobType;
  result: JobResult;
  /** The units whose jobs are running now (at most a few names). */
  running: string[];
}

export interface JobOutcome {
  unit: string;
  type: JobType;
  result: JobResult;
}

export interface ApplyResult {
  plan: Plan;
  transaction: number | null;
  results: JobOutcome[];
  ok: boolean;
  /** Why it failed when no job says so: a timeout, an interrupt. */
  reason?: string;
  /** After a failure: whether the rollback put everything back (absent when none ran), and its jobs. */
  rolledBack?: boolean;
  rollback?: JobOutcome[];
}

export interface ApplyOptions {
  /** Roll back on failure (default); false: `--no-rollback`. */
  rollback?: boolean;
  /** The client's request key: a retry after a core's death gets the first request's outcome. */
  key?: string;
  /** The bring-up of a first start: finished, never undone (docs/transactions.md). */
  boot?: boolean;
  /** Queue behind a running transaction instead of being refused. */
  wait?: boolean;
  /** Cancel what is left and fail after this long (default DEFAULT_TIMEOUT_MS; 0: never). */
  timeoutMs?: number;
  /** Failed Wants= jobs fail the transaction too. */
  strict?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;

type Progress = (p: ApplyProgress) => void;

/**
 * Running, or on its way to it (also by itself: a crash-looping service between two runs): what "was active" means
 * for a rollback.
 */
export function running(u: Unit): boolean {
  return u.active === 'active' || u.active === 'activating' || u.active === 'reloading' || (u.type.comingBack?.(u.actor.getSnapshot()) ?? false);
}

export class Transactions {
  /** Where the journal is (paths.ts journalFile). */
  readonly file: string;
  /** Keep the journal in memory only (SYSMASTER_JOURNAL=volatile). */
  readonly volatile: boolean;
  private opened: Promise<Journal> | null = null;
  private busy: Promise<unknown> | null = null;
  /** The apply phase under way, which a timeout or `abort` can cut short. */
  private current: { id: number; key: string | null; abort(reason: string): void } | null = null;

  constructor(private readonly d: Daemon) {
    this.file = journalFile(d.paths.dir, d.env);
    this.volatile = d.env.SYSMASTER_JOURNAL === 'volatile';
  }

  /** The journal, opened on first use: a core taking over does not pay for reading it. */
  journal(): Promise<Journal> {
    this.opened ??= Journal.open(this.file, !this.volatile).catch((err: Error) => {
      // A read-only root (a container), or a home that does not exist: transactions still work, not their history.
      this.d.note(`cannot keep the transaction journal in ${this.file}: ${err.message}; keeping it in memory only (set SYSMASTER_JOURNAL_DIR)`);
      return Journal.open(this.file, false);
    });
    return this.opened;
  }

  /**
   * Bring the system to `desired` as one transaction (docs/transactions.md). A plan that cannot be built changes
   * nothing; one with nothing to do is not recorded. One transaction at a time.
   */
  async apply(desired: SystemSpec, onProgress?: Progress, opts: ApplyOptions = {}): Promise<ApplyResult> {
    const retried = opts.key ? (await this.journal()).byKey(opts.key) : null;
    if (retried) return this.outcomeOf(retried.id);
    const policy: TxPolicy = {
      rollback: opts.boot ? false : (opts.rollback ?? true),
      onCrash: opts.boot ? 'resume' : desired.manager.OnCrash,
      timeoutMs: opts.timeoutMs ?? (opts.boot ? 0 : DEFAULT_TIMEOUT_MS),
      strict: opts.strict ?? false,
    };
    return this.exclusive(() => this.applyNow(desired, onProgress, policy, opts.key ?? null), opts.wait ?? false);
  }

  /**
   * Cut the running apply short (Ctrl-C in `sctl apply`): its queued jobs are canceled and it fails, so it is
   * rolled back. `key` names the request; without it, whichever runs. Returns the transaction's id, or null.
   */
  abort(key?: string, reason = 'interrupted by the user'): number | null {
    const cur = this.current;
    if (!cur || (key && cur.key !== key)) return null;
    cur.abort(reason);
    return cur.id;
  }

  /**
   * `sctl rollback [ID]`: revert a committed transaction (by default the newest apply not yet reverted) as a new
   * transaction. The units it touched get their earlier definitions and run exactly when they ran before it; no
   * other unit is touched. Reverting a rollback does the apply it undid again. If that fails, the new transaction is
   * itself rolled back.
   */
  async revert(id: number | null, onProgress?: Progress): Promise<ApplyResult> {
    return this.exclusive(async () => {
      const journal = await this.journal();
      const target = id === null ? journal.lastCommitted() : journal.get(id);
      if (!target || target.result !== 'committed') {
        throw new ControlError('ENOTRANSACTION', id === null ? 'No committed apply to roll back (sctl history lists them).' : `Transaction ${id} is not a committed transaction (sctl history lists them).`);
      }
      const touched = new Set(Object.keys(target.before));
      const now: TxPlan = {
        kind: 'rollback',
        reverts: target.id,
        specFile: target.specBefore,
        specHash: target.specHash,
        policy: { ...target.policy, rollback: true },
        before: Object.fromEntries([...touched].map((n) => [n, this.d.units.get(n)?.spec ?? null])),
        after: target.before,
        active: this.activeSet(),
        specBefore: this.d.specFile,
        jobs: [],
      };
      const record = await journal.begin(now);
      const { failed } = await this.rollBack(record, target, journal, onProgress, { phase: 'apply', only: touched });
      if (!failed.length) await journal.setResult(record, 'committed');
      else {
        await journal.setResult(record, 'rolling-back');
        await journal.setResult(record, (await this.rollBack(record, now, journal, onProgress)).failed.length ? 'failed-rollback' : 'rolled-back');
      }
      return this.outcomeOf(record);
    }, false);
  }

  /**
   * A transaction a dead core left unfinished, resolved by its policy once the units are taken over: a rollback
   * under way carries on; a running apply is rolled back, or with OnCrash=resume finished. Either way the system
   * ends in the pre-state or the post-state, never a mixture.
   */
  async resolveUnfinished(): Promise<void> {
    const journal = await this.journal();
    const tx = journal.unfinished();
    if (!tx || this.busy) return;
    const resume = tx.result === 'running' && tx.policy.onCrash === 'resume';
    this.d.note(`transaction ${tx.id} was left ${tx.result} by the previous core: ${resume ? 'resuming it' : 'rolling it back'}`);
    await this.exclusive(async () => {
      if (resume) {
        const p = this.overlay(tx.after, tx.specFile);
        const { failed } = await this.run(tx.id, 'apply', p.anchors, journal, { key: tx.key ?? null, timeoutMs: tx.policy.timeoutMs, strict: tx.policy.strict, touched: new Set(Object.keys(tx.after)) });
        const planned = new Set(tx.jobs.map((j) => j.unit));
        if (!failed.some((r) => planned.has(r.unit))) return journal.setResult(tx.id, 'committed');
        if (!tx.policy.rollback) return journal.setResult(tx.id, 'failed');
      }
      await journal.setResult(tx.id, 'rolling-back');
      await journal.setResult(tx.id, (await this.rollBack(tx.id, tx, journal)).failed.length ? 'failed-rollback' : 'rolled-back');
    }, false);
  }

  /** Run `fn` when no other transaction runs: refused naming the running one, or (`wait`) queued behind it. */
  private async exclusive<T>(fn: () => Promise<T>, wait: boolean): Promise<T> {
    while (this.busy) {
      if (!wait) {
        const open = (await this.journal()).unfinished();
        const what = open ? `transaction ${open.id} (${open.specFile ?? 'no spec file'})` : 'another apply';
        throw new ControlError('EBUSY', `${what} is running: wait for it (sctl history), or use --wait to queue behind it`);
      }
      await this.busy.catch(() => undefined);
    }
    const run = fn();
    this.busy = run;
    try {
      return await run;
    } finally {
      this.busy = null;
    }
  }

  private async applyNow(desired: SystemSpec, onProgress: Progress | undefined, policy: TxPolicy, key: string | null): Promise<ApplyResult> {
    const p = this.d.plan(desired);
    if (p.error) throw new ControlError(p.error.code, p.error.message, p);
    if (isEmpty(p)) {
      this.d.install(desired, p);
      // Nothing journals it, yet it may change what only the state's meta row holds (the spec file, [manager]
      // DefaultEnvironment=): reply once that is saved, so a core that takes over has it.
      await new Promise<void>((r) => this.d.afterSave(r));
      return { plan: p, transaction: null, results: [], ok: true };
    }
    const journal = await this.journal();
    // Recorded before anything changes: what was in force, and what this installs.
    const recorded = { ...this.txPlan(desired, p, policy), key };
    const record = await journal.begin(recorded);
    this.d.install(desired, p);
    let reason: string | undefined;
    const { results, failed } = await this.run(record, 'apply', p.anchors, journal, { key, timeoutMs: policy.timeoutMs, strict: policy.strict, touched: touchedBy(p), onProgress, onAbort: (why) => (reason = why) });
    const outcome: ApplyResult = { plan: p, transaction: record, results, ok: !failed.length && !reason, ...(reason && { reason }) };
    if (outcome.ok || !policy.rollback) {
      await journal.setResult(record, outcome.ok ? 'committed' : 'failed');
      return outcome;
    }
    await journal.setResult(record, 'rolling-back');
    const back = await this.rollBack(record, recorded, journal, onProgress);
    await journal.setResult(record, back.failed.length ? 'failed-rollback' : 'rolled-back');
    return { ...outcome, rolledBack: !back.failed.length, rollback: back.results };
  }

  /**
   * The outcome of a transaction a dead core started for a request sent again: once it is resolved
   * (resolveUnfinished), what it came to.
   */
  private async outcomeOf(id: number): Promise<ApplyResult> {
    const journal = await this.journal();
    const open = () => OPEN.includes(journal.get(id)!.result);
    while (open()) await (this.busy?.catch(() => undefined) ?? new Promise((r) => setTimeout(r, 50)));
    const tx = journal.get(id)!;
    const saved = journal.savepoints(id);
    const of = (phase: string) => saved.filter((s) => s.phase === phase).map(({ unit, type, result }) => ({ unit, type, result }));
    const empty = { added: [], removed: [], changed: [], manager: [], anchors: [], jobs: tx.jobs, error: null };
    const rolledBack = tx.result === 'rolled-back' ? true : tx.result === 'failed-rollback' ? false : undefined;
    const reason = journal.errors(id).find((e) => !e.message.includes(': '))?.message;
    return {
      plan: empty,
      transaction: id,
      results: of('apply'),
      ok: tx.result === 'committed',
      ...(reason && { reason }),
      ...(rolledBack !== undefined && { rolledBack, rollback: of('rollback') }),
    };
  }

  /**
   * Put back what a failed transaction found: its touched units get their earlier definitions (an added one goes, a
   * removed one returns), and every unit it touched or ran a job for runs exactly when it ran before; no other unit
   * is looked at. Computed from the difference, not replayed; journaled with savepoints of its own.
   */
  private async rollBack(
    record: number,
    was: Pick<TxPlan, 'before' | 'active' | 'specBefore' | 'jobs'>,
    journal: Journal,
    onProgress?: Progress,
    how: { phase: 'apply' | 'rollback'; only?: Set<string> } = { phase: 'rollback' },
  ): Promise<Ran> {
    const p = this.overlay(was.before, was.specBefore);
    const active = new Set(was.active);
    const ran = journal.savepoints(record).filter((s) => s.phase === 'apply');
    const scope = how.only ?? new Set([...Object.keys(was.before), ...was.jobs.map((j) => j.unit), ...ran.map((s) => s.unit)]);
    const anchors: { unit: string; type: JobType }[] = [];
    for (const [name, u] of this.d.units) {
      if (!scope.has(name)) continue;
      const restart = p.changed.some((c) => c.unit === name && c.restart);
      // A unit on its way (a dead core's job, carried on by the adopted processes) gets a job too: the rollback's
      // result then waits for it, and says so if it fails.
      if (u.removed || !active.has(name)) {
        if (running(u) || u.active === 'deactivating') anchors.push({ unit: name, type: 'stop' });
      } else if (restart) anchors.push({ unit: name, type: running(u) ? 'restart' : 'start' });
      else if (!running(u) || u.active === 'activating') anchors.push({ unit: name, type: 'start' });
    }
    return this.run(record, how.phase, anchors, journal, { key: null, timeoutMs: 0, strict: true, onProgress });
  }

  /**
   * Jobs for `anchors` as one engine transaction, each completed job a savepoint of journal transaction `record`.
   * An apply phase can be cut short, by its timeout or abort(): what is left is canceled.
   */
  private async run(
    record: number,
    phase: 'apply' | 'rollback',
    anchors: { unit: string; type: JobType }[],
    journal: Journal,
    opts: { key: string | null; timeoutMs: number; strict: boolean; touched?: Set<string>; onProgress?: Progress; onAbort?: (reason: string) => void },
  ): Promise<Ran> {
    let timer: NodeJS.Timeout | undefined;
    let engineTx: number | undefined;
    const ran = await this.jobs(anchors, opts, (tx) => {
      engineTx = tx;
      // Saved with its jobs: a next core leaves them to the resolution of this transaction.
      this.d.journaled.set(tx, record);
      const abort = (reason: string) => {
        if (this.current?.id !== record) return;
        this.current = null;
        journal.error(record, reason);
        opts.onAbort?.(reason);
        this.d.engine.abort(tx);
      };
      if (phase === 'apply') this.current = { id: record, key: opts.key, abort };
      if (phase === 'apply' && opts.timeoutMs > 0) timer = setTimeout(() => abort(`timed out after ${opts.timeoutMs / 1000}s`), opts.timeoutMs);
      return (job, result) => journal.savepoint(record, { phase, unit: job.unit, type: job.type, result, time: this.d.now() });
    }, opts.onProgress, phase);
    clearTimeout(timer);
    if (engineTx !== undefined) this.d.journaled.delete(engineTx);
    if (this.current?.id === record) this.current = null;
    for (const r of ran.results.filter((x) => x.result !== 'done')) journal.error(record, `${phase}: ${r.type} ${r.unit}: ${r.result}`);
    return ran;
  }

  /**
   * Queue `anchors` as one engine transaction and wait for its jobs, reporting each as it completes. What failed: a
   * required job that did not succeed, or with `strict` a wanted one too, unless it was merely skipped. Required: a
   * job the anchors need (Requires=), or one on a unit the transaction adds or changes (the spec asks for it by
   * name); wanted: one pulled in only through Wants= (an untouched unit default.target wants, found stopped).
   */
  private async jobs(
    anchors: { unit: string; type: JobType }[],
    { strict, touched }: { strict: boolean; touched?: Set<string> },
    started: ((tx: number) => (job: { unit: string; type: JobType }, result: JobResult) => void) | null,
    onProgress?: Progress,
    phase: 'apply' | 'rollback' = 'apply',
  ): Promise<Ran> {
    if (!anchors.length) return { results: [], failed: [] };
    // Listening before the jobs are queued: some complete while they are (a target comes up at once).
    const early: [Job, JobResult][] = [];
    let report = (job: Job, result: JobResult) => void early.push([job, result]);
    const stop = this.d.onJob((job, result) => report(job, result));
    let tx: ReturnType<Daemon['enqueueChecked']>;
    try {
      tx = this.d.enqueueChecked(anchors, 'replace');
    } catch (err) {
      stop();
      throw err;
    }
    const each = started?.(tx.id);
    // By id: a job merged into one already queued keeps that one's transaction.
    const ids = new Set(tx.jobs.map((j) => j.id));
    const mine = early.filter(([job]) => ids.has(job.id));
    // The plan's jobs: those that complete at once as no-ops are not among them, nor reported.
    const total = tx.jobs.length - tx.noops;
    let done = 0;
    report = (job, result) => {
      if (!ids.has(job.id)) return;
      each?.(job, result);
      const names = this.d.engine.jobs().filter((j) => j.state === 'running').map((j) => j.unit);
      onProgress?.({ phase, done: ++done, total, unit: job.unit, type: job.type, result, running: names.slice(0, 3) });
    };
    for (const [job, result] of mine) report(job, result);
    try {
      const { results } = await this.d.engine.wait(tx.id);
      const required = new Set([...tx.jobs.filter((j) => j.matters).map((j) => j.unit), ...(touched ?? [])]);
      const failed = results.filter((r) => r.result !== 'done' && (required.has(r.unit) || (strict && r.result !== 'skipped')));
      return { results, failed };
    } finally {
      stop();
    }
  }

  /** Install the definitions in force with `defs` laid over them (null: the unit goes); returns the plan of it. */
  private overlay(defs: Definitions, specFile: string | null): Plan {
    // Units the core made (found mounts, Accept=yes instances) are no spec's: plan() leaves them alone.
    const units = Object.fromEntries([...this.d.units].filter(([, u]) => !u.removed && !u.spec.transient).map(([n, u]) => [n, u.next ?? u.spec]));
    for (const [name, def] of Object.entries(defs)) {
      if (def) units[name] = def;
      else delete units[name];
    }
    const desired: SystemSpec = { manager: this.d.manager!, units, files: specFile ? [specFile] : [] };
    const p = this.d.plan(desired);
    this.d.install(desired, p);
    return p;
  }

  private activeSet(): string[] {
    return [...this.d.units.values()].filter(running).map((u) => u.name);
  }

  /** What the journal keeps of an apply: the touched units before and after, the active set, the planned jobs. */
  private txPlan(desired: SystemSpec, p: Plan, policy: TxPolicy): TxPlan {
    const touched = [...p.added, ...p.changed.map((c) => c.unit), ...p.removed];
    const hash = createHash('sha256');
    for (const name of Object.keys(desired.units).sort()) hash.update(`${name}\0${configHash(desired.units[name])}\0`);
    return {
      kind: 'apply',
      reverts: null,
      specFile: desired.files[0] ?? null,
      specHash: hash.digest('hex').slice(0, 16),
      policy,
      before: Object.fromEntries(touched.map((n) => [n, this.d.units.get(n)?.spec ?? null])),
      after: Object.fromEntries(touched.map((n) => [n, desired.units[n] ?? null])),
      active: this.activeSet(),
      specBefore: this.d.specFile,
      jobs: p.jobs.map((j) => ({ unit: j.unit, type: j.type })),
    };
  }
}

/** The units an apply installs a definition for. */
const touchedBy = (p: Plan) => new Set([...p.added, ...p.changed.map((c) => c.unit)]);

/** A phase's jobs, and those of them that fail the transaction. */
interface Ran {
  results: JobOutcome[];
  failed: JobOutcome[];
}
