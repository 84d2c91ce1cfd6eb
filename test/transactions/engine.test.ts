import t from 'tap';
import { TransactionError } from '../../transactions/errors.js';
import { Bench, World } from './fixture.js';

const LAYERS = {
  a: {},
  b1: { Requires: ['a'], After: ['a'] },
  b2: { Requires: ['a'], After: ['a'] },
  c: { Requires: ['b1', 'b2'], After: ['b1', 'b2'] },
};

t.test('a 3-layer DAG starts layer by layer', async (t) => {
  const b = new Bench(new World(LAYERS));
  const tx = b.run('start c');
  t.same(b.take(), ['start a.service']);
  t.same(b.jobs(), ['a.service start running', 'b1.service start waiting', 'b2.service start waiting', 'c.service start waiting']);
  b.up('a');
  t.same(b.take(), ['start b1.service', 'start b2.service'], 'the middle layer in parallel');
  b.up('b1');
  t.same(b.take(), [], 'c still waits for b2');
  b.up('b2');
  t.same(b.take(), ['start c.service']);
  b.up('c');
  t.same(b.jobs(), []);
  const out = await b.engine.wait(tx);
  t.equal(out.id, tx);
  t.same(
    out.results.sort((x, y) => x.unit.localeCompare(y.unit)),
    ['a', 'b1', 'b2', 'c'].map((n) => ({ unit: `${n}.service`, type: 'start', result: 'done' })),
  );
});

t.test('and stops in reverse', async (t) => {
  const w = new World(Object.fromEntries(Object.entries(LAYERS).map(([n, d]) => [n, { ...d, active: 'active' as const }])));
  const b = new Bench(w);
  const tx = b.run('stop a');
  t.same(b.take(), ['stop c.service']);
  b.down('c');
  t.same(b.take(), ['stop b1.service', 'stop b2.service']);
  b.down('b1');
  b.down('b2');
  t.same(b.take(), ['stop a.service']);
  b.down('a');
  t.same((await b.engine.wait(tx)).results.map((r) => `${r.unit} ${r.type} ${r.result}`).sort(), [
    'a.service stop done',
    'b1.service stop done',
    'b2.service stop done',
    'c.service stop done',
  ]);
});

t.test('unrelated units start in parallel', async (t) => {
  const b = new Bench(new World({ goal: { Wants: ['x', 'y'] }, x: {}, y: {} }));
  b.run('start goal');
  t.same(b.take(), ['start goal.service', 'start x.service', 'start y.service']);
});

t.test('a failed start fails the jobs that need it with dependency, transitively', async (t) => {
  const b = new Bench(new World(LAYERS));
  const tx = b.run('start c');
  b.take();
  b.move('a', 'activating');
  b.fail('a');
  t.same(b.take(), [], 'nothing else begins');
  t.same(b.jobs(), []);
  const results = Object.fromEntries((await b.engine.wait(tx)).results.map((r) => [r.unit, r.result]));
  t.same(results, { 'c.service': 'dependency', 'a.service': 'failed', 'b1.service': 'dependency', 'b2.service': 'dependency' });
});

t.test('a wanted unit failing fails nothing else', async (t) => {
  const b = new Bench(new World({ goal: { Wants: ['x'], After: ['x'] }, x: {} }));
  const tx = b.run('start goal');
  t.same(b.take(), ['start x.service']);
  b.move('x', 'activating');
  b.fail('x');
  t.same(b.take(), ['start goal.service'], 'goal runs once x is done, failed or not');
  b.up('goal');
  const results = Object.fromEntries((await b.engine.wait(tx)).results.map((r) => [r.unit, r.result]));
  t.same(results, { 'goal.service': 'done', 'x.service': 'failed' });
});

t.test('begin() answering failed at once fails the job and its dependents', async (t) => {
  const b = new Bench(new World({ a: {}, top: { Requires: ['a'], After: ['a'] } }));
  b.answers.set('start a.service', 'failed');
  const tx = b.run('start top');
  t.same(b.take(), ['start a.service']);
  t.same((await b.engine.wait(tx)).results.map((r) => r.result), ['dependency', 'failed']);
});

t.test('Requisite: a stopped unit skips the verify job, and the dependent fails', async (t) => {
  const b = new Bench(new World({ need: {}, top: { Requisite: ['need'], After: ['need'] } }));
  const tx = b.run('start top');
  t.same(b.take(), [], 'top never begins');
  t.same((await b.engine.wait(tx)).results.map((r) => `${r.unit} ${r.type} ${r.result}`), [
    'top.service start dependency',
    'need.service verify-active skipped',
  ]);
  const ok = new Bench(new World({ need: { active: 'active' }, top: { Requisite: ['need'], After: ['need'] } }));
  ok.run('start top');
  t.same(ok.take(), ['start top.service'], 'an active requisite lets it start');
});

t.test('OnFailure= starts when the unit enters failed, not on an auto-restart', async (t) => {
  const b = new Bench(new World({ x: { OnFailure: ['fix'] }, fix: {} }));
  b.run('start x');
  b.take();
  b.move('x', 'activating');
  b.move('x', 'activating', { failed: true });
  t.same(b.take(), [], 'auto-restart: nothing yet');
  b.fail('x');
  t.same(b.take(), ['start fix.service']);
});

t.test('OnFailure= also starts when a job fails with dependency', async (t) => {
  const b = new Bench(new World({ a: {}, top: { Requires: ['a'], After: ['a'], OnFailure: ['fix'] }, fix: {} }));
  b.run('start top');
  b.take();
  b.fail('a');
  t.same(b.take(), ['start fix.service']);
});

t.test('OnSuccess= starts when the unit goes inactive cleanly', async (t) => {
  const b = new Bench(new World({ once: { OnSuccess: ['next'] }, next: {} }));
  const tx = b.run('start once');
  b.take();
  b.move('once', 'activating');
  b.move('once', 'inactive');
  t.same(b.take(), ['start next.service']);
  t.same((await b.engine.wait(tx)).results.map((r) => r.result), ['done'], 'a oneshot start is done');
});

t.test('BindsTo: a unit that dies on its own stops what is bound to it', async (t) => {
  const b = new Bench(new World({ dev: { active: 'active' }, user: { BindsTo: ['dev'], After: ['dev'], active: 'active' } }));
  b.fail('dev');
  t.same(b.take(), ['stop user.service']);
  b.down('user');
  t.same(b.jobs(), []);
  t.same(b.done, ['user.service stop done']);
});

t.test('BindsTo: stopping the unit ourselves queues no second transaction', async (t) => {
  const b = new Bench(new World({ dev: { active: 'active' }, user: { BindsTo: ['dev'], After: ['dev'], active: 'active' } }));
  const tx = b.run('stop dev');
  t.same(b.take(), ['stop user.service']);
  b.down('user');
  t.same(b.take(), ['stop dev.service']);
  b.down('dev');
  t.equal(b.run('start dev'), tx + 1, 'no transaction was queued in between');
});

t.test('restart runs as stop, then start', async (t) => {
  const b = new Bench(new World({ r: { active: 'active' } }));
  const tx = b.run('restart r');
  t.same(b.take(), ['stop r.service']);
  t.same(b.jobs(), ['r.service restart running']);
  b.down('r');
  t.same(b.take(), ['start r.service']);
  t.same(b.jobs(), ['r.service start running'], 'past its stop phase it is a start');
  b.up('r');
  t.same(await b.engine.wait(tx), { id: tx, results: [{ unit: 'r.service', type: 'restart', result: 'done' }] });
  t.same(b.done, ['r.service restart done']);
});

t.test('restarting a stack: stops top-down, then starts bottom-up', async (t) => {
  const b = new Bench(new World({ a: { active: 'active' }, b: { Requires: ['a'], After: ['a'], active: 'active' } }));
  b.run('restart a');
  t.same(b.take(), ['stop b.service']);
  b.down('b');
  t.same(b.take(), ['stop a.service']);
  b.down('a');
  t.same(b.take(), ['start a.service']);
  b.up('a');
  t.same(b.take(), ['start b.service']);
});

t.test('reload completes by reloadOk', async (t) => {
  const b = new Bench(new World({ r: { active: 'active', canReload: true } }));
  const tx = b.run('reload r');
  t.same(b.take(), ['reload r.service']);
  b.move('r', 'reloading');
  b.move('r', 'active', { reloadOk: false });
  t.same((await b.engine.wait(tx)).results.map((r) => r.result), ['failed']);
});

t.test('a start of a running unit completes at once, without begin()', async (t) => {
  const b = new Bench(new World({ r: { active: 'active' } }));
  const { id, jobs } = b.engine.enqueue([{ unit: 'r.service', type: 'start' }], 'replace');
  t.equal(jobs.length, 1);
  t.same(b.take(), []);
  t.same(await b.engine.wait(id), { id, results: [{ unit: 'r.service', type: 'start', result: 'done' }] });
});

t.test('a second transaction merges into the queued job and both wait for it', async (t) => {
  const b = new Bench(new World({ a: {}, top: { Requires: ['a'], After: ['a'] } }));
  const first = b.engine.enqueue([{ unit: 'top.service', type: 'start' }], 'replace');
  const second = b.engine.enqueue([{ unit: 'top.service', type: 'start' }], 'fail');
  t.same(
    second.jobs.map((j) => j.id),
    first.jobs.map((j) => j.id),
    'the same jobs',
  );
  b.take();
  b.up('a');
  b.up('top');
  t.same((await b.engine.wait(first.id)).results.map((r) => r.result), ['done', 'done']);
  t.same((await b.engine.wait(second.id)).results.map((r) => r.result), ['done', 'done']);
});

t.test('replace cancels the queued job it conflicts with; fail refuses and queues nothing', async (t) => {
  const b = new Bench(new World({ a: {} }));
  const start = b.run('start a');
  t.same(b.take(), ['start a.service']);
  b.move('a', 'activating');
  t.throws(() => b.run('stop a', 'fail'), { code: 'EDESTRUCTIVE' });
  t.same(b.jobs(), ['a.service start running'], 'untouched');
  b.run('stop a', 'replace');
  t.same((await b.engine.wait(start)).results.map((r) => r.result), ['canceled']);
  t.same(b.take(), ['stop a.service']);
});

t.test('a transaction that cannot be built throws its TransactionError', async (t) => {
  const b = new Bench(new World({ a: { Requires: ['b'], After: ['b'] }, b: { Requires: ['a'], After: ['a'] } }));
  t.throws(() => b.run('start a'), TransactionError);
  t.throws(() => b.run('start a'), { code: 'ECYCLE' });
  t.same(b.jobs(), []);
  t.same(b.take(), []);
});

t.test('cancel() fails the jobs that need the canceled one', async (t) => {
  const b = new Bench(new World({ a: {}, top: { Requires: ['a'], After: ['a'] } }));
  const { id, jobs } = b.engine.enqueue([{ unit: 'top.service', type: 'start' }], 'replace');
  const aJob = jobs.find((j) => j.unit === 'a.service')!;
  t.ok(b.engine.cancel(aJob.id));
  t.notOk(b.engine.cancel(aJob.id), 'gone');
  t.same((await b.engine.wait(id)).results.map((r) => `${r.unit} ${r.result}`), ['top.service dependency', 'a.service canceled']);
});

t.test('abort() cancels every job the transaction still waits for, running or queued, and leaves other transactions alone', async (t) => {
  const b = new Bench(new World({ a: {}, top: { Requires: ['a'], After: ['a'] }, other: {} }));
  const mine = b.run('start top');
  const theirs = b.run('start other');
  t.same(b.take(), ['start a.service', 'start other.service']);
  b.up('a');
  t.same(b.take(), ['start top.service']);
  b.engine.abort(mine);
  t.same((await b.engine.wait(mine)).results.map((r) => `${r.unit} ${r.result}`).sort(), ['a.service done', 'top.service canceled']);
  t.same(b.jobs(), ['other.service start running'], 'the other transaction still runs');
  b.up('other');
  t.same((await b.engine.wait(theirs)).results.map((r) => r.result), ['done']);
});

t.test('wait() of an unknown transaction rejects', async (t) => {
  const b = new Bench(new World({}));
  await t.rejects(b.engine.wait(42), { code: 'ENOTRANSACTION' });
});

t.test('a reaction that cannot be built is reported through warn()', async (t) => {
  const b = new Bench(new World({ x: { OnFailure: ['fix'], active: 'active' }, fix: { Requires: ['dep'], Conflicts: ['dep'] }, dep: {} }));
  b.fail('x');
  t.match(b.warnings, [/x\.service: cannot queue start of fix\.service \(on-failure\): .*conflicting jobs/]);
});

t.test('begin() reporting back synchronously through unitChanged() is handled', async (t) => {
  const w = new World({ t: {}, after: { After: ['t'], Requires: ['t'] } });
  const b = new Bench(w);
  // A target-like unit: START makes it active at once, reported before begin() returns.
  const begin = b.begin.bind(b);
  b.begin = (job, action) => {
    const r = begin(job, action);
    if (job.unit === 't.service' && action === 'start') b.up('t');
    return r;
  };
  const tx = b.run('start after');
  t.same(b.take(), ['start after.service', 'start t.service']);
  b.up('after');
  t.same((await b.engine.wait(tx)).results.map((r) => r.result), ['done', 'done']);
});

t.test('isolate stops what the anchor does not pull in, and what has a job', async (t) => {
  const b = new Bench(new World({ goal: { Wants: ['keep'] }, keep: { active: 'active' }, stray: { active: 'active' }, idle: {}, late: {} }));
  const late = b.run('start late');
  t.same(b.take(), ['start late.service']);
  b.move('late', 'activating');
  b.run('start goal', 'isolate');
  t.same(b.take(), ['start goal.service', 'stop late.service', 'stop stray.service']);
  t.same((await b.engine.wait(late)).results.map((r) => r.result), ['canceled'], 'the start it replaced');
  b.down('stray');
  b.down('late');
  t.same(b.jobs(), ['goal.service start running']);
});

t.test('a verify job on a unit that is coming up waits for it', async (t) => {
  const b = new Bench(new World({ need: { active: 'activating' }, top: { Requisite: ['need'], After: ['need'] } }));
  const tx = b.run('start top');
  t.same(b.jobs(), ['need.service verify-active running', 'top.service start waiting']);
  b.move('need', 'active');
  t.same(b.take(), ['start top.service']);
  b.up('top');
  t.same((await b.engine.wait(tx)).results.map((r) => r.result), ['done', 'done']);
});

t.test('a job merged into a running one: covered ones join, others make it run again', async (t) => {
  const b = new Bench(new World({ r: { active: 'active', canReload: true } }));
  const restart = b.run('restart r');
  t.same(b.take(), ['stop r.service']);
  b.move('r', 'deactivating');
  b.run('start r');
  t.same(b.jobs(), ['r.service restart running'], 'a start joins the running restart');
  t.same(b.take(), []);
  b.move('r', 'inactive');
  t.same(b.take(), ['start r.service']);
  b.up('r');
  t.same((await b.engine.wait(restart)).results.map((r) => r.result), ['done']);

  const reload = b.run('reload r');
  t.same(b.take(), ['reload r.service']);
  b.move('r', 'reloading');
  b.run('reload r');
  t.same(b.jobs(), ['r.service reload waiting'], 'a second reload runs again, once the first is over');
  b.move('r', 'active', { reloadOk: true });
  t.same(b.take(), ['reload r.service']);
  t.same(b.jobs(), ['r.service reload running']);
  b.move('r', 'reloading');
  b.move('r', 'active', { reloadOk: true });
  t.same((await b.engine.wait(reload)).results.map((r) => r.result), ['done']);
});

t.test('a start waits while its unit is still stopping', async (t) => {
  const b = new Bench(new World({ a: { active: 'active' } }));
  const stop = b.run('stop a');
  t.same(b.take(), ['stop a.service']);
  b.move('a', 'deactivating');
  const start = b.run('start a');
  t.same((await b.engine.wait(stop)).results.map((r) => r.result), ['canceled']);
  t.same(b.jobs(), ['a.service start waiting']);
  t.same(b.take(), []);
  b.move('a', 'inactive');
  t.same(b.take(), ['start a.service']);
  b.up('a');
  t.same((await b.engine.wait(start)).results.map((r) => r.result), ['done']);
});
