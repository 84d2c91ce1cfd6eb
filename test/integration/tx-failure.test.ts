// Failure and rollback end to end (docs/transactions.md): an apply failing at each of its 30 jobs is rolled back to
// the pre-state; sctl plan predicts the jobs apply runs; a failed `sctl rollback` is itself rolled back; rollback
// beside a crash-looping unit; an apply with nothing to do; a plan that cannot be built.
//
// TX_SWEEP_STEPS: how many of the 30 jobs the sweep fails, spread evenly (default: all 30).
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { Savepoint, TxResult } from '../../reconciler/journal.js';
import type { Plan } from '../../reconciler/plan.js';
import { marker, scratch, sleep, Up, writeSpec, type Run } from './harness.js';

/** A unit as the tests compare it: its definition (hash, file), its state, and its main process. */
interface Seen {
  hash: string;
  file: string;
  active: string;
  sub: string;
  pid: string;
}
type State = Record<string, Seen>;

async function state(up: Up): Promise<State> {
  const out: State = {};
  for (const { name } of await up.call<{ name: string }[]>('list-units')) {
    const p = await up.call<Record<string, string>>('show', { unit: name });
    out[name] = { hash: p.ConfigHash, file: p.FragmentPath, active: p.ActiveState, sub: p.SubState, pid: p.MainPID };
  }
  return out;
}

/** The unit set, each unit's definition and where it is: all but the PIDs, which a restarted unit does not keep. */
const shape = (s: State) => Object.fromEntries(Object.entries(s).map(([n, u]) => [n, `${u.hash} ${u.file} ${u.active}/${u.sub}`]));
const pids = (s: State, units: string[]) => units.map((n) => `${n} ${s[n]?.pid}`);

interface Tx {
  id: number;
  kind: string;
  reverts: number | null;
  result: TxResult;
  jobs: { planned: number; done: number; failed: number };
}
const history = (up: Up) => up.call<Tx[]>('history');
const shown = (up: Up, id: number) => up.call<{ savepoints: Savepoint[]; errors: { message: string }[] }>('show-transaction', { id });
const plan = (up: Up, spec: string) => up.call<Plan>('plan', { spec });
const job = (j: { unit: string; type: string }) => `${j.type} ${j.unit}`;
const phase = (sps: Savepoint[], p: Savepoint['phase']) => sps.filter((s) => s.phase === p);

const svc = (name: string, mark: string, extra = '') => `[service.${name}]\nExecStart = ["/bin/sleep", "${mark}"]\n${extra}`;

/** A dir, an `up` of the spec `text` writes in it, torn down with all it started; `cleanup` runs first (open gates). */
async function boot(t: Test, text: (dir: string, mark: string) => string, cleanup = (_dir: string) => {}) {
  const dir = scratch('sm-txfail-');
  const mark = marker();
  const spec = writeSpec(dir, text(dir, mark), 'a.toml');
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(async () => {
    cleanup(dir);
    await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await up.ready();
  return { dir, mark, spec, up };
}

/** Poll until `ok` holds: for states the tests wait for over the socket. */
async function poll(what: string, up: Up, ok: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}:\n${up.output.slice(-3000)}`);
    await sleep(20);
  }
}

// ---- 1. Failure at every step ----

/** Chain positions by kind: the apply restarts `c`, adds `n`, removes `r` (a stop), and leaves `k` alone. */
const KINDS = ['c', 'n', 'r', 'c', 'n', 'k'] as const;
const chain = Array.from({ length: 36 }, (_, i) => `${KINDS[i % KINDS.length]}${String(i + 1).padStart(2, '0')}`);
const kind = (name: string) => name[0] as (typeof KINDS)[number];
const JOBS = chain.filter((n) => kind(n) !== 'k').length;

function steps(): number[] {
  const n = Number(process.env.TX_SWEEP_STEPS ?? JOBS);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TX_SWEEP_STEPS must be a positive count, not ${process.env.TX_SWEEP_STEPS}`);
  if (n >= JOBS) return Array.from({ length: JOBS }, (_, i) => i + 1);
  if (n === 1) return [JOBS];
  return [...new Set(Array.from({ length: n }, (_, i) => Math.round(1 + (i * (JOBS - 1)) / (n - 1))))];
}
const sweep = steps();
// 2 to 4 s a step on 2 cores beside other test files (the whole file: 70 to 120 s); the file default is 120 s.
t.setTimeout(120_000 + sweep.length * 10_000);

/**
 * The sweep's specs. Every unit is ordered After= every unit before it in the chain (so a stack comes up in one
 * order); StartLimitIntervalSec=0 because the sweep restarts the same units dozens of times a minute. A start or
 * restart fails by ExecStartPre=/bin/false in the unit's new definition. A stop job ends `done` however the service
 * goes down, so it fails only by being canceled while it runs: a removed unit's ExecStop waits for its gate file,
 * and the test interrupts the apply there (the `abort` Ctrl-C sends).
 */
function sweepSpec(dir: string, mark: string, which: 'pre' | 'post', failing: string | null = null): string {
  const units = chain.filter((n) => (which === 'pre' ? kind(n) !== 'n' : kind(n) !== 'r'));
  return units
    .map((name, i) => {
      const lines = [`[service.${name}]`, `After = [${units.slice(0, i).map((u) => `"${u}.service"`).join(', ')}]`, 'StartLimitIntervalSec = 0'];
      if (name === failing) lines.push('ExecStartPre = ["/bin/false"]');
      lines.push(`ExecStart = ["/bin/sleep", "${mark}"]`);
      if (kind(name) === 'c') lines.push(`Environment = { V = "${which === 'pre' ? 'old' : 'new'}" }`);
      if (kind(name) === 'r') lines.push(`ExecStop = ["/bin/sh", "-c", "while [ ! -e ${dir}/gates/${name} ]; do sleep 0.02; done"]`);
      return lines.join('\n') + '\n';
    })
    .join('\n');
}

t.test(`an apply of ${JOBS} jobs failing at its k-th job, k = ${sweep.length === JOBS ? `1..${JOBS}` : sweep.join(',')}: each rolled back to the pre-state`, async (t) => {
  const gates = (dir: string) => path.join(dir, 'gates');
  const openAll = (dir: string) => chain.forEach((n) => fs.writeFileSync(path.join(gates(dir), n), ''));
  const { dir, mark, spec: pre, up } = await boot(
    t,
    (d, m) => {
      fs.mkdirSync(gates(d));
      openAll(d);
      return sweepSpec(d, m, 'pre');
    },
    openAll,
  );
  const post = writeSpec(dir, sweepSpec(dir, mark, 'post'), 'post.toml');
  const preState = await state(up);
  const untouched = chain.filter((n) => kind(n) === 'k').map((n) => `${n}.service`);
  const changed = chain.filter((n) => kind(n) === 'c').map((n) => `${n}.service`);
  t.ok(untouched.every((n) => preState[n].active === 'active' && Number(preState[n].pid) > 0), 'the untouched units run');

  const planned = (await plan(up, post)).jobs;
  const want = { c: 'restart', n: 'start', r: 'stop' } as const;
  t.same(
    planned.map(job).sort(),
    chain.filter((n) => kind(n) !== 'k').map((n) => `${want[kind(n) as 'c' | 'n' | 'r']} ${n}.service`).sort(),
    `${JOBS} jobs: a restart of each changed unit, a start of each added one, a stop of each removed one; none for the untouched`,
  );

  for (const k of sweep) {
    await t.test(`job ${k} of ${JOBS} fails (${job(planned[k - 1])})`, async (t) => {
      // Each step starts from the pre-state, also after a step that failed to restore it.
      const left = await plan(up, pre);
      if (left.added.length || left.removed.length || left.changed.length || left.jobs.length) {
        t.equal((await up.sctl('apply', '--yes', pre)).code, 0, 'back to the pre-state, which the previous step did not restore');
      }
      const target = planned[k - 1];
      const name = target.unit.replace(/\.service$/, '');
      const stop = target.type === 'stop';
      const spec = writeSpec(dir, sweepSpec(dir, mark, 'post', stop ? null : name), `post-${k}.toml`);
      t.same((await plan(up, spec)).jobs, planned, 'the same jobs in the same order: the k-th job is the same one');
      const id = (await history(up)).length + 1;

      let r: Run;
      if (stop) {
        fs.rmSync(path.join(gates(dir), name));
        const apply = up.sctl('apply', '--yes', spec);
        await up.prop(target.unit, 'ActiveState', (v) => v === 'deactivating', 60_000);
        t.same(await up.call('abort'), { transaction: id }, 'interrupted while the stop runs');
        // The stop ends only once the rollback has queued its jobs (or run some): it has to deal with a unit stopping.
        await poll(`the rollback of ${id} under way`, up, async () => {
          const tx = (await history(up))[id - 1];
          return tx.result !== 'running' && (phase((await shown(up, id)).savepoints, 'rollback').length > 0 || (await up.call<unknown[]>('list-jobs')).length > 0);
        });
        fs.writeFileSync(path.join(gates(dir), name), '');
        r = await apply;
        t.match(r.stdout, /Apply failed: interrupted by the user/);
        await poll(`${target.unit} stopped`, up, () => up.call<Record<string, string>>('show', { unit: target.unit }).then((p) => p.ActiveState !== 'deactivating', () => true));
      } else {
        r = await up.sctl('apply', '--yes', spec);
        t.match(r.stdout, new RegExp(`Apply failed: .*${target.type} ${target.unit} \\(failed\\)`));
      }
      t.equal(r.code, 1, 'exit 1');
      t.match(r.stdout, new RegExp(`Rolled back: transaction ${id} undone`));
      t.match((await history(up)).at(-1), { id, result: 'rolled-back' }, 'history: rolled-back');

      const tx = await shown(up, id);
      const ran = phase(tx.savepoints, 'apply');
      t.same(ran.map(job).sort(), planned.map(job).sort(), 'a savepoint for each planned job');
      t.same(ran.find((s) => s.unit === target.unit)?.result, stop ? 'canceled' : 'failed', 'the k-th job failed');
      if (!stop) t.same(ran.filter((s) => s.result !== 'done').map(job), [job(target)], 'and no other (After= alone does not fail the rest)');
      t.ok(phase(tx.savepoints, 'rollback').length > 0, 'the rollback ran jobs of its own');

      const now = await state(up);
      t.same(shape(now), shape(preState), 'the pre-state: the same units, definitions (hash, file) and active set');
      t.same(pids(now, untouched), pids(preState, untouched), 'the untouched units kept their PIDs');
      const again = await plan(up, pre);
      t.same([again.added, again.removed, again.changed, again.jobs], [[], [], [], []], 'sctl plan of the first spec: nothing to do');
      await up.call('job', { units: changed, type: 'restart' });
      const restarted = await state(up);
      t.same(
        changed.map((n) => `${n} ${restarted[n].hash}`),
        changed.map((n) => `${n} ${preState[n].hash}`),
        'restarted, the changed units still run their pre-state definitions: none is left pending',
      );
    });
  }
});

// ---- 2. sctl plan predicts the jobs apply runs ----

t.test('sctl plan predicts exactly the jobs apply runs: restarts, stops, starts, and what dependencies pull in', async (t) => {
  // An explicit default.target, so `lazy` is defined but stopped until something needs it.
  const base = (m: string, wants: string[], c: string) =>
    [
      `[target.default]\nWants = [${wants.map((w) => `"${w}.service"`).join(', ')}]\n`,
      svc('base', m),
      svc('c', m, `Environment = { V = "${c}" }\n`),
      svc('d', m, 'Requires = ["c.service"]\nAfter = ["c.service"]\n'),
      svc('lazy', m),
    ].join('\n');
  const added = (m: string) => [
    svc('n', m, 'Requires = ["lazy.service"]\nAfter = ["lazy.service"]\n'),
    '[service.m]\nType = "oneshot"\nRemainAfterExit = true\nAfter = ["n.service"]\nExecStart = ["/bin/true"]\n',
  ];
  const { dir, mark, up } = await boot(t, (_, m) => `${base(m, ['base', 'c', 'd', 'r'], 'old')}\n${svc('r', m)}`);
  const b = writeSpec(dir, [base(mark, ['base', 'c', 'd', 'n', 'm'], 'new'), ...added(mark)].join('\n'), 'b.toml');
  const pre = await state(up);
  const p = await plan(up, b);
  const predicted = p.jobs.map(job).sort();
  t.ok(predicted.includes('restart d.service'), 'the plan restarts d, which Requires= the changed c');
  t.ok(predicted.includes('start lazy.service'), 'and starts lazy, which the added n Requires=');

  const cli = await up.sctl('-o', 'json', 'plan', b);
  t.equal(cli.code, 2, 'sctl plan: exit 2, changes');
  t.same((JSON.parse(cli.stdout) as Plan).jobs.map(job).sort(), predicted, 'sctl plan -o json shows the same jobs');

  const r = await up.sctl('-o', 'json', 'apply', '--yes', b);
  t.equal(r.code, 0, r.stderr);
  const applied = JSON.parse(r.stdout) as { transaction: number; results: { unit: string; type: string; result: string }[] };
  const id = applied.transaction;
  const saved = phase((await shown(up, id)).savepoints, 'apply');
  t.same(saved.map(job).sort(), predicted, 'the journal: a savepoint for each predicted job, and for no other');
  t.ok(saved.every((s) => s.result === 'done'), 'all done');
  const extra = applied.results.filter((x) => !predicted.includes(job(x)));
  t.same(predicted.filter((j) => !applied.results.some((x) => job(x) === j)), [], 'apply -o json lists every predicted job');
  t.ok(extra.every((x) => x.type === 'start' && pre[x.unit]?.active === 'active'), 'and beside them only no-ops: starts of units already up', { extra });
  t.match((await history(up)).at(-1), { id, result: 'committed', jobs: { planned: p.jobs.length, done: p.jobs.length, failed: 0 } });

  // A target and a start skipped by its Condition complete while they are queued (no process to wait for).
  const c = writeSpec(
    dir,
    [
      base(mark, ['base', 'c', 'd', 'n', 'm', 'cond'], 'new').replace('Wants = [', 'Wants = ["extra.target", '),
      ...added(mark),
      '[target.extra]\nWants = ["late.service"]\n',
      svc('late', mark),
      svc('cond', mark, `ConditionPathExists = ["${dir}/absent"]\n`),
    ].join('\n'),
    'c.toml',
  );
  const q = await plan(up, c);
  t.same(q.jobs.map(job).sort(), ['start cond.service', 'start extra.target', 'start late.service'], 'the plan: a target and two services to start');
  t.equal((await up.sctl('apply', '--yes', c)).code, 0);
  const more = phase((await shown(up, id + 1)).savepoints, 'apply');
  t.same(more.map(job).sort(), q.jobs.map(job).sort(), 'a savepoint for each of them too');
});

// ---- 3. A failed `sctl rollback` is rolled back ----

t.test('sctl rollback whose revert fails is itself rolled back: the system stays as the apply left it', async (t) => {
  const need = (dir: string) => path.join(dir, 'need');
  // f's first definition needs a file to start; its second does not.
  const { dir, mark, up } = await boot(t, (d, m) => {
    fs.writeFileSync(need(d), '');
    return [svc('keep', m), svc('f', m, `ExecStartPre = ["/bin/sh", "-c", "test -e ${need(d)}"]\nEnvironment = { V = "old" }\n`), svc('gone', m)].join('\n');
  });
  const b = writeSpec(dir, [svc('keep', mark), svc('f', mark, 'Environment = { V = "new" }\n'), svc('added', mark)].join('\n'), 'b.toml');
  const stateA = await state(up);

  t.equal((await up.sctl('apply', '--yes', b)).code, 0, 'apply B: transaction 2');
  const r3 = await up.sctl('rollback');
  t.equal(r3.code, 0, r3.stderr);
  t.same(shape(await state(up)), shape(stateA), 'rolled back to A by transaction 3');
  t.equal((await up.sctl('apply', '--yes', b)).code, 0, 'apply B again: transaction 4');
  const stateB = await state(up);

  fs.rmSync(need(dir));
  const r = await up.sctl('rollback');
  t.equal(r.code, 1, 'the revert failed: exit 1');
  t.match(r.stdout, /Revert failed: see sctl show-transaction 5\./);
  t.match(r.stdout, /The revert was rolled back: the system is as it was\./);
  t.same(
    (await history(up)).map((h) => [h.id, h.kind, h.reverts, h.result]),
    [
      [1, 'apply', null, 'committed'],
      [2, 'apply', null, 'committed'],
      [3, 'rollback', 2, 'committed'],
      [4, 'apply', null, 'committed'],
      [5, 'rollback', 4, 'rolled-back'],
    ],
    'the revert of 4 is transaction 5, rolled back',
  );
  const tx = await shown(up, 5);
  t.same(phase(tx.savepoints, 'apply').find((s) => s.unit === 'f.service')?.result, 'failed', "the revert's start of f's old definition failed");
  t.ok(phase(tx.savepoints, 'rollback').length > 0, 'and was undone by jobs of its own');
  const now = await state(up);
  t.same(shape(now), shape(stateB), 'B: added is back, gone is gone again, f has its B definition and runs');
  t.same(pids(now, ['keep.service']), pids(stateB, ['keep.service']), 'keep, untouched, kept its PID');
  const p = await plan(up, b);
  t.same([p.added, p.removed, p.changed, p.jobs], [[], [], [], []], 'sctl plan of B: nothing to do');

  fs.writeFileSync(need(dir), '');
  const again = await up.sctl('rollback');
  t.equal(again.code, 0, 'with the file back, 4 can still be reverted: the failed revert did not count');
  t.match(again.stdout, /Reverted as transaction 6/);
  t.match((await history(up)).at(-1), { id: 6, kind: 'rollback', reverts: 4, result: 'committed' });
  t.same(shape(await state(up)), shape(stateA), 'A again');
});

// ---- 4. Rollback beside a crash-looping unit ----

/** NRestarts of `unit` rises by two: it is still crash-looping. */
async function loops(up: Up, unit: string): Promise<boolean> {
  const n = Number((await up.call<Record<string, string>>('show', { unit })).NRestarts);
  return up.prop(unit, 'NRestarts', (v) => Number(v) >= n + 2, 15_000).then(
    () => true,
    () => false,
  );
}

t.test('rollback beside a crash-looping unit, and of a change to it: it is put back crash-looping', async (t) => {
  const looping = (extra = '') =>
    `[service.loop]\n${extra}ExecStart = ["/bin/sh", "-c", "sleep 0.2; exit 1"]\nRestart = "always"\nRestartSec = "100ms"\nStartLimitIntervalSec = 0\n`;
  const failing = 'ExecStartPre = ["/bin/false"]\n';
  const { dir, mark, up } = await boot(t, (_, m) => [svc('keep', m), looping(), svc('other', m)].join('\n'));
  t.ok(await loops(up, 'loop.service'), 'loop crash-loops');
  const pre = await state(up);
  const kept = ['keep.service'];

  const cases: [string, string, boolean][] = [
    ['another unit fails; loop is not touched', [svc('keep', mark), looping(), svc('other', mark, failing)].join('\n'), false],
    ['loop gets a healthy definition, another unit fails', [svc('keep', mark), svc('loop', mark, 'Restart = "always"\n'), svc('other', mark, failing)].join('\n'), true],
    ["loop's new definition fails to start", [svc('keep', mark), looping(failing), svc('other', mark, 'Environment = { V = "new" }\n')].join('\n'), true],
  ];
  for (const [what, text, changed] of cases) {
    await t.test(what, async (t) => {
      const id = (await history(up)).length + 1;
      const r = await up.sctl('apply', '--yes', writeSpec(dir, text, `case-${id}.toml`));
      t.equal(r.code, 1);
      t.match((await history(up)).at(-1), { id, result: 'rolled-back' });
      const sps = (await shown(up, id)).savepoints;
      // The apply itself may start loop: default.target wants it, and between two runs it is not active.
      if (!changed) t.same(phase(sps, 'rollback').filter((s) => s.unit === 'loop.service'), [], 'the rollback left loop alone');
      else t.ok(phase(sps, 'rollback').some((s) => s.unit === 'loop.service'), 'the rollback put loop back');
      const now = await state(up);
      t.same(now['loop.service'].hash, pre['loop.service'].hash, 'loop has its crash-looping definition');
      t.same(pids(now, kept), pids(pre, kept), 'keep kept its PID');
      t.ok(await loops(up, 'loop.service'), 'loop is crash-looping again (not stopped by the rollback)');
    });
  }
});

t.test('a crash-looping unit caught between two runs when the apply began is left crash-looping by its rollback', async (t) => {
  const gate = (dir: string, g: string) => path.join(dir, g);
  // post: loop's cleanup waits there; run: while it is missing, loop's run does not end (it stays up).
  const { dir, mark, up } = await boot(
    t,
    (d, m) => {
      fs.writeFileSync(gate(d, 'post'), '');
      fs.writeFileSync(gate(d, 'run'), '');
      return `[service.keep]\nExecStart = ["/bin/sleep", "${m}"]\n
[service.loop]
ExecStart = ["/bin/sh", "-c", "sleep 0.1; while [ ! -e ${gate(d, 'run')} ]; do sleep 0.02; done; exit 1"]
ExecStopPost = ["/bin/sh", "-c", "while [ ! -e ${gate(d, 'post')} ]; do sleep 0.02; done"]
Restart = "always"
RestartSec = "100ms"
StartLimitIntervalSec = 0

[service.other]\nExecStart = ["/bin/sleep", "${m}"]\n`;
    },
    (d) => ['post', 'run', 'fail'].forEach((g) => fs.writeFileSync(gate(d, g), '')),
  );
  t.ok(await loops(up, 'loop.service'), 'loop crash-loops');
  // Hold loop in its cleanup (deactivating) when the apply begins, and running when the rollback begins.
  fs.rmSync(gate(dir, 'post'));
  await up.prop('loop.service', 'ActiveState', (v) => v === 'deactivating');
  fs.rmSync(gate(dir, 'run'));
  const spec = (await fs.promises.readFile(path.join(dir, 'a.toml'), 'utf8')).replace(
    /\[service\.other\]\n/,
    `[service.other]\nExecStartPre = ["/bin/sh", "-c", "while [ ! -e ${gate(dir, 'fail')} ]; do sleep 0.02; done; exit 1"]\n`,
  );
  const apply = up.sctl('apply', '--yes', writeSpec(dir, spec, 'b.toml'));
  await up.prop('other.service', 'SubState', (v) => v === 'start-pre');
  fs.writeFileSync(gate(dir, 'post'), '');
  await up.prop('loop.service', 'ActiveState', (v) => v === 'active');
  fs.writeFileSync(gate(dir, 'fail'), '');
  const r = await apply;
  t.equal(r.code, 1);
  t.match((await history(up)).at(-1), { id: 2, result: 'rolled-back' });
  const sps = (await shown(up, 2)).savepoints;
  t.same(phase(sps, 'rollback').filter((s) => s.unit === 'loop.service').map(job), [], 'the rollback left loop alone');
  fs.writeFileSync(gate(dir, 'run'), '');
  t.not((await up.call<Record<string, string>>('show', { unit: 'loop.service' })).ActiveState, 'inactive', 'loop was not stopped');
});

// ---- 5 and 6. Nothing to do; a plan that cannot be built ----

t.test('nothing to do records nothing; a plan that cannot be built (an ordering cycle) is refused and changes nothing', async (t) => {
  // x sits between y and z: After=y, Before=z.
  const { dir, mark, spec: a, up } = await boot(t, (_, m) =>
    [svc('keep', m), svc('x', m, 'After = ["y.service"]\nBefore = ["z.service"]\n'), svc('y', m), svc('z', m)].join('\n'),
  );
  const pre = await state(up);
  const unchanged = async (t: Test, what: string) => {
    t.same(await state(up), pre, `${what}: the same units, definitions, states and PIDs`);
    t.equal((await history(up)).length, 1, `${what}: nothing recorded`);
  };

  // A cycle the loader sees: the spec itself is refused.
  const loop = writeSpec(dir, `${fs.readFileSync(a, 'utf8')}\n${svc('p', mark, 'Requires = ["q.service"]\nAfter = ["q.service"]\n')}\n${svc('q', mark, 'Requires = ["p.service"]\nAfter = ["p.service"]\n')}`, 'loop.toml');
  const lp = await up.sctl('plan', loop);
  t.equal(lp.code, 1, 'sctl plan: exit 1');
  t.match(lp.stderr, /ordering cycle: p\.service → q\.service → p\.service/);
  const la = await up.sctl('apply', '--yes', loop);
  t.equal(la.code, 1, 'sctl apply: exit 1');
  t.match(la.stderr, /nothing was changed/);
  await unchanged(t, 'a spec with a cycle');

  // A cycle only the transaction has: x goes, but its stop is still ordered by its old After=y, Before=z, and the
  // new y starts after z. Stops and restarts run in reverse order: x before y, y before z, z before x.
  const cyc = writeSpec(dir, [svc('keep', mark), svc('y', mark, 'After = ["z.service"]\nEnvironment = { V = "2" }\n'), svc('z', mark, 'Environment = { V = "2" }\n')].join('\n'), 'cycle.toml');
  const cp = await up.sctl('-o', 'json', 'plan', cyc);
  t.equal(cp.code, 1, 'sctl plan: exit 1');
  t.match(JSON.parse(cp.stdout), { error: { code: 'ECYCLE', message: /x\.service → y\.service → z\.service → x\.service/ } }, 'the plan names the cycle');
  const ca = await up.sctl('apply', '--yes', cyc);
  t.equal(ca.code, 1, 'sctl apply: exit 1');
  t.match(ca.stdout, /Cannot apply: Transaction order is cyclic: x\.service → y\.service → z\.service → x\.service/);
  await unchanged(t, 'a plan with a cycle');

  const same = await up.sctl('apply', '--yes', a);
  t.equal(same.code, 0, 'applying the spec in force: exit 0');
  t.match(same.stdout, /No changes/);
  const json = await up.sctl('-o', 'json', 'apply', '--yes', a);
  t.match(JSON.parse(json.stdout), { transaction: null, results: [], ok: true });
  await unchanged(t, 'nothing to do');
  // The same units written differently, in another file: still nothing to do.
  const text = fs.readFileSync(a, 'utf8').split(/\n(?=\[)/).reverse().join('\n');
  const moved = await up.sctl('apply', '--yes', writeSpec(dir, `# reordered\n${text}`, 'again.toml'));
  t.equal(moved.code, 0);
  t.equal((await history(up)).length, 1, 'the same definitions from another file: nothing recorded');
  t.same(pids(await state(up), Object.keys(pre)), pids(pre, Object.keys(pre)), 'and no process touched');
});
