// Crash at every savepoint (docs/transactions.md, "Crash during apply"): the core is killed -9 right after each
// savepoint of a 30-job apply reaches the disk, and the next core must bring the system to the pre-state
// (OnCrash = "rollback") or the post-state ("resume"), never a mixture; the journal is read back from the file.
// No fault injection: every job of the apply waits in a command of its own for a gate file the test creates.
//
// TX_CRASH_POINTS: a number N of points spread evenly over 1..30 (default 10), or "all" for every savepoint.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Journal, type Savepoint, type TxResult } from '../../reconciler/journal.js';
import { marker, scratch, sleep, Up, writeSpec, type Run } from './harness.js';

/** Units the apply adds, in a chain of After=: beside the stop of one unit and the restart of another, 30 jobs. */
const ADDED = 28;
/** The apply's jobs in the order their gates open: gate g lets job g finish. */
const planned = ['stop removed', 'restart changed', ...Array.from({ length: ADDED }, (_, i) => `start x${i + 1}`)];
const jobs = planned.length;

function points(): number[] {
  const knob = process.env.TX_CRASH_POINTS ?? '10';
  const n = knob === 'all' ? jobs : Number(knob);
  if (!Number.isInteger(n) || n < 1) throw new Error(`TX_CRASH_POINTS must be "all" or a positive count, not ${JSON.stringify(knob)}`);
  if (n >= jobs) return planned.map((_, i) => i + 1);
  if (n === 1) return [jobs];
  return [...new Set(Array.from({ length: n }, (_, i) => Math.round(1 + (i * (jobs - 1)) / (n - 1))))];
}
const sweep = points();
// A point takes a few seconds (more when another test file runs beside this one); the file default is 120 s.
t.setTimeout(120_000 + sweep.length * 2 * 15_000);

/** What the test compares of the system: every service's definition (hash), active state and main PID. */
type State = Record<string, { hash: string; active: string; pid: number | null }>;

async function state(up: Up): Promise<State> {
  const units = await up.call<{ name: string; active: string; mainPid: number | null }[]>('list-units', { types: ['service'] });
  const out: State = {};
  for (const u of units) out[u.name] = { hash: (await up.call<Record<string, string>>('show', { unit: u.name })).ConfigHash, active: u.active, pid: u.mainPid };
  return out;
}

/** Definitions and active set, without PIDs (a unit the transaction restarts gets a new one). */
const shape = (s: State) => Object.fromEntries(Object.entries(s).map(([n, u]) => [n, `${u.hash} ${u.active}`]));

/** The transaction as the journal file holds it, opened afresh from disk. */
async function onDisk(file: string, id: number): Promise<{ result: TxResult | null; savepoints: Savepoint[] }> {
  const j = await Journal.open(file);
  try {
    return { result: j.get(id)?.result ?? null, savepoints: j.savepoints(id) };
  } finally {
    await j.close();
  }
}

const named = (sps: Savepoint[], phase: Savepoint['phase']) => sps.filter((s) => s.phase === phase).map((s) => `${s.type} ${s.unit.replace(/\.service$/, '')}`);

/** Poll `get` until `ok`; undefined or a throw (no core serving yet) counts as not yet. */
async function poll<T>(what: string, up: Up, get: () => Promise<T | undefined>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await get().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(v)}):\n${up.output.slice(-3000)}`);
    await sleep(10);
  }
}

/** SIGKILL the core and wait until it is gone (reaped), so the journal file is what it left. */
async function killCore(up: Up): Promise<void> {
  const core = up.corePid();
  process.kill(core, 'SIGKILL');
  await poll('the killed core to be reaped', up, async () => fs.existsSync(`/proc/${core}`), (alive) => !alive);
}

/** The transaction's result once the next core has resolved it (over the socket: retried while no core serves). */
async function resolved(up: Up, id: number): Promise<TxResult> {
  const open: TxResult[] = ['running', 'rolling-back'];
  const h = await poll(`transaction ${id} to be resolved`, up, () => up.call<{ id: number; result: TxResult }[]>('history'), (h) => !!h[id - 1] && !open.includes(h[id - 1].result));
  return h[id - 1].result;
}

/** No job queued and no unit between two states. */
async function settled(up: Up): Promise<void> {
  const look = async () => ({ jobs: await up.call<unknown[]>('list-jobs'), units: await up.call<{ active: string }[]>('list-units', { types: ['service'] }) });
  await poll('the jobs to finish', up, look, (v) => !v.jobs.length && v.units.every((u) => !u.active.endsWith('ing')));
}

/** The gated command lines that ran, in order (each appends its unit's name to `ran`). */
function ran(gates: string): string[] {
  const f = path.join(gates, 'ran');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n') : [];
}

const twice = (xs: string[]) => xs.filter((x, i) => xs.indexOf(x) !== i);

/** An `up` in the pre-state, the two specs, and the pre- and post-states as an uninterrupted apply leaves them. */
async function setup(t: Test, onCrash: 'rollback' | 'resume') {
  const dir = scratch('sm-txcrash-');
  const mark = marker();
  const gates = path.join(dir, 'gates');
  fs.mkdirSync(gates);
  const wait = (gate: number | string) => `while [ ! -e ${gates}/${gate} ]; do sleep 0.02; done`;
  const held = (name: string, gate: number) => `ExecStartPre = ["/bin/sh", "-c", "echo ${name} >> ${gates}/ran; ${wait(gate)}"]`;
  const head = `[manager]\nOnCrash = "${onCrash}"\n\n[service.keep]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  // removed's stop is job 1: its ExecStop (part of the pre-state, so the gate path is the same every time) holds it.
  const pre = writeSpec(dir, `${head}
[service.changed]
ExecStart = ["/bin/sh", "-c", "echo old; exec sleep ${mark}"]

[service.removed]
ExecStart = ["/bin/sleep", "${mark}"]
ExecStop = ["/bin/sh", "-c", "echo removed >> ${gates}/ran; ${wait(1)}"]
`, 'pre.toml');
  // One chain, so one gate waits at a time (and 30 polling shells do not load the machine).
  const added = Array.from({ length: ADDED }, (_, i) => `[service.x${i + 1}]\nAfter = ["${i ? `x${i}` : 'changed'}.service"]\n${held(`x${i + 1}`, i + 3)}\nExecStart = ["/bin/sleep", "${mark}"]\n`);
  const post = writeSpec(dir, [`${head}\n[service.changed]\n${held('changed', 2)}\nExecStart = ["/bin/sh", "-c", "echo new; exec sleep ${mark}"]\n`, ...added].join('\n'), 'post.toml');
  const up = new Up(pre, path.join(dir, 'state'));
  const openAll = () => planned.forEach((_, i) => fs.writeFileSync(path.join(gates, String(i + 1)), ''));
  t.teardown(async () => {
    openAll();
    await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await up.ready();
  const planJobs = (await up.call<{ jobs: { unit: string; type: string }[] }>('plan', { spec: post })).jobs;
  t.same(planJobs.map((j) => `${j.type} ${j.unit.replace(/\.service$/, '')}`).sort(), [...planned].sort(), `the apply has ${jobs} jobs`);
  openAll();
  t.equal((await up.sctl('apply', '--yes', post)).code, 0, 'an uninterrupted apply gives the post-state');
  const postState = await state(up);
  t.equal((await up.sctl('apply', '--yes', pre)).code, 0, 'and applying the first spec again, the pre-state');
  return { up, gates, pre, post, preState: await state(up), postState, journal: path.join(dir, 'state', 'journal', 'journal.db') };
}

type Sweep = Awaited<ReturnType<typeof setup>>;

/** One point of the sweep: apply, let k jobs finish, kill -9 the core, check what the next core makes of it. */
async function crashAt(t: Test, s: Sweep, onCrash: 'rollback' | 'resume', k: number) {
  const { up, gates } = s;
  fs.rmSync(gates, { recursive: true, force: true });
  fs.mkdirSync(gates);
  const id = (await up.call<unknown[]>('history')).length + 1;
  const apply: Promise<Run> = up.sctl('apply', '--yes', s.post);
  const seen: number[] = [];
  // Each version of the file is a new inode (temp file + rename): only a new one is worth opening.
  let read = '';
  const changed = async () => {
    const st = fs.statSync(s.journal);
    if (`${st.ino} ${st.mtimeMs} ${st.size}` === read) return undefined;
    read = `${st.ino} ${st.mtimeMs} ${st.size}`;
    return onDisk(s.journal, id);
  };
  for (let g = 1; g <= k; g++) {
    fs.writeFileSync(path.join(gates, String(g)), '');
    seen.push((await poll(`savepoint ${g} on disk`, up, changed, (d) => d.savepoints.length >= g)).savepoints.length);
  }
  t.same(seen, seen.map((_, i) => i + 1), 'each opened gate adds exactly one savepoint to the file on disk');
  const before = await state(up);
  await killCore(up);
  const dead = await onDisk(s.journal, id);
  t.same(named(dead.savepoints, 'apply'), planned.slice(0, k), `the file the dead core left holds exactly ${k} savepoints, the first jobs`);
  if (onCrash === 'resume' && dead.result !== 'committed') {
    // Opened once the next core has taken over: a command in flight that ended while no core ran would be run again
    // (a documented limit of recovery, docs/recovery.md), which is not what this test is about.
    await up.waitFor(new RegExp(`transaction ${id} was left running by the previous core: resuming it`));
    planned.forEach((_, i) => fs.writeFileSync(path.join(gates, String(i + 1)), ''));
  }

  // All 30 savepoints may have landed with the commit: then there is nothing left to resolve.
  const want = onCrash === 'resume' || dead.result === 'committed' ? 'committed' : 'rolled-back';
  t.equal(await resolved(up, id), want, `the next core ends the transaction ${want}`);
  const atResult = await state(up);
  const client = await apply;
  t.equal(client.code, want === 'committed' ? 0 : 1, 'sctl apply, cut off from the dead core, reports the same outcome');
  if (want === 'rolled-back') t.match(client.stdout, new RegExp(`Rolled back: transaction ${id}`));
  await settled(up);
  const now = await state(up);
  const [goal, which] = want === 'committed' ? [s.postState, 'post'] : [s.preState, 'pre'];
  t.same(shape(now), shape(goal), `it converges to exactly the ${which}-state: units, definitions, active set`);
  t.same(shape(atResult), shape(goal), `the ${which}-state is reached when the result is recorded`);
  // Under resume every unit running at the crash keeps its process; under rollback the untouched one does.
  const kept = Object.keys(before).filter((n) => (want === 'committed' ? before[n].active === 'active' : n === 'keep.service'));
  t.same(kept.map((n) => now[n]?.pid), kept.map((n) => before[n].pid), `same PIDs for ${kept.length} unit(s) that had no reason to restart`);

  const lines = ran(gates);
  t.same(twice(lines), [], 'no gated command ran twice');
  // removed's stop runs beside the chain (changed, x1, x2...), which runs in its After= order.
  const chain = planned.slice(1).map((j) => j.split(' ')[1]);
  const inChain = lines.filter((l) => l !== 'removed');
  const saved = (await onDisk(s.journal, id)).savepoints;
  if (want === 'committed') {
    t.same([...lines].sort(), ['removed', ...chain].sort(), 'every gated command ran');
    t.same(inChain, chain, 'the chain ran in its After= order');
    // By unit: a restart whose stop phase the dead core had done is resumed as the start that is left.
    const unitOf = (j: string) => j.split(' ')[1];
    t.same(named(saved, 'apply').map(unitOf).sort(), planned.map(unitOf).sort(), 'the journal has a savepoint for every job, the resumed ones too');
    t.equal((await up.sctl('apply', '--yes', s.pre)).code, 0, 'back to the pre-state for the next point');
  } else {
    // Done: removed's stop and k - 1 jobs of the chain; the next one may have begun before the kill.
    const reached = [chain.slice(0, k - 1), chain.slice(0, k)];
    t.ok(lines.includes('removed') && reached.some((r) => r.join() === inChain.join()), 'nothing of the apply started after the crash', { found: lines });
    t.same(named(saved, 'rollback').map((j) => j.split(' ')[1]).sort(), [...new Set(lines)].sort(), 'the rollback has a savepoint for each unit the apply had reached');
  }
}

for (const onCrash of ['rollback', 'resume'] as const) {
  t.test(`kill -9 at each savepoint of a ${jobs}-job apply, OnCrash = "${onCrash}": ${onCrash === 'rollback' ? 'pre' : 'post'}-state`, async (t) => {
    const s = await setup(t, onCrash);
    for (const k of sweep) await t.test(`killed after savepoint ${k}`, (t) => crashAt(t, s, onCrash, k));
  });
}

t.test('kill -9 during the rollback of a failed apply: the next core carries the rollback on to the pre-state', async (t) => {
  const dir = scratch('sm-txcrash-');
  const mark = marker();
  const gates = path.join(dir, 'gates');
  fs.mkdirSync(gates);
  const back = path.join(gates, 'back');
  // changed's old definition holds its start on a gate (open at boot): the rollback's start of it waits there, and
  // removed's after it, while the stop of added, the rollback's one free job, makes the first rollback savepoint.
  const log = (name: string) => `echo ${name} >> ${gates}/ran`;
  const keep = `[service.keep]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
  const pre = writeSpec(dir, `${keep}
[service.changed]
ExecStartPre = ["/bin/sh", "-c", "${log('changed')}; while [ ! -e ${back} ]; do sleep 0.02; done"]
ExecStart = ["/bin/sh", "-c", "echo old; exec sleep ${mark}"]

[service.removed]
After = ["changed.service"]
ExecStartPre = ["/bin/sh", "-c", "${log('removed')}"]
ExecStart = ["/bin/sleep", "${mark}"]
`, 'pre.toml');
  const post = writeSpec(dir, `${keep}
[service.changed]
Type = "oneshot"
ExecStart = ["/bin/false"]

[service.added]
ExecStart = ["/bin/sleep", "${mark}"]
`, 'post.toml');
  fs.writeFileSync(back, '');
  const up = new Up(pre, path.join(dir, 'state'));
  t.teardown(async () => {
    fs.writeFileSync(back, '');
    await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await up.ready();
  const preState = await state(up);
  fs.rmSync(gates, { recursive: true, force: true });
  fs.mkdirSync(gates);
  const journal = path.join(dir, 'state', 'journal', 'journal.db');

  const apply = up.sctl('apply', '--yes', post);
  await poll('the first rollback savepoint on disk', up, () => onDisk(journal, 2), (d) => named(d.savepoints, 'rollback').length >= 1);
  await killCore(up);
  const dead = await onDisk(journal, 2);
  t.equal(dead.result, 'rolling-back', 'the dead core left it rolling back');
  t.same(named(dead.savepoints, 'rollback'), ['stop added'], 'with exactly one rollback savepoint in the file');
  await up.waitFor(/transaction 2 was left rolling-back by the previous core/);
  // changed is still starting (the dead core's job, carried on by its adopted process): the next core's rollback
  // queues a start for it, whose savepoint waits for the gate.
  await poll('the rollback waiting on changed', up, () => up.call<{ unit: string }[]>('list-jobs'), (jobs) => jobs.some((j) => j.unit === 'changed.service'));
  fs.writeFileSync(back, '');

  t.equal(await resolved(up, 2), 'rolled-back', 'the next core ends it rolled-back');
  const atResult = await state(up);
  const client = await apply;
  t.equal(client.code, 1, 'sctl apply reports the rollback');
  t.match(client.stdout, /Rolled back: transaction 2/);
  await settled(up);
  const now = await state(up);
  t.same(shape(now), shape(preState), 'it converges to exactly the pre-state: units, definitions, active set');
  t.same(shape(atResult), shape(preState), 'the pre-state is reached when the result is recorded');
  t.equal(now['keep.service'].pid, preState['keep.service'].pid, 'the untouched unit kept its PID');
  t.same(ran(gates), ['changed', 'removed'], 'the rollback started changed, then removed (After=), each once');
  const saved = named((await onDisk(journal, 2)).savepoints, 'rollback');
  t.same(saved.sort(), ['start changed', 'start removed', 'stop added'], 'each rollback job has its savepoint, across both cores');
});
