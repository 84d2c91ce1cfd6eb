import t from 'tap';
import {
  checkQueued,
  collapseByState,
  context,
  expand,
  findCycle,
  markMatters,
  mergeJobs,
  minimizeImpact,
  verifyOrder,
} from '../../transactions/build.js';
import type { Draft } from '../../transactions/draft.js';
import { TransactionError } from '../../transactions/errors.js';
import type { JobMode } from '../../transactions/types.js';
import { anchor, planned, queuedJob, World, type UnitDecl } from './fixture.js';

/** Run the pipeline's step 1 (and optionally 2) by hand. */
function draft(world: World, anchors: string[], mode: JobMode = 'replace', queued = [] as ReturnType<typeof queuedJob>[]) {
  const ctx = context({ graph: world.graph, view: world.view, anchors: anchors.map(anchor), mode, queued });
  const d = expand(ctx);
  if (d instanceof TransactionError) throw d;
  return { d, ctx };
}

const lines = (d: Draft) =>
  [...d.jobs.values()].map((j) => `${j.unit} ${j.type}${j.matters ? ' matters' : ''}${j.noop ? ' noop' : ''}`).sort();

function error(res: ReturnType<World['build']>): TransactionError {
  if (res.ok) throw new Error(`expected an error, got ${planned(res).join(', ')}`);
  return res.error;
}

// systemd's test/units a..h, as test-engine.c loads them.
const ENGINE_UNITS: Record<string, UnitDecl> = {
  a: { Requires: ['b'], Before: ['b'] },
  b: { Wants: ['f'] },
  c: { Requires: ['a'] },
  d: { After: ['b'], Before: ['a'], Requires: ['a'] },
  e: { After: ['b'], Before: ['a'], Wants: ['a'] },
  f: {},
  g: { Conflicts: ['e'] },
  h: { Wants: ['g'] },
};

t.test('step 1, expand: what each atom pulls in', async (t) => {
  const w = new World({
    a: { Requires: ['req'], Wants: ['want'], Requisite: ['must'], Conflicts: ['enemy'], BindsTo: ['bound'] },
    req: {},
    want: {},
    must: {},
    enemy: {},
    bound: {},
    other: {},
  });
  const { d } = draft(w, ['start a']);
  markMatters(d);
  t.same(lines(d), [
    'a.service start matters',
    'bound.service start matters',
    'enemy.service stop matters',
    'must.service verify-active matters',
    'req.service start matters',
    'want.service start',
  ]);
  t.ok(d.conflictedBy(d.ofUnit('enemy.service')[0].key), 'the conflict stop is marked as such');
});

t.test('step 1, expand: starting the other side of a conflict stops us too', async (t) => {
  const w = new World({ a: { Conflicts: ['b'] }, b: {} });
  t.same(planned(w.build('start b')), ['a.service stop noop', 'b.service start']);
});

t.test('step 1, expand: expansion is recursive and stops at units seen before', async (t) => {
  const w = new World({ a: { Requires: ['b'] }, b: { Requires: ['c'] }, c: { Requires: ['a'] } });
  t.same(planned(w.build('start a')), ['a.service start', 'b.service start', 'c.service start']);
});

t.test('step 1, expand: stop propagates to what Requires, BindsTo, PartOf the unit', async (t) => {
  const w = new World({
    base: { active: 'active' },
    req: { Requires: ['base'], active: 'active' },
    bound: { BindsTo: ['base'], active: 'active' },
    part: { PartOf: ['base'], active: 'active' },
    wants: { Wants: ['base'], active: 'active' },
    top: { Requires: ['req'], active: 'active' },
  });
  t.same(planned(w.build('stop base')), ['base.service stop', 'bound.service stop', 'part.service stop', 'req.service stop', 'top.service stop']);
});

t.test('step 1, expand: restart propagates as try-restart: running dependents restart, stopped ones stay', async (t) => {
  const w = new World({
    base: { active: 'active' },
    up: { PartOf: ['base'], active: 'active' },
    down: { Requires: ['base'] },
  });
  t.same(planned(w.build('restart base')), ['base.service restart', 'up.service restart']);
});

t.test('step 1, expand: isolate stops every running unit the anchor does not pull in', async (t) => {
  const w = new World({
    goal: { Wants: ['keep'] },
    keep: { active: 'active' },
    run: { active: 'active' },
    starting: { active: 'activating' },
    idle: {},
    dead: { active: 'failed' },
    queued: {},
  });
  const res = w.build('start goal', 'isolate', [queuedJob(7, 'queued', 'start')]);
  t.same(planned(res), [
    'goal.service start',
    'keep.service start noop',
    'queued.service stop',
    'run.service stop',
    'starting.service stop',
  ]);
  t.same(res.ok && res.cancel, [7], 'the queued start of a unit being stopped is cancelled');
  const other = w.build('start goal', 'replace');
  t.same(planned(other), ['goal.service start', 'keep.service start noop'], 'replace stops nothing');
});

t.test('step 1, expand: errors', async (t) => {
  const w = new World({ a: { Requires: ['b'] }, b: {}, r: { canReload: false } });
  t.equal(error(w.build('start ghost')).code, 'ENOUNIT');
  t.equal(error(w.build('start ghost')).detail.unit, 'ghost.service');
  t.equal(error(w.build('reload r')).code, 'ENORELOAD');
  t.match(error(w.build('reload r')).message, /r\.service does not support reloading/);
});

t.test('step 2, markMatters: only through links that matter', async (t) => {
  const w = new World({ a: { Wants: ['b'] }, b: { Requires: ['c'] }, c: {}, d: { Requires: ['a'] } });
  const { d } = draft(w, ['start d']);
  markMatters(d);
  t.same(lines(d), ['a.service start matters', 'b.service start', 'c.service start', 'd.service start matters']);
});

t.test('step 3, minimizeImpact: in mode fail, unneeded jobs may not stop running units or change queued jobs', async (t) => {
  const w = new World({
    a: { Wants: ['b', 'c'] },
    b: { Conflicts: ['x'] },
    x: { active: 'active' },
    c: {},
  });
  const { d, ctx } = draft(w, ['start a'], 'fail', [queuedJob(4, 'c', 'stop')]);
  markMatters(d);
  minimizeImpact(d, ctx);
  // b's start would stop the running x: x's stop goes, and b's start with it (it needs that stop).
  t.same(lines(d), ['a.service start matters']);
});

t.test('step 4, mergeJobs: one job per unit, typed by the table', async (t) => {
  const w = new World({ a: { Requires: ['b'], Requisite: ['b'] }, b: {} });
  const { d, ctx } = draft(w, ['start a']);
  markMatters(d);
  t.equal(d.ofUnit('b.service').length, 2, 'start and verify-active before merging');
  t.equal(mergeJobs(d, ctx), undefined);
  t.same(lines(d), ['a.service start matters', 'b.service start matters']);
});

t.test('step 4, mergeJobs: reload + start merge by state', async (t) => {
  const active = new World({ r: { active: 'active', canReload: true } });
  t.same(planned(active.build(['reload r', 'start r'])), ['r.service reload']);
  const stopped = new World({ r: { canReload: true } });
  t.same(planned(stopped.build(['reload r', 'start r'])), ['r.service start']);
});

t.test('step 4, mergeJobs: an unmergeable pair the anchor needs fails and names both jobs', async (t) => {
  const w = new World({ a: { Requires: ['b'], Conflicts: ['b'] }, b: {} });
  const e = error(w.build('start a'));
  t.equal(e.code, 'ECONFLICT');
  // Conflicts works both ways: b's start stops a, which a's start cannot merge with.
  t.match(e.message, /conflicting jobs '(start|stop)' and '(start|stop)' for a\.service/);
  t.same(e.detail.jobs?.map((j) => j.type).sort(), ['start', 'stop']);
  t.equal(error(w.build(['start a', 'stop a'])).code, 'ECONFLICT', 'two anchors that collide');
});

t.test('step 4, mergeJobs: an unmergeable job the anchor does not need is dropped', async (t) => {
  const w = new World({ a: { Wants: ['b'], Conflicts: ['b'] }, b: {} });
  const res = w.build('start a');
  t.same(planned(res), ['a.service start', 'b.service stop noop']);
  // b's start would stop a: that stop goes, and b's start, which needs it, with it.
  t.match(res.ok && res.warnings, [/Dropped a\.service\/stop/]);
});

t.test('step 4, mergeJobs: between two unneeded jobs, the stop that a conflict asked for wins', async (t) => {
  // x wants two units that exclude each other: systemd keeps the conflict's stop and drops a start.
  const w = new World({ x: { Wants: ['a', 'b'] }, a: { Conflicts: ['b'] }, b: {} });
  const jobs = planned(w.build('start x'));
  t.equal(jobs.filter((j) => j.endsWith(' start')).length, 2, 'x and one of a, b start');
  t.ok(jobs.includes('x.service start'));
});

t.test('step 5, collapseByState', async (t) => {
  const w = new World({
    on: { active: 'active', canReload: true },
    off: { canReload: true },
    hard: { active: 'active' },
    coming: { active: 'activating' },
  });
  t.same(planned(w.build('try-restart off')), ['off.service nop noop'], 'try-restart of a stopped unit does nothing');
  t.same(planned(w.build('try-restart on')), ['on.service restart']);
  t.same(planned(w.build('reload-or-restart on')), ['on.service reload']);
  t.same(planned(w.build('reload-or-restart off')), ['off.service start']);
  t.same(planned(w.build('reload-or-restart hard')), ['hard.service restart'], 'no reload: restart');
  t.same(planned(w.build('restart off')), ['off.service start'], 'restart of a stopped unit is a start');
  t.same(planned(w.build('start on')), ['on.service start noop'], 'start of a running unit completes at once');
  t.same(planned(w.build('stop off')), ['off.service stop noop']);
  t.same(planned(w.build('restart coming')), ['coming.service restart'], 'an asked-for restart still restarts');
});

t.test('step 5, collapseByState: a running unit pulls nothing in, as systemd drops its redundant job', async (t) => {
  const w = new World({ top: { Requires: ['mid'] }, mid: { Requires: ['low'], active: 'active' }, low: {} });
  t.same(planned(w.build('start top')), ['mid.service start noop', 'top.service start']);
  const { d, ctx } = draft(w, ['start top']);
  markMatters(d);
  mergeJobs(d, ctx);
  t.equal(d.ofUnit('low.service').length, 1, 'low is pulled in before collapsing');
  collapseByState(d, ctx);
  t.equal(d.ofUnit('low.service').length, 0, 'and collected after');
});

t.test('step 5, collapseByState: a redundant job that joins a queued job is not noop', async (t) => {
  const w = new World({ a: { active: 'active' } });
  t.same(planned(w.build('start a', 'replace', [queuedJob(3, 'a', 'restart')])), ['a.service start']);
});

t.test('step 6, verifyOrder: stops order in reverse, so start-after-stop is no cycle', async (t) => {
  const w = new World({ a: { Before: ['b'], Conflicts: ['b'] }, b: { active: 'active' } });
  t.same(planned(w.build('start a')), ['a.service start', 'b.service stop']);
});

t.test('step 6, verifyOrder: an unfixable cycle names its units (test-engine.c Test2)', async (t) => {
  const w = new World(ENGINE_UNITS);
  const e = error(w.build('start d'));
  t.equal(e.code, 'ECYCLE');
  t.same(e.detail.cycle, ['d.service', 'a.service', 'b.service', 'd.service']);
  t.match(e.message, 'd.service → a.service → b.service → d.service');
});

t.test('step 6, verifyOrder: a cycle through a wanted unit is broken by dropping it (test-engine.c Test3)', async (t) => {
  const w = new World(ENGINE_UNITS);
  const res = w.build('start e');
  // Looking back from where the cycle closed, b is the first job e does not need. a requires b, so it goes
  // too, and f, which only b pulled in. (g conflicts with e, and is already stopped.)
  t.same(planned(res), ['e.service start', 'g.service stop noop']);
  t.match(res.ok && res.warnings, ['Ordering cycle e.service → a.service → b.service → e.service: dropped b.service/start.']);
});

t.test('step 6, findCycle sees through queued jobs', async (t) => {
  const w = new World({ a: { Before: ['q'] }, q: { Before: ['b'] }, b: { Before: ['a'] }, top: { Wants: ['a', 'b'] } });
  const { d, ctx } = draft(w, ['start top'], 'replace', [queuedJob(9, 'q', 'start')]);
  markMatters(d);
  mergeJobs(d, ctx);
  collapseByState(d, ctx);
  t.same(findCycle(d, ctx)?.map((n) => n.unit), ['a.service', 'q.service', 'b.service']);
  t.equal(verifyOrder(d, ctx), undefined);
  t.equal(d.ofUnit('top.service').length, 1, 'the anchor stays');
  t.ok(d.ofUnit('a.service').length === 0 || d.ofUnit('b.service').length === 0, 'a wanted unit was dropped');
});

t.test('step 7, checkQueued: fail refuses, replace cancels (test-engine.c Tests 5-9)', async (t) => {
  const w = new World(ENGINE_UNITS);
  const queued = [queuedJob(1, 'e', 'start')];
  const e = error(w.build('start g', 'fail', queued));
  t.equal(e.code, 'EDESTRUCTIVE', 'Test5: g conflicts with the queued start of e');
  t.match(e.message, /e\.service has 'start' job queued, but 'stop' is included/);
  const replace = w.build('start g', 'replace', queued);
  t.same(planned(replace), ['e.service stop', 'g.service start'], 'Test6');
  t.same(replace.ok && replace.cancel, [1]);

  const gStart = [queuedJob(2, 'g', 'start')];
  t.equal(error(w.build('stop g', 'fail', gStart)).code, 'EDESTRUCTIVE', 'Test7: stop over a queued start');
  const restart = w.build('restart g', 'fail', gStart);
  t.same(planned(restart), ['e.service stop noop', 'g.service start'], 'Test8: restart merges with the queued start (and collapses)');
  t.same(restart.ok && restart.cancel, []);
  const stop = w.build('stop g', 'replace', gStart);
  t.same(stop.ok && stop.cancel, [2], 'Test9');
});

t.test('step 7, an unneeded job that would change a queued one is dropped in mode fail (test-engine.c Test10)', async (t) => {
  const w = new World(ENGINE_UNITS);
  const res = w.build('start h', 'fail', [queuedJob(5, 'g', 'stop')]);
  t.same(planned(res), ['h.service start']);
  t.same(res.ok && res.cancel, []);
});

t.test('step 7, checkQueued by hand: isolate cancels queued jobs of units outside the transaction', async (t) => {
  const w = new World({ a: {}, b: {} });
  const { d, ctx } = draft(w, ['start a'], 'replace', [queuedJob(1, 'b', 'start'), queuedJob(2, 'a', 'stop')]);
  t.same(checkQueued(d, ctx), [2]);
  const iso = draft(w, ['start a'], 'isolate', [queuedJob(1, 'b', 'start'), queuedJob(2, 'a', 'stop')]);
  t.same(iso.d.ofUnit('b.service').map((j) => j.type), ['stop'], 'isolate stops the unit with a queued job');
  t.same((checkQueued(iso.d, iso.ctx) as number[]).sort(), [1, 2]);
  const gone = draft(w, ['start a'], 'isolate', [queuedJob(3, 'removed', 'start')]);
  t.same(checkQueued(gone.d, gone.ctx), [3], 'isolate cancels the job of a unit no longer loaded');
});

t.test('a transaction that cannot be built changes nothing', async (t) => {
  const w = new World(ENGINE_UNITS);
  const before = JSON.stringify([w.graph, [...w.views]]);
  const queued = [queuedJob(1, 'e', 'start')];
  error(w.build('start d'));
  error(w.build('start g', 'fail', queued));
  t.equal(JSON.stringify([w.graph, [...w.views]]), before);
  t.same(queued, [queuedJob(1, 'e', 'start')]);
});

t.test('Test1 (trivial) and Test4 (identical transaction)', async (t) => {
  const w = new World(ENGINE_UNITS);
  t.same(planned(w.build('start c')), ['a.service start', 'b.service start', 'c.service start', 'f.service start']);
  const res = w.build('start e', 'fail', [queuedJob(1, 'e', 'start')]);
  t.same(planned(res), ['e.service start', 'g.service stop noop']);
  t.same(res.ok && res.cancel, []);
});

t.test('matters and anchor flags reach the plan', async (t) => {
  const w = new World({ a: { Wants: ['b'], Requires: ['c'] }, b: {}, c: {} });
  const res = w.build('start a');
  if (!res.ok) throw res.error;
  const by = Object.fromEntries(res.jobs.map((j) => [j.unit, j]));
  t.same([by['a.service'].anchor, by['a.service'].matters], [true, true]);
  t.same([by['b.service'].anchor, by['b.service'].matters], [false, false]);
  t.same([by['c.service'].anchor, by['c.service'].matters], [false, true]);
});
