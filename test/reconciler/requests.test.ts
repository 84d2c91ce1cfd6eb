import t from 'tap';
import { Requests } from '../../reconciler/requests.js';
import type { TransactionOutcome } from '../../transactions/engine.js';

const deferred = () => {
  let resolve!: (o: TransactionOutcome) => void;
  const promise = new Promise<TransactionOutcome>((r) => (resolve = r));
  return { promise, resolve };
};
const a = { unit: 'a.service', type: 'restart' as const };
const b = { unit: 'b.service', type: 'restart' as const };

t.test('a retried key finds the first request: same outcome, no new transaction', async (t) => {
  const r = new Requests();
  t.equal(r.find('k'), null);
  const tx = deferred();
  const first = r.add('k', 7, [a, b], tx.promise);
  t.equal(r.find('k')!.tx, 7);
  r.recorded(7, { ...a, result: 'done' });
  r.recorded(8, { ...b, result: 'done' }); // another transaction's
  t.same(r.rows(), [{ key: 'k', entries: [a, b], results: [{ ...a, result: 'done' }], done: false }], 'results kept as they come');
  tx.resolve({ id: 7, results: [{ ...a, result: 'done' }, { ...b, result: 'done' }] });
  const out = await first;
  t.same(await r.find('k')!.outcome, out);
  t.same(r.rows()[0].done, true);
  t.ok(r.changed);
});

t.test('a new core: finished requests answer at once; unfinished ones say what they still wait for', async (t) => {
  const r = new Requests();
  const open = r.restore([
    { key: 'old', entries: [a], results: [{ ...a, result: 'done' }], done: true },
    { key: 'open', entries: [a, b], results: [{ ...a, result: 'done' }], done: false },
  ]);
  t.same((await r.find('old')!.outcome).results, [{ ...a, result: 'done' }]);
  t.same(open, [{ key: 'open', pending: [b], before: [{ ...a, result: 'done' }] }]);
  t.equal(r.find('open'), null, 'unfinished: it comes back through add()');
  const tx = deferred();
  const p = r.add('open', 1, [{ unit: 'b.service', type: 'start' }], tx.promise, open[0].before);
  tx.resolve({ id: 1, results: [{ unit: 'b.service', type: 'start', result: 'failed' }] });
  t.same((await p).results.map((x) => `${x.unit} ${x.result}`), ['a.service done', 'b.service failed']);
});

t.test('only the newest requests are kept, never an unfinished one', async (t) => {
  const r = new Requests();
  r.add('open', 0, [a], deferred().promise);
  for (let i = 1; i <= 300; i++) await r.add(`k${i}`, i, [], Promise.resolve({ id: i, results: [] }));
  r.add('last', 301, [], Promise.resolve({ id: 301, results: [] }));
  t.ok(r.find('open'), 'the unfinished one stays');
  t.equal(r.find('k1'), null, 'the oldest finished ones go');
  t.ok(r.find('k300'));
  t.ok(r.rows().length <= 257);
});
