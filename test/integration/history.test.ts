// Every apply that changes something is recorded in the transaction journal, with a savepoint per job
// (docs/transactions.md); sctl history and show-transaction read it; a failed apply is rolled back.
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
  t.equal((await up.sctl('apply', '--yes', '--no-rollback', b)).code, 1, 'a failing job fails the apply');
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

t.test('a failed apply is rolled back: definitions, unit set and active set as before; untouched units keep their PIDs', async (t) => {
  const dir = scratch();
  const mark = marker();
  const svc = (name: string, extra = '') => `[service.${name}]\nExecStart = ["/bin/sh", "-c", "echo ${name}; exec sleep ${mark}"]\n${extra}`;
  const before = [svc('keep'), svc('changed'), svc('removed')].join('\n');
  const up = new Up(writeSpec(dir, before), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const units = async () =>
    Object.fromEntries(
      (await up.json<{ name: string; active: string; mainPid: number | null }[]>('list-units', '--type=service')).map((u) => [u.name, u]),
    );
  const pre = await units();
  // changed gets a definition that fails; removed goes; added comes: the transaction fails on changed.
  const after = [svc('keep'), '[service.changed]\nType = "oneshot"\nExecStart = ["/bin/false"]\n', svc('added')].join('\n');
  const r = await up.sctl('apply', '--yes', writeSpec(dir, after, 'after.toml'));
  t.equal(r.code, 1, 'exit non-zero: rolled back');
  t.match(r.stdout, /Rolled back: transaction 2 undone/);
  const post = await units();
  t.same(Object.keys(post).sort(), Object.keys(pre).sort(), 'the same units: added one gone, removed one back');
  t.same(Object.values(post).map((u) => u.active), Object.values(pre).map(() => 'active'), 'all active again');
  t.equal(post['keep.service'].mainPid, pre['keep.service'].mainPid, 'the untouched unit kept its PID');
  t.match((await up.sctl('cat', 'changed')).stdout, /echo changed/, 'the old definition is back');
  const history = await up.json<{ id: number; result: string }[]>('history');
  t.match(history[1], { id: 2, result: 'rolled-back' });
  const shown = await up.json<{ savepoints: { phase: string }[] }>('show-transaction', '2');
  t.ok(shown.savepoints.some((s) => s.phase === 'rollback'), 'the rollback has savepoints of its own');
});
