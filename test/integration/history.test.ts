// Every apply that changes something is recorded in the transaction journal, with a savepoint per job
// (docs/transactions.md); sctl history and show-transaction read it; a failed apply is rolled back.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
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

/** Apply a spec whose new units hold in ExecStartPre until a gate opens, then kill -9 the core in the middle. */
async function crashMidApply(t: Test, onCrash: 'rollback' | 'resume') {
  const dir = scratch();
  const mark = marker();
  const gate = path.join(dir, 'gate');
  const keep = `[service.keep]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  const up = new Up(writeSpec(dir, keep), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const keepPid = (await up.json<{ mainPid: number }[]>('list-units', '--type=service'))[0].mainPid;
  const held = (n: string) => `[service.${n}]\nExecStartPre = ["/bin/sh", "-c", "while [ ! -e ${gate} ]; do sleep 0.02; done"]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  const spec = writeSpec(dir, `[manager]\nOnCrash = "${onCrash}"\n\n${keep}\n${held('x1')}\n${held('x2')}`, 'new.toml');
  const apply = up.sctl('apply', '--yes', spec);
  await up.waitFor(/x1\.service +\| inactive → activating \(start-pre\)/);
  const core = up.corePid();
  process.kill(core, 'SIGKILL');
  await up.waitFor(/left running by the previous core/);
  fs.writeFileSync(gate, '');
  const history = async () => (await up.json<{ id: number; result: string }[]>('history'))[1];
  for (let i = 0; i < 200 && ['running', 'rolling-back'].includes((await history()).result); i++) await new Promise((r) => setTimeout(r, 50));
  const client = await apply;
  const units = await up.json<{ name: string; active: string; mainPid: number }[]>('list-units', '--type=service');
  return { units, keepPid, result: (await history()).result, client };
}

t.test('an apply cut by kill -9 is rolled back by the next core (OnCrash = "rollback")', async (t) => {
  const r = await crashMidApply(t, 'rollback');
  t.equal(r.result, 'rolled-back');
  t.equal(r.client.code, 1, 'sctl apply, whose connection the dead core dropped, reports the outcome: rolled back');
  t.match(r.client.stdout, /Rolled back: transaction 2/);
  t.same(r.units.map((u) => [u.name, u.active]), [['keep.service', 'active']], 'the pre-state: the new units are gone');
  t.equal(r.units[0].mainPid, r.keepPid, 'the untouched unit kept its PID');
});

t.test('an apply cut by kill -9 is finished by the next core (OnCrash = "resume")', async (t) => {
  const r = await crashMidApply(t, 'resume');
  t.equal(r.result, 'committed');
  t.equal(r.client.code, 0, 'sctl apply reports the commit');
  t.same(r.units.map((u) => [u.name, u.active]), [['keep.service', 'active'], ['x1.service', 'active'], ['x2.service', 'active']], 'the post-state');
  t.equal(r.units[0].mainPid, r.keepPid, 'the untouched unit kept its PID');
});

t.test('sctl rollback reverts the last committed apply as a new transaction; only its units are touched', async (t) => {
  const dir = scratch();
  const mark = marker();
  const svc = (name: string, word = name) => `[service.${name}]\nExecStart = ["/bin/sh", "-c", "echo ${word}; exec sleep ${mark}"]\n`;
  const up = new Up(writeSpec(dir, [svc('keep'), svc('changed', 'old')].join('\n')), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  t.equal((await up.sctl('apply', '--yes', writeSpec(dir, [svc('keep'), svc('changed', 'new'), svc('added')].join('\n'), 'b.toml'))).code, 0);
  const keepPid = (await up.json<{ name: string; mainPid: number }[]>('list-units', '--type=service')).find((u) => u.name === 'keep.service')!.mainPid;
  const r = await up.sctl('rollback');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Reverted as transaction 3/);
  const units = await up.json<{ name: string; active: string; mainPid: number }[]>('list-units', '--type=service');
  t.same(units.map((u) => [u.name, u.active]), [['changed.service', 'active'], ['keep.service', 'active']], 'added is gone');
  t.equal(units.find((u) => u.name === 'keep.service')!.mainPid, keepPid, 'untouched: same PID');
  t.match((await up.sctl('cat', 'changed')).stdout, /echo old/, 'the earlier definition');
  t.match((await up.json<unknown[]>('history'))[2], { id: 3, kind: 'rollback', reverts: 2, result: 'committed' });
  // Rolling back the rollback does the apply again.
  t.equal((await up.sctl('rollback', '3')).code, 0, 'a rollback is reverted too');
  const again = await up.json<{ name: string; active: string; mainPid: number }[]>('list-units', '--type=service');
  t.same(again.map((u) => [u.name, u.active]), [['added.service', 'active'], ['changed.service', 'active'], ['keep.service', 'active']], 'added is back');
  t.match((await up.sctl('cat', 'changed')).stdout, /echo new/, 'the definition of the apply');
  t.equal(again.find((u) => u.name === 'keep.service')!.mainPid, keepPid, 'untouched: same PID');
  t.match((await up.json<unknown[]>('history'))[3], { id: 4, kind: 'rollback', reverts: 3, result: 'committed' });
  t.equal((await up.sctl('rollback', '99')).code, 1, 'no such transaction');
});

t.test('one apply at a time: a second is refused naming the running one, or queued with --wait', async (t) => {
  const dir = scratch();
  const mark = marker();
  const gate = path.join(dir, 'gate');
  const base = `[service.a]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  const up = new Up(writeSpec(dir, base), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const held = writeSpec(dir, `${base}\n[service.h]\nExecStartPre = ["/bin/sh", "-c", "while [ ! -e ${gate} ]; do sleep 0.02; done"]\nExecStart = ["/bin/sleep", "${mark}"]\n`, 'held.toml');
  const first = up.sctl('apply', '--yes', held);
  await up.waitFor(/h\.service +\| inactive → activating \(start-pre\)/);
  const other = writeSpec(dir, `${base}\n[service.h]\nExecStart = ["/bin/sleep", "${mark}"]\n\n[service.w]\nExecStart = ["/bin/sleep", "${mark}"]\n`, 'other.toml');
  const refused = await up.sctl('apply', '--yes', other);
  t.equal(refused.code, 1);
  t.match(refused.stderr, new RegExp(`transaction 2 \\(${held.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\) is running`));
  const queued = up.sctl('apply', '--yes', '--wait', other);
  await new Promise((r) => setTimeout(r, 300));
  fs.writeFileSync(gate, '');
  t.equal((await first).code, 0);
  t.equal((await queued).code, 0, 'the queued one ran after it');
  t.same((await up.json<{ id: number; result: string }[]>('history')).map((h) => [h.id, h.result]), [[1, 'committed'], [2, 'committed'], [3, 'committed']]);
});
