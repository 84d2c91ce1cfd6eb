// Small unit graphs in the manner of systemd's test-engine.c: declare units with their keywords and present
// state, reduce them to atoms with buildAtomGraph, then build transactions or drive an engine against them.
import type { ActiveState } from '../../machines/types.js';
import type { UnitCommon } from '../../specs/types.js';
import type { AtomGraph, Job, JobMode, JobResult, JobType } from '../../transactions/types.js';
import { buildAtomGraph } from '../../units/atoms.js';
import { unitCommon } from '../fixtures/units.js';
import { buildTransaction, type Anchor, type BuildResult, type UnitView } from '../../transactions/build.js';
import { Engine, type EngineHost } from '../../transactions/engine.js';

type Deps = Partial<Pick<UnitCommon, 'Requires' | 'Wants' | 'Requisite' | 'BindsTo' | 'PartOf' | 'Conflicts' | 'Before' | 'After' | 'OnFailure' | 'OnSuccess' | 'WantedBy' | 'RequiredBy'>>;

export type UnitDecl = Deps & { active?: ActiveState; canReload?: boolean };

export function common(deps: Deps = {}): UnitCommon {
  return unitCommon(deps);
}

/** `'start a'` → { unit: 'a.service', type: 'start' }; names without a suffix get `.service`. */
export function anchor(spec: string): Anchor {
  const [type, name] = spec.split(' ');
  return { type: type as JobType, unit: svc(name) };
}

export function svc(name: string): string {
  return name.includes('.') ? name : `${name}.service`;
}

const list = (names?: string[]) => names?.map(svc);

/** A set of units with their atoms and a present state each (inactive unless declared). */
export class World {
  readonly graph: AtomGraph;
  readonly views = new Map<string, UnitView>();

  constructor(decl: Record<string, UnitDecl>) {
    const units: Record<string, UnitCommon> = {};
    for (const [name, d] of Object.entries(decl)) {
      const { active, canReload, ...deps } = d;
      const named = Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, list(v as string[])]));
      units[svc(name)] = common(named);
      this.views.set(svc(name), { active: active ?? 'inactive', canReload: canReload ?? false });
    }
    this.graph = buildAtomGraph(units);
  }

  view = (unit: string): UnitView | undefined => this.views.get(unit);

  state(name: string): ActiveState {
    return this.views.get(svc(name))!.active;
  }

  set(name: string, active: ActiveState): void {
    this.views.get(svc(name))!.active = active;
  }

  build(anchors: string | string[], mode: JobMode = 'replace', queued: Job[] = []): BuildResult {
    const specs = typeof anchors === 'string' ? [anchors] : anchors;
    return buildTransaction({ graph: this.graph, view: this.view, anchors: specs.map(anchor), mode, queued });
  }
}

/** The planned jobs as sorted `unit type` lines, noop ones marked. */
export function planned(res: BuildResult): string[] {
  if (!res.ok) throw new Error(`expected a transaction, got ${res.error.code}: ${res.error.message}`);
  return res.jobs.map((j) => `${j.unit} ${j.type}${j.noop ? ' noop' : ''}`).sort();
}

/** A queued job, as the engine would hand it to the builder. */
export function queuedJob(id: number, name: string, type: JobType, state: Job['state'] = 'waiting'): Job {
  return { id, unit: svc(name), type, state, matters: true, transaction: 1 };
}

/**
 * An engine over a World. begin() answers 'done' when the unit already is where the job wants it and null
 * otherwise; the test moves units with up()/down()/fail(), which report to the engine as the choke point would.
 */
export class Bench implements EngineHost {
  readonly engine: Engine;
  /** `start a.service`, in call order. */
  readonly begun: string[] = [];
  /** `a.service start done`, in finish order. */
  readonly done: string[] = [];
  readonly warnings: string[] = [];
  /** Forced answers of begin() by `action unit`. */
  readonly answers = new Map<string, JobResult>();

  constructor(readonly world: World) {
    this.engine = new Engine(this);
  }

  graph(): AtomGraph {
    return this.world.graph;
  }

  view(unit: string): UnitView | undefined {
    return this.world.view(unit);
  }

  begin(job: Job, action: 'start' | 'stop' | 'reload'): JobResult | null {
    this.begun.push(`${action} ${job.unit}`);
    const forced = this.answers.get(`${action} ${job.unit}`);
    if (forced) return forced;
    const s = this.world.views.get(job.unit)!.active;
    if (action === 'start' && (s === 'active' || s === 'reloading')) return 'done';
    if (action === 'stop' && (s === 'inactive' || s === 'failed')) return 'done';
    return null;
  }

  finished(job: Job, result: JobResult): void {
    this.done.push(`${job.unit} ${job.type} ${result}`);
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  /** Begun actions since the last call. */
  take(): string[] {
    return this.begun.splice(0).sort();
  }

  run(specs: string | string[], mode: JobMode = 'replace'): number {
    const list = typeof specs === 'string' ? [specs] : specs;
    return this.engine.enqueue(list.map(anchor), mode).id;
  }

  move(name: string, to: ActiveState, extra: { failed?: boolean; reloadOk?: boolean } = {}): void {
    const from = this.world.state(name);
    this.world.set(name, to);
    this.engine.unitChanged(svc(name), { from, to, failed: extra.failed ?? false, reloadOk: extra.reloadOk });
  }

  up(name: string): void {
    if (this.world.state(name) !== 'activating') this.move(name, 'activating');
    this.move(name, 'active');
  }

  down(name: string): void {
    if (this.world.state(name) !== 'deactivating') this.move(name, 'deactivating');
    this.move(name, 'inactive');
  }

  fail(name: string): void {
    this.move(name, 'failed', { failed: true });
  }

  /** Jobs as sorted `unit type state` lines. */
  jobs(): string[] {
    return this.engine.jobs().map((j) => `${j.unit} ${j.type} ${j.state}`).sort();
  }
}
