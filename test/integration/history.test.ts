// Every apply that changes something is recorded in the transaction journal, with a savepoint per job
// (docs/transactions.md); sctl history and show-transaction read it. Rollback is not built yet (issue 4).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { Journal } from '../../reconciler/journal.js';
import { marker, scratch, Up, writeSpec } from './harness.js';

t.test('applies are journaled: committed, failed, nothing to do; read back by sctl and from the file', async (t) => {
  const dir = scratch();
  const mark = marker();
  const a = `[service.a]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  const up = new Up(writeSpec(dir, a), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const first = await up.json<{ id: number; result: string; jobs: { planned: number; done: number } }[]>('history');
  t.match(first, [{ id: 1, result: 'committed' }], 'the first apply of up');

  t.equal((await up.sctl('apply', '--yes', writeSpec(dir, a))).code, 0);
  t.equal((await up.json<unknown[]>('history')).length, 1, 'nothing to do: nothing recorded');

  // a changes and must restart; its new command fails: a required job failed.
  const b = writeSpec(dir, `[service.a]\nType = "oneshot"\nExecStart = ["/bin/false"]\n`, 'b.toml');
  t.equal((await up.sctl('apply', '--yes', b)).code, 1, 'a failing job fails the apply');
  const list = await up.json<{ id: number; result: string; specFile: string; jobs: { failed: number } }[]>('history');
  t.match(list[1], { id: 2, result: 'failed', specFile: b, jobs: { failed: 1 } });

  const shown = await up.json<{ after: Record<string, { name: string }>; before: Record<string, { name: string }>; savepoints: { unit: string; result: string }[]; errors: { message: string }[] }>('show-transaction', '2');
  t.same(Object.keys(shown.after), ['a.service']);
  t.equal(shown.before['a.service'].name, 'a.service', 'changed: its definition before is kept');
  t.match(shown.savepoints, [{ unit: 'a.service', result: 'failed' }]);
  t.match(shown.errors, [{ message: /a\.service: failed/ }]);
  t.equal((await up.sctl('show-transaction', '99')).code, 1);

  // The journal on disk holds the same: every savepoint was written as it came.
  const file = path.join(dir, 'state', 'journal', 'journal.db');
  t.ok(fs.existsSync(file));
  const j = await Journal.open(file);
  t.same(j.savepoints(2).map((s) => [s.unit, s.result]), [['a.service', 'failed']]);
});
