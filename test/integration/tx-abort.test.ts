// An apply is cut short by its timeout or by Ctrl-C, and a failed Wants= job fails it only with --strict
// (docs/transactions.md, Failure). Each ends rolled back to the pre-state.
import { spawn } from 'node:child_process';
import path from 'node:path';
import t, { type Test } from 'tap';
import { bin, marker, scratch, Up, writeSpec, type Run } from './harness.js';

interface Unit {
  name: string;
  active: string;
  mainPid: number | null;
}

/** An `up` running `keep`, and a spec adding `fast` and `held`, whose start waits for a gate that never opens. */
async function withHeld(t: Test) {
  const dir = scratch();
  const mark = marker();
  const keep = `[service.keep]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  const up = new Up(writeSpec(dir, keep), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const held = `[service.held]\nExecStartPre = ["/bin/sh", "-c", "while [ ! -e ${path.join(dir, 'gate')} ]; do sleep 0.02; done"]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  const fast = `[service.fast]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  const spec = writeSpec(dir, [keep, fast, held].join('\n'), 'new.toml');
  const units = () => up.json<Unit[]>('list-units', '--type=service');
  return { up, spec, before: await units(), units };
}

async function rolledBack(t: Test, up: Up, before: Unit[], after: Unit[], reason: RegExp) {
  t.same(after, before, 'the pre-state: the new units are gone, keep runs with the same PID');
  const history = await up.json<{ id: number; result: string }[]>('history');
  t.match(history.at(-1), { id: 2, result: 'rolled-back' });
  const shown = await up.json<{ errors: { message: string }[]; savepoints: { phase: string; unit: string; type: string }[] }>('show-transaction', '2');
  t.ok(shown.errors.some((e) => reason.test(e.message)), `the journal says why: ${reason}`);
  t.ok(shown.savepoints.some((s) => s.phase === 'rollback' && s.unit === 'fast.service' && s.type === 'stop'), 'the rollback stopped what the apply had started');
}

t.test('--timeout: jobs still running when it expires are canceled and the apply is rolled back', async (t) => {
  const { up, spec, before, units } = await withHeld(t);
  const r = await up.sctl('apply', '--yes', '--timeout', '1s', spec);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /Apply failed: timed out after 1s/);
  t.match(r.stdout, /Rolled back: transaction 2 undone/);
  t.match(r.stdout, /Rollback jobs: .*stop fast\.service/);
  await rolledBack(t, up, before, await units(), /timed out after 1s/);
});

t.test('--timeout takes systemd time spans and refuses anything else before asking the core', async (t) => {
  const { up, spec, before, units } = await withHeld(t);
  const r = await up.sctl('apply', '--yes', '--timeout', 'soon', spec);
  t.equal(r.code, 1);
  t.match(r.stderr, /--timeout: cannot read "soon" as a duration/);
  t.same(await units(), before, 'nothing changed');
  t.equal((await up.json<unknown[]>('history')).length, 1, 'nothing recorded');
});

t.test('Ctrl-C in sctl apply interrupts the transaction: rolled back, exit 130', async (t) => {
  const { up, spec, before, units } = await withHeld(t);
  const child = spawn(process.execPath, [bin('sctl'), '--state-dir', up.stateDir, 'apply', '--yes', spec], { env: { ...process.env, NO_COLOR: '1' } });
  const run: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (run.stdout += d));
  child.stderr.on('data', (d) => (run.stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  await up.waitFor(/held\.service +\| inactive → activating \(start-pre\)/);
  // fast is up too: the rollback has something to stop.
  await up.prop('fast.service', 'ActiveState', (v) => v === 'active');
  child.kill('SIGINT');
  t.equal(await exited, 130);
  t.match(run.stderr, /Interrupted: rolling back/);
  t.match(run.stdout, /Apply failed: interrupted by the user/);
  t.match(run.stdout, /Rolled back/);
  await rolledBack(t, up, before, await units(), /interrupted by the user/);
});

t.test('abort with nothing running, or naming another request, is refused', async (t) => {
  const { up } = await withHeld(t);
  await t.rejects(up.call('abort'), { code: 'ENOTRANSACTION' });
  await t.rejects(up.call('abort', { key: 'nobody' }), { code: 'ENOTRANSACTION' });
});

t.test('a failed Wants= job fails the apply only with --strict', async (t) => {
  const dir = scratch();
  const mark = marker();
  // broken is in the spec from the start (it failed at boot): the apply pulls it in again only through
  // default.target's Wants=, so its failure is a wanted job's, while the unit the apply adds comes up.
  const base = `[service.keep]\nExecStart = ["/bin/sleep", "${mark}"]\n\n[service.broken]\nType = "oneshot"\nExecStart = ["/bin/false"]\n`;
  const up = new Up(writeSpec(dir, base), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const spec = writeSpec(dir, `${base}\n[service.extra]\nExecStart = ["/bin/sleep", "${mark}"]\n`, 'extra.toml');
  const plan = JSON.parse((await up.sctl('-o', 'json', 'plan', spec)).stdout) as { jobs: { unit: string; type: string }[] };
  t.ok(plan.jobs.some((j) => j.unit === 'broken.service' && j.type === 'start'), 'the plan starts broken again (wanted)');

  const strict = await up.sctl('apply', '--yes', '--strict', spec);
  t.equal(strict.code, 1, 'strict: the wanted failure fails it');
  t.match(strict.stdout, /start broken\.service \(failed\)/);
  t.match(strict.stdout, /Rolled back/);
  t.notOk((await up.json<Unit[]>('list-units')).some((u) => u.name === 'extra.service'), 'rolled back: extra is gone');

  const lax = await up.sctl('apply', '--yes', spec);
  t.equal(lax.code, 0, 'without --strict it commits');
  t.match((await up.json<Unit[]>('list-units')).find((u) => u.name === 'extra.service'), { active: 'active' });
  t.same((await up.json<{ result: string }[]>('history')).map((h) => h.result), ['failed', 'rolled-back', 'committed']);
});

t.test('a unit the apply adds that fails to start fails it, though default.target only Wants= it', async (t) => {
  const dir = scratch();
  const mark = marker();
  const base = `[service.keep]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  const up = new Up(writeSpec(dir, base), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const r = await up.sctl('apply', '--yes', writeSpec(dir, `${base}\n[service.bad]\nType = "oneshot"\nExecStart = ["/bin/false"]\n`, 'bad.toml'));
  t.equal(r.code, 1);
  t.match(r.stdout, /Apply failed: start bad\.service \(failed\)/);
  t.notOk((await up.json<Unit[]>('list-units')).some((u) => u.name === 'bad.service'), 'rolled back');
});
