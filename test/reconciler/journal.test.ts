import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import initSqlJs from 'sql.js';
import { Journal, KEEP, type TxPlan } from '../../reconciler/journal.js';

const sqlJs = async () => (await initSqlJs()).Database;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-journal-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const plan = (over: Partial<TxPlan> = {}): TxPlan => ({
  kind: 'apply',
  reverts: null,
  specFile: '/etc/spec.toml',
  specHash: 'abc',
  policy: { onCrash: 'rollback', timeoutMs: 300_000, strict: false, rollback: true },
  before: { 'a.service': null },
  after: { 'a.service': { name: 'a.service', config: { TimeoutStopSec: Infinity } } as never },
  active: ['b.service'],
  specBefore: null,
  jobs: [{ unit: 'a.service', type: 'start' }, { unit: 'c.service', type: 'stop' }],
  ...over,
});

t.test('a transaction, its savepoints and its end, read back from the file on disk', async (t) => {
  const file = path.join(dir, 'sub', 'journal.db');
  const j = await Journal.open(file);
  const id = await j.begin(plan(), 1000);
  t.equal(id, 1);
  t.match(j.unfinished(), { id: 1, result: 'running' }, 'open before any job');
  t.equal(j.savepoint(id, { phase: 'apply', unit: 'a.service', type: 'start', result: 'done', time: 1100 }), 1);
  t.equal(j.savepoint(id, { phase: 'apply', unit: 'c.service', type: 'stop', result: 'failed', time: 1200 }), 2);
  j.error(id, 'c.service stop failed', 1200);
  await j.setResult(id, 'rolling-back');
  t.equal(j.savepoint(id, { phase: 'rollback', unit: 'a.service', type: 'stop', result: 'done', time: 1300 }), 3);
  await j.close();
  t.equal(fs.statSync(file).mode & 0o777, 0o600);

  // Every savepoint was made durable as it came: a fresh reader of the file sees them all.
  const again = await Journal.open(file);
  const tx = again.unfinished()!;
  t.match(tx, { id: 1, result: 'rolling-back', kind: 'apply', active: ['b.service'] });
  t.equal((tx.after['a.service'] as unknown as { config: { TimeoutStopSec: number } }).config.TimeoutStopSec, Infinity);
  t.same(again.savepoints(1).map((s) => [s.seq, s.phase, s.unit, s.result]), [
    [1, 'apply', 'a.service', 'done'],
    [2, 'apply', 'c.service', 'failed'],
    [3, 'rollback', 'a.service', 'done'],
  ]);
  t.same(again.errors(1), [{ time: 1200, message: 'c.service stop failed' }]);
  await again.setResult(1, 'rolled-back', 1500);
  t.equal(again.unfinished(), null);
  t.match(again.list(), [{ id: 1, result: 'rolled-back', start: 1000, duration: 500, jobs: { planned: 2, done: 1, failed: 1 } }]);
});

t.test('the last committed apply not yet reverted', async (t) => {
  const j = await Journal.open(path.join(dir, 'last.db'));
  t.equal(j.lastCommitted(), null);
  const a = await j.begin(plan());
  await j.setResult(a, 'committed');
  const b = await j.begin(plan());
  await j.setResult(b, 'committed');
  const failed = await j.begin(plan());
  await j.setResult(failed, 'rolled-back');
  t.equal(j.lastCommitted()!.id, b);
  const r = await j.begin(plan({ kind: 'rollback', reverts: b }));
  await j.setResult(r, 'committed');
  t.equal(j.lastCommitted()!.id, a, 'b was reverted');
  const redo = await j.begin(plan({ kind: 'rollback', reverts: r }));
  await j.setResult(redo, 'committed');
  t.equal(j.lastCommitted()!.id, b, 'reverting the rollback put b back in force');
});

t.test('savepoints are in the database at once and on disk once persisted; a result lands with the savepoints before it', async (t) => {
  const file = path.join(dir, 'turn.db');
  const j = await Journal.open(file);
  const id = await j.begin(plan());
  for (const unit of ['a.service', 'b.service', 'c.service']) j.savepoint(id, { phase: 'apply', unit, type: 'start', result: 'done', time: 1 });
  t.same(j.savepoints(id).map((s) => s.unit), ['a.service', 'b.service', 'c.service'], 'in the database at once');
  await j.persisted();
  const reader = await Journal.open(file);
  t.same(reader.savepoints(id).map((s) => [s.seq, s.unit]), [[1, 'a.service'], [2, 'b.service'], [3, 'c.service']]);
  j.savepoint(id, { phase: 'apply', unit: 'd.service', type: 'start', result: 'done', time: 2 });
  await j.setResult(id, 'committed');
  const again = await Journal.open(file);
  t.equal(again.savepoints(id).length, 4);
  t.equal(again.get(id)!.result, 'committed');
});

t.test('the journal keeps the newest KEEP transactions, plans included', async (t) => {
  const file = path.join(dir, 'keep', 'journal.db');
  const j = await Journal.open(file);
  for (let i = 0; i < KEEP + 2; i++) {
    const id = await j.begin(plan());
    j.savepoint(id, { phase: 'apply', unit: 'a.service', type: 'start', result: 'done', time: 1 });
    await j.setResult(id, 'committed');
  }
  const list = j.list();
  t.equal(list.length, KEEP);
  t.equal(list[0].id, 3, 'the two oldest are gone');
  t.same(j.savepoints(1), []);
  t.equal(fs.readdirSync(path.join(dir, 'keep', 'plans')).length, KEEP, 'their plan files too');
  t.match(j.get(3), { id: 3, kind: 'apply', after: { 'a.service': { name: 'a.service' } } });
});

t.test('a journal of an older layout is set aside, not misread', async (t) => {
  const file = path.join(dir, 'old', 'journal.db');
  fs.mkdirSync(path.dirname(file));
  const db = new (await sqlJs())();
  db.run("CREATE TABLE tx (id INTEGER PRIMARY KEY, plan TEXT); INSERT INTO tx VALUES (1, '{}')");
  fs.writeFileSync(file, db.export());
  const j = await Journal.open(file);
  t.same(j.list(), []);
  t.ok(fs.existsSync(`${file}.old`), 'the old file is kept aside');
  t.equal(await j.begin(plan()), 1);
});

t.test('a volatile journal works the same and writes nothing', async (t) => {
  const file = path.join(dir, 'volatile', 'journal.db');
  const j = await Journal.open(file, false);
  const id = await j.begin(plan());
  j.savepoint(id, { phase: 'apply', unit: 'a.service', type: 'start', result: 'done', time: 1 });
  await j.setResult(id, 'committed');
  t.match(j.get(id), { result: 'committed', active: ['b.service'] });
  t.equal(j.savepoints(id).length, 1);
  t.notOk(fs.existsSync(path.dirname(file)));
});
