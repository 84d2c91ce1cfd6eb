import t from 'tap';
import { Requests } from '../../reconciler/requests.js';
import type { TransactionOutcome } from '../../transactions/engine.js';

const deferred = () => {
  let resolve!: (o: TransactionOutcome) => void;
  const promise = new Promise<TransactionOutcome>((r) => (resolve = r));
  return { promise, resolve };
};

t.test('a retried key finds the first request: same outcome, no new transaction', async (t) => {
  const r = new Requests();
  t.equal(r.find('k'), null);
  const tx = deferred();
  const first = r.add('k', 7, tx.promise);
  t.equal(r.keyOf(7), 'k');
  t.equal(r.find('k')!.tx, 7);
  r.finished(7, { unit: 'a.service', type: 'stop', result: 'done' });
  t.same(r.rows(), [{ key: 'k', results: [{ unit: 'a.service', type: 'stop', result: 'done' }], done: false }], 'partial results are kept');
  tx.resolve({ id: 7, results: [{ unit: 'a.service', type: 'restart', result: 'done' }] });
  const out = await first;
  t.same(await r.find('k')!.outcome, out);
  t.same(r.rows(), [{ key: 'k', results: out.results, done: true }]);
  t.ok(r.changed);
});

t.test('a new core: finished requests answer at once; unfinished ones carry the results already reached', async (t) => {
  const r = new Requests();
  r.restore([
    { key: 'old', results: [{ unit: 'a.service', type: 'start', result: 'done' }], done: true },
    { key: 'open', results: [{ unit: 'b.service', type: 'start', result: 'done' }], done: false },
  ]);
  t.same((await r.find('old')!.outcome).results, [{ unit: 'a.service', type: 'start', result: 'done' }]);
  t.equal(r.find('open'), null, 'unfinished: it comes back with its queued jobs');
  const tx = deferred();
  const p = r.add('open', 1, tx.promise, [{ unit: 'b.service', type: 'start', result: 'done' }]);
  tx.resolve({ id: 1, results: [{ unit: 'c.service', type: 'start', result: 'failed' }] });
  t.same((await p).results.map((x) => x.unit), ['b.service', 'c.service']);
});

t.test('only the newest requests are kept, never an unfinished one', async (t) => {
  const r = new Requests();
  const open = deferred();
  r.add('open', 0, open.promise);
  for (let i = 1; i <= 300; i++) {
    await r.add(`k${i}`, i, Promise.resolve({ id: i, results: [] }));
  }
  r.add('last', 301, Promise.resolve({ id: 301, results: [] }));
  t.ok(r.find('open'), 'the unfinished one stays');
  t.equal(r.find('k1'), null, 'the oldest finished ones go');
  t.ok(r.find('k300'));
  t.ok(r.rows().length <= 257);
});
