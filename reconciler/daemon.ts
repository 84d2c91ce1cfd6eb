import fs from 'node:fs';
import { createActor, type AnyActorRef, type AnyStateMachine, type Snapshot } from 'xstate';
import type { ActiveState, UnitContextBase } from '../machines/types.js';
import type { ForwardedEvent } from '../init/protocol.js';
import type { ManagerConfig, SystemSpec, UnitSpec } from '../specs/types.js';
import { Engine, type EngineHost } from '../transactions/engine.js';
import type { UnitView } from '../transactions/build.js';
import type { Job, JobMode, JobResult, JobType } from '../transactions/types.js';
import { buildAtomGraph } from '../units/atoms.js';
import { typeOfUnit, unitTypes } from '../units/index.js';
import type { TypeEffects, UnitRuntime } from '../units/runtime.js';
import type { UnitType } from '../units/types.js';
import { failedCondition } from './conditions.js';
import { unitAction, type ActionRequest } from './actions.js';
import { Transactions } from './apply.js';
import { Effects } from './effects.js';
import { LoggerClient } from '../logger/client.js';
import type { LogRecord } from '../logger/store.js';
import type { StatePaths } from './paths.js';
import { checkLimits } from './unit-cgroups.js';
import { configHash, plan as makePlan, type Plan } from './plan.js';
import { ControlError } from './protocol.js';
import { Requests } from './requests.js';
import { unitRuntime } from './runtime.js';
import type { ActorRow, CoreState, StateChange, StateStore, UnitDef } from './state.js';

/** Where `up` shows what happens: state changes and captured output. */
export interface Sink {
  line(r: LogRecord): void;
  /** The units whose lines it shows (the spec's, not found mounts and devices): it pads names to the longest. */
  widen(names: string[]): void;
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

/**
 * The core: one actor per unit, the job engine, and the single choke point (unitNotify) through which every public
 * state change flows.
 */
export class Daemon {
  readonly units = new Map<string, Unit>();
  /** The log process (logger/): it reads the units' output and keeps the records. */
  readonly logs: LoggerClient;
  readonly engine: Engine;
  readonly effects: Effects;
  /** Whole-system transactions: apply, rollback, and what a dead core left open (apply.ts). */
  readonly transactions: Transactions;
  /** The spec file last applied: daemon-reload and SIGHUP re-read it. */
  specFile: string | null = null;
  /** The [manager] settings of the spec in force. */
  manager: ManagerConfig | null = null;
  /** Where a unit's SuccessAction= / FailureAction= goes (set by the core's main: it stops everything and exits). */
  onAction: ((request: ActionRequest) => void) | null = null;
  /** Engine transactions that run for a journal transaction (apply.ts): their jobs are saved with its id. */
  readonly journaled = new Map<number, number>();
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
  private readonly views = new WeakMap<Unit, UnitView>();
  private machines = new Map<UnitType, AnyStateMachine>();
  /** What unit types other than service get their effects from (units/runtime.ts), and those effects by type. */
  readonly runtime: UnitRuntime;
  private typeEffects = new Map<UnitType, TypeEffects>();
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
    // The log process shows the units' output on the console itself; the sink shows the manager's notes and states.
    const console = env.SYSMASTER_UP === 'prefix' || env.SYSMASTER_UP === 'plain' ? env.SYSMASTER_UP : null;
    this.logs = new LoggerClient(paths.dir, console, (message) => this.note(message));
    this.effects = new Effects(this);
    this.transactions = new Transactions(this);
    this.runtime = unitRuntime(this);
    const host: EngineHost = {
      graph: () => this.graph,
      view: (name) => {
        const u = this.units.get(name);
        if (!u) return undefined;
        // One live view per unit: the engine asks for `active` on every dispatch, for every job.
        let view = this.views.get(u);
        if (!view) {
          view = { get active() { return u.active; }, get canReload() { return u.type.canReload(u.spec.config); } };
          this.views.set(u, view);
        }
        return view;
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
    this.logs.add(message, this.now());
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
    return { owner: this.owner, specFile: this.specFile, eventSeq: this.eventSeq, manager: this.manager ?? undefined };
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
    return this.engine.jobs().map((j) => ({ unit: j.unit, type: j.type, mode: 'replace', journal: this.journaled.get(j.transaction) ?? null }));
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
    this.configureLogs(state.units.map((row) => row.spec as UnitSpec));
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
    for (const u of this.units.values()) this.effectsOf(u.type)?.adopt?.(u.name, this.context(u));
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
    // One transaction, so that After= between them holds. A journaled transaction's jobs are not queued again: the
    // next core's resolution of it (apply.ts resolveUnfinished) computes what is left, unless the journal died with
    // the core (SYSMASTER_JOURNAL=volatile).
    const again = state.jobs.filter((j) => j.journal === null || this.transactions.volatile).map((j) => ({ unit: j.unit, type: j.type as JobType }));
    try {
      if (again.length) this.engine.enqueue(again, 'replace');
    } catch (err) {
      this.note(`could not queue again ${again.map((j) => `${j.type} ${j.unit}`).join(', ')}: ${(err as Error).message}`);
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
    const specified = [...this.units].filter(([, u]) => !u.spec.transient);
    return { units: Object.fromEntries(specified.map(([n, u]) => [n, { spec: u.spec, active: u.active }])), manager: this.manager ?? undefined };
  }

  /** Start what each unit type follows beyond its units (TypeEffects.start): after restore(), before any apply. */
  startTypes(): void {
    for (const type of Object.values(unitTypes)) this.effectsOf(type)?.start?.();
  }

  /** A unit the core made (units/runtime.ts addTransient); a spec's own definition of the name wins over it. */
  addTransient(spec: UnitSpec): void {
    if (this.units.has(spec.name)) return;
    this.units.set(spec.name, this.create({ ...spec, transient: true }));
    this.regraph();
  }

  removeTransient(name: string): void {
    const u = this.units.get(name);
    if (!u?.spec.transient) return;
    u.removed = true;
    this.redefined(name);
    if (this.idle(u)) this.forget(u);
  }

  plan(desired: SystemSpec): Plan {
    const p = makePlan(desired, this.actual());
    // A limit this machine cannot honour is refused before anything changes, never silently dropped.
    const limits = checkLimits(desired, this.effects.cgroups);
    return p.error || !limits.length ? p : { ...p, error: { code: 'ELIMIT', message: limits.join('\n') } };
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

  /** Stop every unit, dependents first (the engine orders stops in reverse), but those its type keeps (keepOnExit). */
  async stopAll(): Promise<void> {
    // Every unit, idle ones too: their stop jobs replace start jobs still queued for them.
    const anchors = [...this.units.values()].filter((u) => !u.type.keepOnExit?.(u.spec)).map((u) => ({ unit: u.name, type: 'stop' as const }));
    if (!anchors.length) return;
    const tx = this.enqueueChecked(anchors, 'replace');
    await this.engine.wait(tx.id);
  }

  onJob(fn: (job: Job, result: JobResult) => void): () => void {
    this.jobListeners.add(fn);
    return () => this.jobListeners.delete(fn);
  }

  enqueueChecked(anchors: { unit: string; type: JobType }[], mode: JobMode) {
    try {
      return this.engine.enqueue(anchors, mode);
    } catch (err) {
      const e = err as { code?: string; message: string };
      throw new ControlError(e.code ?? 'ETRANSACTION', e.message);
    }
  }

  /** Put the plan's definitions in place. Running units that must restart get theirs at their next start. */
  install(desired: SystemSpec, p: Plan): void {
    this.specFile = desired.files[0] ?? null;
    this.manager = desired.manager;
    this.configureLogs(Object.values(desired.units));
    // A unit the spec names again is not removed after all, and keeps no new definition the spec no longer asks for
    // (a rollback putting back what was in force while a removal or a restart was under way).
    const changed = new Set(p.changed.map((c) => c.unit));
    for (const [name, u] of this.units) {
      if (!desired.units[name] || !(u.removed || (u.next && !changed.has(name)))) continue;
      u.removed = false;
      if (!changed.has(name)) u.next = null;
      this.redefined(name);
    }
    for (const name of p.added) {
      const made = this.units.get(name);
      if (!made) this.units.set(name, this.create(desired.units[name]));
      // The core made it (a mount found in mountinfo): the spec's definition takes over, at once (a running unit
      // keeps its actor: what it runs is what the spec asks for, or its next start makes it so).
      else {
        made.removed = false;
        this.redefine(made, desired.units[name], this.idle(made));
      }
    }
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
    const actions = this.effectsOf(type)?.actions ?? this.effects.actions();
    if (!m) this.machines.set(type, (m = type.machine.provide({ actions } as never)));
    return m;
  }

  private effectsOf(type: UnitType): TypeEffects | undefined {
    if (!type.effects) return undefined;
    let fx = this.typeEffects.get(type);
    if (!fx) this.typeEffects.set(type, (fx = type.effects(this.runtime)));
    return fx;
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
      this.effectsOf(u.type)?.release?.(u.name);
      u.actor.stop();
      this.spawnActor(u);
    }
  }

  private forget(u: Unit): void {
    this.disarm(u);
    this.effectsOf(u.type)?.release?.(u.name);
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
    if (!u.spec.found) this.sink?.state(u.name, from, to, u.sub, ctx.result);
    if (u.next && this.idle(u)) {
      this.redefine(u, u.next, true);
      this.regraph();
    }
    const reloadOk = from === 'reloading' ? ctx.reloadResult !== 'failed' : undefined;
    this.engine.unitChanged(u.name, { from, to, failed, reloadOk });
    if (u.removed && this.idle(u) && this.units.get(u.name) === u) this.forget(u);
    for (const l of this.changeListeners) l(u);
    const action = unitAction(u.name, u.spec.config, { from, to, failed }, ctx as Parameters<typeof unitAction>[3]);
    if (action) {
      this.note(`${u.name}: ${action.why === 'failure' ? 'FailureAction' : 'SuccessAction'}=${action.action} (exit status ${action.code})`);
      this.onAction?.(action);
    }
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
    if (action === 'stop' && (this.idle(u) || u.type.unstoppable?.(u.actor.getSnapshot() as Snapshot<unknown>))) return 'done';
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
    const wait = Math.max(0, deadline - this.now());
    u.timer = setTimeout(
      () => {
        u.timer = null;
        u.timerAt = null;
        if (u.actor !== actor) return;
        // setTimeout fires at once past MAX_TIMEOUT (a monthly timer's elapse): such a deadline is waited for in steps.
        if (wait > MAX_TIMEOUT) this.arm(u, deadline);
        else this.send(u, { type: 'TIMEOUT' });
      },
      Math.min(wait, MAX_TIMEOUT),
    );
  }

  private disarm(u: Unit): void {
    if (u.timer) clearTimeout(u.timer);
    u.timer = null;
    u.timerAt = null;
  }

  /** Read a file the spec came from, for `sctl cat`. */
  source(u: Unit): string {
    let text: string;
    try {
      text = fs.readFileSync(u.spec.where.file, 'utf8');
    } catch {
      // Not from a file (the main command), or the file is gone since: the definition in force, as the spec keys.
      return `# ${u.spec.where.file}\n${JSON.stringify(u.spec.config, null, 2)}\n`;
    }
    const lines = text.split('\n');
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

  /**
   * [manager] LogMaxSize, LogMaxFiles and ForwardToSyslog, to the log process (no rotation before a spec); the
   * names of `units` that show on the console, to it and to the sink, which pad them alike.
   */
  private configureLogs(units: UnitSpec[]): void {
    const m = this.manager;
    const names = units.filter((s) => !s.found).map((s) => s.name);
    this.sink?.widen(names);
    this.logs.configure({ limits: m && { maxSize: m.LogMaxSize, maxFiles: m.LogMaxFiles }, syslog: m?.ForwardToSyslog ?? false, names });
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

/** The longest delay setTimeout takes (2^31-1 ms, 24.8 days). */
const MAX_TIMEOUT = 2 ** 31 - 1;

const pidOf = (v: unknown): number | null => (typeof v === 'number' && v > 0 ? v : null);
