import t from 'tap';
import type { ActiveState } from '../../machines/types.js';
import { compareJobs } from '../../transactions/order.js';
import { completes, failedByStart, reactions, runnable } from '../../transactions/running.js';
import type { Job, JobState, JobType } from '../../transactions/types.js';
import { queuedJob, World } from './fixture.js';

const ids = (jobs: Job[]) => jobs.map((j) => j.id);

t.test("compareJobs is systemd's job_compare", async (t) => {
  // b is After a. Start both: a first. Stop both: b first. Mixed: the stop first.
  t.ok(compareJobs('start', 'start', 'after') > 0, 'start b waits for start a');
  t.ok(compareJobs('stop', 'stop', 'after') < 0, 'stop b goes before stop a');
  t.ok(compareJobs('start', 'stop', 'after') > 0, 'start b waits for stop a');
  t.ok(compareJobs('stop', 'start', 'after') < 0, 'stop b goes before start a');
  t.ok(compareJobs('restart', 'restart', 'after') < 0, 'a restart orders as the stop it begins with');
  for (const a of ['start', 'stop', 'restart', 'reload', 'verify-active', 'nop'] as JobType[]) {
    t.equal(compareJobs(a, 'nop', 'after'), 0, `nop is unordered (${a})`);
    for (const b of ['start', 'stop', 'restart', 'reload', 'verify-active'] as JobType[]) {
      if (a === 'nop') continue;
      t.equal(Math.sign(compareJobs(a, b, 'after')), -Math.sign(compareJobs(b, a, 'before')), `${a} after ${b} mirrors ${b} before ${a}`);
    }
  }
});

t.test('runnable: a 3-layer DAG runs layer by layer up, and in reverse down', async (t) => {
  const w = new World({ a: {}, b1: { After: ['a'] }, b2: { After: ['a'] }, c: { After: ['b1', 'b2'] }, lone: {} });
  const jobs = (type: JobType) => ['a', 'b1', 'b2', 'c', 'lone'].map((n, i) => queuedJob(i + 1, n, type));
  t.same(ids(runnable(jobs('start'), w.graph)), [1, 5], 'start: a and the unrelated unit');
  t.same(ids(runnable(jobs('stop'), w.graph)), [4, 5], 'stop: c and the unrelated unit');
  const afterA = jobs('start').slice(1);
  t.same(ids(runnable(afterA, w.graph)), [2, 3, 5], 'b1 and b2 in parallel once a is done');
  const running = jobs('start').map((j) => (j.id === 1 ? { ...j, state: 'running' as JobState } : j));
  t.same(ids(runnable(running, w.graph)), [5], 'a running job still holds back the ones after it');
});

t.test('runnable: a start waits out a stop, a reload another reload', async (t) => {
  const w = new World({ a: {}, b: {} });
  const jobs = [queuedJob(1, 'a', 'start'), queuedJob(2, 'b', 'reload')];
  const states: Record<string, ActiveState> = { 'a.service': 'deactivating', 'b.service': 'reloading' };
  t.same(ids(runnable(jobs, w.graph, (u) => states[u])), []);
  t.same(ids(runnable(jobs, w.graph, () => 'active')), [1, 2]);
  t.same(ids(runnable(jobs, w.graph)), [1, 2], 'without states, ordering alone decides');
});

t.test('runnable: mixed job types follow job_compare', async (t) => {
  const w = new World({ a: {}, b: { After: ['a'] } });
  t.same(ids(runnable([queuedJob(1, 'a', 'start'), queuedJob(2, 'b', 'stop')], w.graph)), [2], 'stop b before start a');
  t.same(ids(runnable([queuedJob(1, 'a', 'stop'), queuedJob(2, 'b', 'start')], w.graph)), [1], 'stop a before start b');
  t.same(ids(runnable([queuedJob(1, 'a', 'nop'), queuedJob(2, 'b', 'start')], w.graph)), [1, 2], 'nop holds back nothing');
});

const change = (from: ActiveState, to: ActiveState, extra: { failed?: boolean; reloadOk?: boolean } = {}) => ({
  from,
  to,
  failed: extra.failed ?? false,
  reloadOk: extra.reloadOk,
});
const run = (type: JobType) => ({ type, state: 'running' as JobState });
const wait = (type: JobType) => ({ type, state: 'waiting' as JobState });

t.test('completes: start', async (t) => {
  t.equal(completes(run('start'), change('inactive', 'activating')), null);
  t.equal(completes(run('start'), change('activating', 'active')), 'done');
  t.equal(completes(run('start'), change('activating', 'inactive')), 'done', 'a oneshot that finished');
  t.equal(completes(run('start'), change('activating', 'failed', { failed: true })), 'failed');
  t.equal(completes(run('start'), change('activating', 'activating', { failed: true })), 'failed', 'failed, going on into auto-restart');
  t.equal(completes(wait('start'), change('inactive', 'active')), 'done', 'active is what a start wants, whoever started it');
  t.equal(completes(wait('start'), change('active', 'failed', { failed: true })), null, 'a waiting job is not failed by the unit');
  t.equal(completes(wait('start'), change('deactivating', 'inactive')), null);
});

t.test('completes: stop, restart, reload, verify-active', async (t) => {
  t.equal(completes(run('stop'), change('active', 'deactivating')), null);
  t.equal(completes(run('stop'), change('deactivating', 'inactive')), 'done');
  t.equal(completes(run('stop'), change('deactivating', 'failed')), 'done', 'stopped is stopped');
  t.equal(completes(run('stop'), change('deactivating', 'active')), 'failed');
  t.equal(completes(run('restart'), change('deactivating', 'inactive')), 'done', 'the end of the stop phase');
  t.equal(completes(run('reload'), change('active', 'reloading')), null);
  t.equal(completes(run('reload'), change('reloading', 'active', { reloadOk: true })), 'done');
  t.equal(completes(run('reload'), change('reloading', 'active', { reloadOk: false })), 'failed');
  t.equal(completes(run('reload'), change('reloading', 'failed', { failed: true })), 'failed');
  t.equal(completes(wait('reload'), change('reloading', 'active')), null, 'someone else’s reload');
  t.equal(completes(run('verify-active'), change('activating', 'active')), 'done');
  t.equal(completes(run('verify-active'), change('activating', 'failed', { failed: true })), 'failed');
  t.equal(completes(run('nop'), change('inactive', 'active')), null);
});

t.test('reactions', async (t) => {
  const w = new World({ a: { OnFailure: ['fix'], OnSuccess: ['next'] }, fix: {}, next: {}, child: { BindsTo: ['a'] } });
  const atoms = w.graph['a.service'];
  const of = (c: ReturnType<typeof change>, stopping = false) => reactions(atoms, c, stopping).map((r) => `${r.type} ${r.unit} ${r.cause}`);
  t.same(of(change('active', 'failed', { failed: true })), ['stop child.service bound-by', 'start fix.service on-failure']);
  t.same(of(change('activating', 'activating', { failed: true })), [], 'auto-restart: no OnFailure= yet');
  t.same(of(change('active', 'failed', { failed: true }), true), ['start fix.service on-failure'], 'asked to stop: bound units are not touched');
  t.same(of(change('deactivating', 'inactive')), ['start next.service on-success']);
  t.same(of(change('active', 'deactivating'), true), []);
  t.same(of(change('active', 'deactivating')), ['stop child.service bound-by'], 'going down on its own');
  t.same(of(change('inactive', 'activating')), []);
  t.same(of(change('failed', 'inactive')), [], 'reset-failed is no success');
  t.same(of(change('activating', 'inactive', { failed: true })), ['stop child.service bound-by', 'start fix.service on-failure'], 'a failure that ends inactive');
  t.same(reactions(undefined, change('active', 'failed'), false), []);
});

t.test('failedByStart: the start and verify jobs of dependents', async (t) => {
  const w = new World({ a: {}, req: { Requires: ['a'] }, must: { Requisite: ['a'] }, stopping: { Requires: ['a'] }, wants: { Wants: ['a'] } });
  const jobs = new Map(
    [queuedJob(1, 'req', 'start'), queuedJob(2, 'must', 'verify-active'), queuedJob(3, 'stopping', 'stop'), queuedJob(4, 'wants', 'start')].map(
      (j) => [j.unit, j],
    ),
  );
  t.same(ids(failedByStart(w.graph['a.service'], (u) => jobs.get(u))), [1, 2]);
});
