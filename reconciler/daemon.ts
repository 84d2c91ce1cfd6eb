import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createActor, type AnyActorRef, type AnyStateMachine, type Snapshot } from 'xstate';
import type { ActiveState, UnitContextBase } from '../machines/types.js';
import type { ForwardedEvent } from '../init/protocol.js';
import type { ManagerConfig, SystemSpec, UnitSpec } from '../specs/types.js';
import { Engine, type EngineHost } from '../transactions/engine.js';
import type { Job, JobMode, JobResult, JobType } from '../transactions/types.js';
import { buildAtomGraph } from '../units/atoms.js';
import { typeOfUnit } from '../units/index.js';
import type { UnitType } from '../units/types.js';
import { failedCondition } from './conditions.js';
import { Effects } from './effects.js';
import { LogStore, type LogRecord } from './logs.js';
import type { StatePaths } from './paths.js';
import { configHash, isEmpty, plan as makePlan, type Plan } from './plan.js';
import { ControlError } from './protocol.js';
import type { Definitions, Journal, TxPlan, TxPolicy } from './journal.js';
import { Requests } from './requests.js';
import type { ActorRow, CoreState, StateChange, StateStore, UnitDef } from './state.js';

/** Where `up` shows what happens: state changes and captured output. */
export interface Sink {
  line(r: LogRecord): void;
  state(unit: string, from: ActiveState, to: ActiveState, sub: string, result: string): void;
  note(message: string): void;
}

/** One loaded unit: its definition, its actor, and what the choke point last saw of it. */
export interface Unit {
  name: string;
  type: UnitType;
  spec: UnitSpec;
  hash: string;
  /** A new definition waiting for the unit to be inactive (applied before its next start). */
  next: UnitSpec | null;
  /** Dropped from the spec: forgotten once inactive. */
  removed: boolean;
  actor: AnyActorRef;
  active: ActiveState;
  sub: string;
  failures: number;
  since: number;
  timer: NodeJS.Timeout | null;
  timerAt: number | null;
}

export type UnitContext = UnitContextBase & Record<string, unknown>;

export interface ApplyProgress {
  done: number;
  total: number;
  unit: string;
  type: JobType;
  result: JobResult;
}

export interface ApplyResult {
  plan: Plan;
  transaction: number | null;
  results: { unit: string; type: JobType; result: JobResult }[];
  ok: boolean;
  /** After a failure: whether the rollback put everything back (absent when none ran). */
  rolledBack?: boolean;
}

/**
 * The core: one actor per unit, the job engine, and the single choke point (unitNotify) through which every public
 * state change flows.
 */
export class Daemon {
  readonly units = new Map<string, Unit>();
  readonly logs: LogStore;
  readonly engine: Engine;
  readonly effects: Effects;
  /** The spec file last applied: daemon-reload and SIGHUP re-read it. */
  specFile: string | null = null;
  /** Where the transaction journal is (set by startCore): every apply that changes something is recorded there. */
  journalFile: string | null = null;
  /** The [manager] settings of the spec in force. */
  manager: ManagerConfig | null = null;
  private journalOpen: Promise<Journal> | null = null;
  /** The highest exit from init whose effect is in the state (exactly-once delivery). */
  eventSeq = 0;
  private pending: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private lastSave = { end: 0, took: 0 };
  /** What the next save writes: units whose definition changed, units whose actor moved, and whether all of it. */
  private changedDefs = new Set<string>();
  private changedActors = new Set<Unit>();
  private readonly requests = new Requests();
  /** The first write replaces whatever the file held (another init's state, or none) unless restore() took it. */
  private whole = true;
  /** Effects waiting for the state that asked for them to be durable, then what waits for the write itself. */
  private deferred: (() => void)[] = [];
  private saved: (() => void)[] = [];
  private graph = buildAtomGraph({});
  private jobListeners = new Set<(job: Job, result: JobResult) => void>();
  private changeListeners = new Set<(u: Unit) => void>();
  private applying: Promise<unknown> | null = null;
  private machines = new Map<UnitType, AnyStateMachine>();
  private byActor = new WeakMap<AnyActorRef, Unit>();

  /**
   * Every change is written to `store` (owned by the init `owner`), and effects wait until it is: a new core then
   * knows what may have happened (docs/recovery.md).
   */
  constructor(
    readonly paths: StatePaths,
    readonly env: NodeJS.ProcessEnv,
    private readonly store: StateStore,
    private readonly owner: string,
    readonly sink: Sink | null = null,
  ) {
    this.logs = new LogStore(paths.logs);
    // The sink shows the units' output as it is captured; the manager's own notes reach it through note().
    if (sink) this.logs.subscribe((r) => r.stream !== 'manager' && sink.line(r));
    this.effects = new Effects(this);
    const host: EngineHost = {
      graph: () => this.graph,
      view: (name) => {
        const u = this.units.get(name);
        return u ? { active: u.active, canReload: u.type.canReload(u.spec.config) } : undefined;
      },
      begin: (job, action) => this.begin(job, action),
      finished: (job, result) => {
        for (const l of this.jobListeners) l(job, result);
      },
      warn: (message: string) => this.note(message),
      recorded: (tx, entry) => this.requests.recorded(tx, entry),
    };
    this.engine = new Engine(host);
    this.onJob(() => this.schedule());
    this.schedule();
  }

  now(): number {
    return Date.now();
  }

  unit(name: string): Unit {
    const u = this.units.get(name);
    if (!u) throw new ControlError('ENOUNIT', `Unit ${name} not found.`);
    return u;
  }

  context(u: Unit): UnitContext {
    return (u.actor.getSnapshot() as { context: UnitContext }).context;
  }

  note(message: string): void {
    this.sink?.note(message);
    this.logs.add({ time: this.now(), unit: 'sysmaster', pid: process.pid, stream: 'manager', message });
  }

  onChange(fn: (u: Unit) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  /** Run an effect once the state that asked for it is durable. */
  defer(effect: () => void): void {
    this.deferred.push(effect);
    this.schedule();
  }

  /** Call `fn` after the next write (acknowledgements to init). */
  afterSave(fn: () => void): void {
    this.saved.push(fn);
    this.schedule();
  }

  private schedule(): void {
    if (this.pending) return;
    // Saves take at most 1/(1+SAVE_GAP) of the loop (the export copies the whole database): under a burst each one carries more changes, not more saves.
    const wait = this.lastSave.end + this.lastSave.took * SAVE_GAP - performance.now();
    this.pending = wait > 0 ? setTimeout(() => this.flush(), wait) : setImmediate(() => this.flush());
  }

  /** One write for everything that changed since the last, then the effects and acks that waited for it. */
  flush(): void {
    if (this.pending) {
      clearTimeout(this.pending as NodeJS.Timeout);
      clearImmediate(this.pending as NodeJS.Immediate);
    }
    this.pending = null;
    const start = performance.now();
    this.store.save(this.change());
    this.lastSave = { end: performance.now(), took: performance.now() - start };
    const effects = this.deferred.splice(0);
    const saved = this.saved.splice(0);
    for (const fx of effects) fx();
    for (const fn of saved) fn();
  }

  /** What changed since the last save. */
  private change(): StateChange {
    const whole = this.whole;
    const names = whole ? [...this.units.keys()] : [...this.changedDefs];
    const moved = whole ? [...this.units.values()] : [...this.changedActors];
    const requests = whole || this.requests.changed ? this.requests.rows() : null;
    this.whole = false;
    this.changedDefs.clear();
    this.changedActors.clear();
    this.requests.changed = false;
    const live = names.filter((n) => this.units.has(n));
    return {
      ...this.meta(),
      whole,
      defs: live.map((n) => this.def(this.units.get(n)!)),
      actors: moved.filter((u) => this.units.get(u.name) === u).map((u) => this.actorRow(u)),
      gone: names.filter((n) => !this.units.has(n)),
      jobs: this.jobRows(),
      requests,
    };
  }

  private meta() {
    return { owner: this.owner, specFile: this.specFile, eventSeq: this.eventSeq, manager: this.manager };
  }

  private def(u: Unit): UnitDef {
    return { name: u.name, spec: u.spec, next: u.next, removed: u.removed, machine: u.type.name, hash: u.hash };
  }

  /** The snapshot without its config: the definition holds that, and restore() puts it back. */
  private actorRow(u: Unit): ActorRow {
    const snap = u.actor.getPersistedSnapshot() as unknown as { context: { config?: unknown } };
    const { config: _, ...context } = snap.context;
    // The effects it asked for that are still under way go with it (the actors table has no column for them).
    const effects = this.effects.requestedOf(u);
    return { name: u.name, snapshot: { ...snap, context, ...(effects && { effects }) }, starts: this.effects.startsOf(u) };
  }

  private jobRows() {
    return this.engine.jobs().map((j) => ({ unit: j.unit, type: j.type, mode: 'replace' }));
  }

  /** The definition of `name` changed (or it is gone): the next save writes it. */
  private redefined(name: string): void {
    this.changedDefs.add(name);
    this.schedule();
  }

  /**
   * Take over from a dead core: re-create every actor from its snapshot, re-arm its timer, re-adopt its processes,
   * and queue its jobs again. Returns the pids the snapshots name that are gone without an exit status: the caller
   * reports them once init's buffered exits have been applied (docs/recovery.md).
   */
  restore(state: CoreState): { unit: string; pid: number }[] {
    this.specFile = state.specFile;
    this.eventSeq = state.eventSeq;
    this.manager = state.manager as ManagerConfig | null;
    // The effects each unit's state had asked for that were still under way (actorRow()).
    const requested = new Map<string, Parameters<Effects['adopt']>[2]>();
    for (const row of state.units) {
      const spec = row.spec as UnitSpec;
      const u = this.blank(spec, row.hash);
      u.next = row.next as UnitSpec | null;
      u.removed = row.removed;
      const { effects, ...snap } = row.snapshot as { context: object; effects?: Parameters<Effects['adopt']>[2] };
      requested.set(u.name, effects);
      this.spawnActor(u, { ...snap, context: { ...snap.context, config: spec.config } });
      this.units.set(u.name, u);
    }
    // The file holds these very rows: only what moves from here on is written again.
    this.whole = false;
    this.changedActors.clear();
    this.regraph();
    const gone: { unit: string; pid: number }[] = [];
    const startsOf = new Map(state.units.map((r) => [r.name, r.starts]));
    for (const u of this.units.values()) {
      for (const pid of this.effects.adopt(u, startsOf.get(u.name) ?? {}, requested.get(u.name))) gone.push({ unit: u.name, pid });
      this.follow(u, u.actor.getSnapshot() as Snapshot<unknown>);
    }
    for (const j of state.jobs) {
      try {
        this.engine.enqueue([{ unit: j.unit, type: j.type as JobType }], 'replace');
      } catch (err) {
        this.note(`could not queue again ${j.type} ${j.unit}: ${(err as Error).message}`);
      }
    }
    // A client's unfinished request waits again for what it still needs: the jobs just queued (a restart past its
    // stop phase is a start now), so the retry joins them instead of adding its own.
    const queued = new Map(this.engine.jobs().map((j) => [j.unit, j.type]));
    for (const r of this.requests.restore(state.requests)) {
      const anchors = r.pending.filter((e) => queued.has(e.unit)).map((e) => ({ unit: e.unit, type: queued.get(e.unit)! }));
      try {
        const tx = anchors.length ? this.engine.enqueue(anchors, 'replace') : null;
        const done = tx ? this.engine.wait(tx.id) : Promise.resolve({ id: 0, results: [] });
        this.requests.add(r.key, tx?.id ?? 0, tx?.entries ?? [], done, r.before);
      } catch (err) {
        this.note(`could not resume request ${r.key}: ${(err as Error).message}`);
      }
    }
    return gone;
  }

  /** A process the snapshot named that is gone with no exit status anyone kept: its end is reported as unknown. */
  lostProcess(unit: string, pid: number): void {
    const u = this.units.get(unit);
    if (!u) return;
    const ctx = this.context(u);
    if (ctx.mainPid !== pid && ctx.controlPid !== pid) return;
    this.note(`${unit}: process ${pid} ended while no core ran and its status was lost`);
    this.send(u, { type: 'EXIT', pid, code: 0, signal: null, core: false });
  }

  /** An event from init (a reaped exit, a notify datagram), numbered: applied once, acknowledged once durable. */
  applyEvent(event: ForwardedEvent, ack: (seq: number) => void): void {
    if (event.seq > this.eventSeq) {
      this.eventSeq = event.seq;
      if (event.kind === 'exit') this.effects.reaped(event);
      else this.effects.notify(event);
    }
    this.afterSave(() => ack(event.seq));
  }

  /** The actual state plan() compares the desired spec with. */
  actual() {
    return { units: Object.fromEntries([...this.units].map(([n, u]) => [n, { spec: u.spec, active: u.active }])) };
  }

  plan(desired: SystemSpec): Plan {
    return makePlan(desired, this.actual());
  }

  /**
   * Bring the system to `desired`: install the definitions, then run the plan's jobs as one transaction.
   * A plan that cannot be built changes nothing. One apply at a time.
   */
  /**
   * `boot`: the bring-up of a first start (`up`, init's --spec). Like systemd's boot it is finished, not undone: a
   * failed unit stays failed (no rollback), and a core that dies during it is followed by one that resumes it.
   */
  async apply(desired: SystemSpec, onProgress?: (p: ApplyProgress) => void, opts: { rollback?: boolean; key?: string; boot?: boolean; wait?: boolean } = {}): Promise<ApplyResult> {
    const retried = opts.key ? (await this.journal())?.byKey(opts.key) : null;
    if (retried) return this.outcomeOf(retried.id);
    // One transaction at a time: refused, naming the running one, or (`--wait`) queued behind it.
    while (this.applying) {
      if (!opts.wait) {
        const running = (await this.journal())?.unfinished();
        const what = running ? `transaction ${running.id} (${running.specFile ?? 'no spec file'})` : 'another apply';
        throw new ControlError('EBUSY', `${what} is running: wait for it (sctl history), or use --wait to queue behind it`);
      }
      await this.applying.catch(() => undefined);
    }
    const policy = opts.boot ? { rollback: false, onCrash: 'resume' as const } : { rollback: opts.rollback ?? true, onCrash: desired.manager.OnCrash };
    const run = this.applyNow(desired, onProgress, policy, opts.key ?? null);
    this.applying = run;
    try {
      return await run;
    } finally {
      this.applying = null;
    }
  }

  /**
   * The outcome of a transaction a dead core started for a request sent again: once it is resolved
   * (resolveUnfinished), what it came to.
   */
  private async outcomeOf(id: number): Promise<ApplyResult> {
    const journal = (await this.journal())!;
    const open = () => ['running', 'rolling-back'].includes(journal.get(id)!.result);
    while (open()) await (this.applying?.catch(() => undefined) ?? new Promise((r) => setTimeout(r, 50)));
    const tx = journal.get(id)!;
    const results = journal.savepoints(id).filter((s) => s.phase === 'apply').map(({ unit, type, result }) => ({ unit, type, result }));
    const empty = { added: [], removed: [], changed: [], anchors: [], jobs: tx.jobs } as unknown as Plan;
    const rolledBack = tx.result === 'rolled-back' ? true : tx.result === 'failed-rollback' ? false : undefined;
    return { plan: empty, transaction: id, results, ok: tx.result === 'committed', ...(rolledBack !== undefined && { rolledBack }) };
  }

  private async applyNow(
    desired: SystemSpec,
    onProgress: ((p: ApplyProgress) => void) | undefined,
    policy: Pick<TxPolicy, 'rollback' | 'onCrash'>,
    key: string | null,
  ): Promise<ApplyResult> {
    const rollback = policy.rollback;
    const p = this.plan(desired);
    if (p.error) throw new ControlError(p.error.code, p.error.message, p);
    if (isEmpty(p)) {
      this.install(desired, p);
      return { plan: p, transaction: null, results: [], ok: true };
    }
    // Recorded before anything changes: what was in force, and what this installs (docs/transactions.md).
    const journal = await this.journal();
    const recorded = { ...this.txPlan(desired, p, policy), key };
    const record = journal?.begin(recorded);
    this.install(desired, p);
    const tx = this.enqueueChecked(p.anchors, 'replace');
    let done = 0;
    const total = tx.jobs.length;
    const stop = this.onJob((job, result) => {
      if (job.transaction !== tx.id) return;
      if (record) journal!.savepoint(record, { phase: 'apply', unit: job.unit, type: job.type, result, time: this.now() });
      onProgress?.({ done: ++done, total, unit: job.unit, type: job.type, result });
    });
    try {
      const out = await this.engine.wait(tx.id);
      const ok = out.results.every((r) => r.result === 'done' || !tx.jobs.find((j) => j.unit === r.unit)?.matters);
      if (record) {
        for (const r of out.results.filter((x) => x.result !== 'done')) journal!.error(record, `${r.type} ${r.unit}: ${r.result}`);
        if (ok || !rollback) journal!.setResult(record, ok ? 'committed' : 'failed');
        else {
          journal!.setResult(record, 'rolling-back');
          const back = await this.rollBack(record, recorded, journal!);
          journal!.setResult(record, back ? 'rolled-back' : 'failed-rollback');
          return { plan: p, transaction: record, results: out.results, ok, rolledBack: back };
        }
      }
      return { plan: p, transaction: record ?? tx.id, results: out.results, ok };
    } finally {
      stop();
    }
  }

  /**
   * Put back what a failed transaction found (docs/transactions.md, Rollback): its touched units get their earlier
   * definitions (an added one goes, a removed one returns), and every unit runs exactly when it ran before. Computed
   * from the difference, not replayed; journaled with savepoints of its own. True when every job of it succeeded.
   */
  private async rollBack(record: number, was: Pick<TxPlan, 'before' | 'active' | 'specBefore'>, journal: Journal, how: { phase: 'apply' | 'rollback'; only?: Set<string> } = { phase: 'rollback' }): Promise<boolean> {
    const p = this.overlay(was.before, was.specBefore);
    const active = new Set(was.active);
    const anchors: { unit: string; type: JobType }[] = [];
    for (const [name, u] of this.units) {
      if (how.only && !how.only.has(name)) continue;
      const restart = p.changed.some((c) => c.unit === name && c.restart);
      if (u.removed || !active.has(name)) {
        if (running(u.active)) anchors.push({ unit: name, type: 'stop' });
      } else if (!running(u.active)) anchors.push({ unit: name, type: 'start' });
      else if (restart) anchors.push({ unit: name, type: 'restart' });
    }
    const results = await this.runJournaled(record, how.phase, anchors, journal);
    return results.every((r) => r.result === 'done');
  }

  /**
   * `sctl rollback [ID]`: revert a committed apply (the newest not yet reverted by default) as a new transaction.
   * The units it touched get their earlier definitions and run exactly when they ran before it; no other unit is
   * touched. If that fails, the new transaction is itself rolled back.
   */
  async revert(id: number | null, onProgress?: (p: ApplyProgress) => void): Promise<ApplyResult> {
    if (this.applying) throw new ControlError('EBUSY', 'another apply is running; try again when it has finished');
    const run = (async (): Promise<ApplyResult> => {
      const journal = await this.journal();
      if (!journal) throw new ControlError('ENOJOURNAL', 'this manager keeps no transaction journal');
      const target = id === null ? journal.lastCommitted() : journal.get(id);
      if (!target || target.kind !== 'apply' || target.result !== 'committed') {
        throw new ControlError('ENOTRANSACTION', id === null ? 'No committed apply to roll back (sctl history lists them).' : `Transaction ${id} is not a committed apply (sctl history lists them).`);
      }
      const touched = new Set(Object.keys(target.before));
      const now: TxPlan = {
        kind: 'rollback',
        reverts: target.id,
        specFile: target.specBefore,
        specHash: target.specHash,
        policy: { ...target.policy, rollback: true },
        before: Object.fromEntries([...touched].map((n) => [n, this.units.get(n)?.spec ?? null])),
        after: target.before,
        active: [...this.units.values()].filter((u) => running(u.active)).map((u) => u.name),
        specBefore: this.specFile,
        jobs: [],
      };
      const record = journal.begin(now);
      const stop = this.onJob((job, result) => onProgress?.({ done: 0, total: 0, unit: job.unit, type: job.type, result }));
      try {
        const ok = await this.rollBack(record, target, journal, { phase: 'apply', only: touched });
        if (ok) journal.setResult(record, 'committed');
        else {
          journal.setResult(record, 'rolling-back');
          journal.setResult(record, (await this.rollBack(record, now, journal)) ? 'rolled-back' : 'failed-rollback');
        }
        return this.outcomeOf(record);
      } finally {
        stop();
      }
    })();
    this.applying = run;
    try {
      return await run;
    } finally {
      this.applying = null;
    }
  }

  /** Install the definitions in force with `defs` laid over them (null: the unit goes); returns the plan of it. */
  private overlay(defs: Definitions, specFile: string | null): Plan {
    const units = Object.fromEntries([...this.units].filter(([, u]) => !u.removed).map(([n, u]) => [n, u.next ?? u.spec]));
    for (const [name, def] of Object.entries(defs)) {
      if (def) units[name] = def;
      else delete units[name];
    }
    const desired: SystemSpec = { manager: this.manager!, units, files: specFile ? [specFile] : [] };
    const p = this.plan(desired);
    this.install(desired, p);
    return p;
  }

  /** Jobs for `anchors` as one engine transaction, each completed job a savepoint of journal transaction `record`. */
  private async runJournaled(record: number, phase: 'apply' | 'rollback', anchors: { unit: string; type: JobType }[], journal: Journal) {
    if (!anchors.length) return [];
    const tx = this.enqueueChecked(anchors, 'replace');
    const stop = this.onJob((job, result) => {
      if (job.transaction === tx.id) journal.savepoint(record, { phase, unit: job.unit, type: job.type, result, time: this.now() });
    });
    try {
      const out = await this.engine.wait(tx.id);
      for (const r of out.results.filter((x) => x.result !== 'done')) journal.error(record, `${phase}: ${r.type} ${r.unit}: ${r.result}`);
      return out.results;
    } finally {
      stop();
    }
  }

  /**
   * A transaction a dead core left unfinished, resolved by its policy once the units are taken over
   * (docs/transactions.md): a rollback under way carries on; a running apply is rolled back, or with
   * OnCrash=resume finished. Either way the system ends in the pre-state or the post-state, never a mixture.
   */
  async resolveUnfinished(): Promise<void> {
    const journal = await this.journal();
    const tx = journal?.unfinished();
    if (!journal || !tx || this.applying) return;
    this.note(`transaction ${tx.id} was left ${tx.result} by the previous core: ${tx.result === 'running' && tx.policy.onCrash === 'resume' ? 'resuming it' : 'rolling it back'}`);
    const run = (async () => {
      if (tx.result === 'running' && tx.policy.onCrash === 'resume') {
        const p = this.overlay(tx.after, tx.specFile);
        const results = await this.runJournaled(tx.id, 'apply', p.anchors, journal);
        const failed = results.some((r) => r.result !== 'done' && tx.jobs.some((j) => j.unit === r.unit));
        if (!failed) return journal.setResult(tx.id, 'committed');
        if (!tx.policy.rollback) return journal.setResult(tx.id, 'failed');
      }
      journal.setResult(tx.id, 'rolling-back');
      journal.setResult(tx.id, (await this.rollBack(tx.id, tx, journal)) ? 'rolled-back' : 'failed-rollback');
    })();
    this.applying = run;
    try {
      await run;
    } finally {
      this.applying = null;
    }
  }

  /** The journal, opened on first use: a core taking over does not pay for it. */
  journal(): Promise<Journal | null> {
    if (!this.journalFile) return Promise.resolve(null);
    this.journalOpen ??= import('./journal.js').then((m) => m.Journal.open(this.journalFile!));
    return this.journalOpen;
  }

  /** What the journal keeps of an apply: the touched units before and after, the active set, the planned jobs. */
  private txPlan(desired: SystemSpec, p: Plan, policy: Pick<TxPolicy, 'rollback' | 'onCrash'>): TxPlan {
    const touched = [...p.added, ...p.changed.map((c) => c.unit), ...p.removed];
    const hash = createHash('sha256');
    for (const name of Object.keys(desired.units).sort()) hash.update(`${name}\0${configHash(desired.units[name])}\0`);
    return {
      kind: 'apply',
      reverts: null,
      specFile: desired.files[0] ?? null,
      specHash: hash.digest('hex').slice(0, 16),
      policy: { ...policy, timeoutMs: 0, strict: false },
      before: Object.fromEntries(touched.map((n) => [n, this.units.get(n)?.spec ?? null])),
      after: Object.fromEntries(touched.map((n) => [n, desired.units[n] ?? null])),
      active: [...this.units.values()].filter((u) => running(u.active)).map((u) => u.name),
      specBefore: this.specFile,
      jobs: p.jobs.map((j) => ({ unit: j.unit, type: j.type })),
    };
  }

  /**
   * Run jobs for units (sctl start/stop/...): resolves with each job's result. A `key` names the client's request:
   * the same key again (a retry after the core died) gets the first request's jobs, never new ones (requests.ts).
   */
  async run(anchors: { unit: string; type: JobType }[], mode: JobMode, key?: string) {
    const known = key ? this.requests.find(key) : null;
    if (known) return { id: known.tx, jobs: [], done: known.outcome };
    for (const a of anchors) this.unit(a.unit);
    const tx = this.enqueueChecked(anchors, mode);
    const done = this.engine.wait(tx.id);
    return { id: tx.id, jobs: tx.jobs, done: key ? this.requests.add(key, tx.id, tx.entries, done) : done };
  }

  /** Stop every unit, dependents first (the engine orders stops in reverse). */
  async stopAll(): Promise<void> {
    // Every unit, idle ones too: their stop jobs replace start jobs still queued for them.
    const anchors = [...this.units.values()].map((u) => ({ unit: u.name, type: 'stop' as const }));
    if (!anchors.length) return;
    const tx = this.enqueueChecked(anchors, 'replace');
    await this.engine.wait(tx.id);
  }

  onJob(fn: (job: Job, result: JobResult) => void): () => void {
    this.jobListeners.add(fn);
    return () => this.jobListeners.delete(fn);
  }

  private enqueueChecked(anchors: { unit: string; type: JobType }[], mode: JobMode) {
    try {
      return this.engine.enqueue(anchors, mode);
    } catch (err) {
      const e = err as { code?: string; message: string };
      throw new ControlError(e.code ?? 'ETRANSACTION', e.message);
    }
  }

  /** Put the plan's definitions in place. Running units that must restart get theirs at their next start. */
  private install(desired: SystemSpec, p: Plan): void {
    this.specFile = desired.files[0] ?? null;
    this.manager = desired.manager;
    for (const name of p.added) this.units.set(name, this.create(desired.units[name]));
    for (const d of p.changed) {
      const u = this.units.get(d.unit)!;
      const spec = desired.units[d.unit];
      if (d.restart && !this.idle(u)) {
        u.next = spec;
        this.redefined(u.name);
      } else this.redefine(u, spec, d.restart);
    }
    for (const name of p.removed) {
      const u = this.units.get(name)!;
      u.removed = true;
      this.redefined(name);
      if (this.idle(u)) this.forget(u);
    }
    this.regraph();
  }

  private regraph(): void {
    this.graph = buildAtomGraph(Object.fromEntries([...this.units].map(([n, u]) => [n, (u.next ?? u.spec).config])));
  }

  private idle(u: Unit): boolean {
    return u.active === 'inactive' || u.active === 'failed';
  }

  private create(spec: UnitSpec): Unit {
    const u = this.blank(spec);
    this.spawnActor(u);
    this.redefined(u.name);
    return u;
  }

  private blank(spec: UnitSpec, hash = configHash(spec)): Unit {
    const type = typeOfUnit(spec.name);
    return {
      name: spec.name,
      type,
      spec,
      hash,
      next: null,
      removed: false,
      active: 'inactive',
      sub: 'dead',
      failures: 0,
      timer: null,
      timerAt: null,
    } as unknown as Unit;
  }

  /** Each type's machine with the real effects, provided once (provide() re-processes the whole statechart). */
  private machine(type: UnitType): AnyStateMachine {
    let m = this.machines.get(type);
    if (!m) this.machines.set(type, (m = type.machine.provide({ actions: this.effects.actions() } as never)));
    return m;
  }

  unitOf(actor: AnyActorRef): Unit {
    const u = this.byActor.get(actor);
    if (!u) throw new Error(`no unit owns actor ${actor.id}`);
    return u;
  }

  private spawnActor(u: Unit, snapshot?: unknown): void {
    const input = { config: u.spec.config, now: this.now() };
    u.actor = createActor(this.machine(u.type), snapshot ? { snapshot: snapshot as Snapshot<unknown>, input } : { input });
    this.byActor.set(u.actor, u);
    this.changedActors.add(u);
    u.active = u.type.activeState(u.actor.getSnapshot() as Snapshot<unknown>);
    u.sub = u.type.subState(u.actor.getSnapshot() as Snapshot<unknown>);
    u.failures = 0;
    u.since = (u.actor.getSnapshot() as unknown as { context: UnitContext }).context.since;
    u.actor.subscribe((snap: Snapshot<unknown>) => this.observe(u, snap));
    u.actor.start();
  }

  /** A new definition for an idle unit (or one whose change applies live). */
  private redefine(u: Unit, spec: UnitSpec, fresh: boolean): void {
    u.spec = spec;
    u.hash = configHash(spec);
    u.next = null;
    this.redefined(u.name);
    if (fresh) {
      this.disarm(u);
      u.actor.stop();
      this.spawnActor(u);
    }
  }

  private forget(u: Unit): void {
    this.disarm(u);
    this.effects.track(u, null, null);
    u.actor.stop();
    this.units.delete(u.name);
    this.redefined(u.name);
    this.regraph();
  }

  /** Every snapshot of every actor comes through here; public changes go on to unitNotify. */
  private observe(u: Unit, snap: Snapshot<unknown>): void {
    this.changedActors.add(u);
    this.schedule();
    this.follow(u, snap);
  }

  /** Keep the unit's pids, timer and public state in step with its machine's snapshot. */
  private follow(u: Unit, snap: Snapshot<unknown>): void {
    const ctx = (snap as unknown as { context: UnitContext }).context;
    const active = u.type.activeState(snap);
    const failed = ctx.failures > u.failures;
    // A public change the state name cannot show (a oneshot with nothing to run goes dead → dead) still moves since.
    const moved = ctx.since !== u.since;
    const from = u.active;
    u.sub = u.type.subState(snap);
    u.failures = ctx.failures;
    u.since = ctx.since;
    this.effects.track(u, pidOf(ctx.mainPid), pidOf(ctx.controlPid));
    this.arm(u, ctx.deadline);
    if (active !== from || failed || moved) {
      u.active = active;
      this.unitNotify(u, from, active, failed, ctx);
    }
  }

  /** The choke point: every public state change completes jobs, propagates, and is shown, here and only here. */
  private unitNotify(u: Unit, from: ActiveState, to: ActiveState, failed: boolean, ctx: UnitContext): void {
    this.sink?.state(u.name, from, to, u.sub, ctx.result);
    if (u.next && this.idle(u)) {
      this.redefine(u, u.next, true);
      this.regraph();
    }
    const reloadOk = from === 'reloading' ? ctx.reloadResult !== 'failed' : undefined;
    this.engine.unitChanged(u.name, { from, to, failed, reloadOk });
    if (u.removed && this.idle(u) && this.units.get(u.name) === u) this.forget(u);
    for (const l of this.changeListeners) l(u);
  }

  /**
   * The engine's begin(): hand the job to the unit's machine, at once. (Deferring the event would let a later job,
   * a stop that replaced this start, act first and then be undone by the late START.) The engine accepts
   * unitChanged() from inside begin().
   */
  private begin(job: Job, action: 'start' | 'stop' | 'reload'): JobResult | null {
    const u = this.units.get(job.unit);
    if (!u) return 'failed';
    if (action === 'start') {
      if (u.active === 'active' || u.active === 'reloading') return 'done';
      if (u.next && this.idle(u)) {
        this.redefine(u, u.next, true);
        this.regraph();
      }
      const cond = failedCondition(u.spec.config, this.env);
      if (cond) {
        this.note(`${u.name}: condition ${cond} not met, not starting`);
        return 'done';
      }
    }
    if (action === 'stop' && this.idle(u)) return 'done';
    if (action === 'reload' && u.active !== 'active') return 'failed';
    const type = action === 'start' ? 'START' : action === 'stop' ? 'STOP' : 'RELOAD';
    this.send(u, { type });
    return null;
  }

  send(u: Unit, event: { type: string; [k: string]: unknown }): void {
    if (this.units.get(u.name) !== u) return;
    u.actor.send({ ...event, now: this.now() });
  }

  private arm(u: Unit, deadline: number | null): void {
    if (deadline === u.timerAt) return;
    this.disarm(u);
    if (deadline === null || !Number.isFinite(deadline)) return;
    u.timerAt = deadline;
    const actor = u.actor;
    u.timer = setTimeout(
      () => {
        u.timer = null;
        u.timerAt = null;
        if (u.actor === actor) this.send(u, { type: 'TIMEOUT' });
      },
      Math.max(0, deadline - this.now()),
    );
  }

  private disarm(u: Unit): void {
    if (u.timer) clearTimeout(u.timer);
    u.timer = null;
    u.timerAt = null;
  }

  /** Read a file the spec came from, for `sctl cat`. */
  source(u: Unit): string {
    const lines = fs.readFileSync(u.spec.where.file, 'utf8').split('\n');
    const start = u.spec.where.line - 1;
    const own = lines[start]?.trim().replace(/^\[|\]$/g, '') ?? '';
    let end = start + 1;
    while (end < lines.length) {
      const m = /^\s*\[+\s*([^\]]+?)\s*\]+/.exec(lines[end]);
      if (m && !m[1].startsWith(own + '.')) break;
      end++;
    }
    while (end > start + 1 && !lines[end - 1].trim()) end--;
    return `# ${u.spec.where.file}:${u.spec.where.line}\n${lines.slice(start, end).join('\n')}\n`;
  }

  close(): void {
    for (const u of this.units.values()) {
      this.disarm(u);
      u.actor.stop();
    }
    this.logs.close();
  }
}

/** The pause after a save, in multiples of how long it took (see schedule()). */
const SAVE_GAP = 3;

/** Running, or on its way to it: what "was active" means for a rollback. */
const running = (s: ActiveState) => s === 'active' || s === 'activating' || s === 'reloading';

const pidOf = (v: unknown): number | null => (typeof v === 'number' && v > 0 ? v : null);
