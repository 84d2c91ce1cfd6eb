// sctl end to end: every verb against a real `sysmaster up`, checked against docs/cli.md and CONTRACTS.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { bin, cli, marker, pidsWith, scratch, sleep, Up, writeSpec, type Run } from './harness.js';

interface Info {
  name: string;
  type: string;
  active: string;
  sub: string;
  mainPid: number | null;
  description: string;
}
interface Status extends Info {
  result: string;
  restarts: number;
  since: string;
}

/** A scratch directory removed when the file's tests are done. */
function tmp(): string {
  const d = scratch();
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
const lines = (r: Run) => r.stdout.trim().split('\n');

/** Wait for `ok` on repeated reads, for states that settle a moment after a command returns. */
async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

t.test('queries and jobs on one running manager', async (t) => {
  const dir = tmp();
  const runs = path.join(dir, 'once.runs');
  const gate = path.join(dir, 'gate');
  fs.writeFileSync(gate, ''); // open at up; the list-jobs test closes it to hold a start
  const [mDb, mApi, mFront, mVictim, mSlow] = [marker(), marker(), marker(), marker(), marker()];
  const spec = writeSpec(
    dir,
    `[service.db]
Description = "the database"
ExecStart = ["/bin/sh", "-c", "echo db-one; echo db-two; echo db-three; exec sleep ${mDb}"]
ExecReload = ["/bin/sh", "-c", "echo reload-begin; sleep 1; echo reload-end"]

[service.api]
ExecStart = ["/bin/sleep", "${mApi}"]
Requires = ["db.service"]
After = ["db.service"]

[service.front]
ExecStart = ["/bin/sleep", "${mFront}"]
Requires = ["api.service"]
After = ["api.service"]

[service.once]
Type = "oneshot"
ExecStart = ["/bin/sh", "-c", "echo run >> ${runs}"]

[service.bad]
Type = "oneshot"
ExecStart = ["/bin/false"]

[service.victim]
ExecStart = ["/bin/sleep", "${mVictim}"]

[service.slow]
ExecStartPre = ["/bin/sh", "-c", "until [ -e ${gate} ]; do sleep 0.05; done"]
ExecStart = ["/bin/sleep", "${mSlow}"]
`,
  );
  const t0 = Date.now();
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  // observations go over the socket (cheap); what is asserted about sctl goes through sctl
  const one = async (name: string) => (await up.call<Info[]>('list-units')).find((u) => u.name === name);

  t.test('list-units -o json', async (t) => {
    // The spec's units: the mount table's mount units (docs/mount.md) are not this test's.
    const units = await up.json<Info[]>('list-units', '--type=service,target');
    t.same(
      units.map((u) => u.name),
      ['api.service', 'bad.service', 'db.service', 'default.target', 'front.service', 'once.service', 'slow.service', 'victim.service'],
      'every unit, sorted, with full names',
    );
    for (const u of units) {
      for (const k of ['name', 'type', 'active', 'sub', 'mainPid', 'description']) t.ok(k in u, `${u.name} has ${k}`);
    }
    const db = units.find((u) => u.name === 'db.service')!;
    t.match(db, { type: 'service', active: 'active', sub: 'running', description: 'the database' });
    t.same(pidsWith(mDb), [db.mainPid], 'mainPid is the payload');
    t.match(units.find((u) => u.name === 'once.service'), { active: 'inactive', sub: 'dead', mainPid: null, description: 'once.service' });
    t.match(units.find((u) => u.name === 'bad.service'), { active: 'failed', sub: 'failed', mainPid: null });
    t.match(units.find((u) => u.name === 'default.target'), { type: 'target', active: 'active', mainPid: null });
  });

  t.test('list-units filters', async (t) => {
    const names = async (...args: string[]) => (await up.json<Info[]>('list-units', ...args)).map((u) => u.name);
    const [failed, inactiveOrFailed, targets, inactiveServices, running, text] = await Promise.all([
      names('--state=failed'),
      names('--state=inactive,failed'),
      names('--type=target'),
      names('--type=service', '--state=inactive'),
      names('--state=running', '--type=service'),
      up.sctl('list-units', '--state=failed'),
    ]);
    t.same(failed, ['bad.service']);
    t.same(inactiveOrFailed, ['bad.service', 'once.service']);
    t.same(targets, ['default.target']);
    t.same(inactiveServices, ['once.service']);
    t.same(running, ['api.service', 'db.service', 'front.service', 'slow.service', 'victim.service'], 'sub states too');
    t.equal(text.code, 0);
    t.match(text.stdout, /bad\.service\s+loaded\s+failed\s+failed/);
    t.match(text.stdout, /1 loaded units listed/);
  });

  t.test('status', async (t) => {
    const db = (await one('db.service'))!;
    const [text, short, [js], [bad], once, failed, several, none] = await Promise.all([
      up.sctl('status', 'db'),
      up.sctl('status', 'db', '-n', '1'),
      up.json<Status[]>('status', 'db'),
      up.json<Status[]>('status', 'bad'),
      up.sctl('status', 'once'),
      up.sctl('status', 'bad'),
      up.sctl('status', 'db', 'once'),
      up.sctl('status', 'nope'),
    ]);
    t.equal(text.code, 0, 'exit 0 when active');
    const out = lines(text);
    t.equal(out[0], '● db.service - the database');
    t.match(out[1], `Loaded: loaded (${spec}:1)`);
    // systemctl's timestamp: weekday, date, time, zone (the JSON below says which instant).
    t.match(out[2], /^\s+Active: active \(running\) since \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+; .+ ago$/);
    t.match(out[3], new RegExp(`Main PID: ${db.mainPid}$`));
    for (const l of ['db-one', 'db-two', 'db-three']) t.match(text.stdout, new RegExp(`db\\.service\\[${db.mainPid}\\]: ${l}`), `log line ${l}`);
    t.match(short.stdout, /db-three/);
    t.notMatch(short.stdout, /db-one|db-two/, '-n 1 shows one line');

    t.match(js, { name: 'db.service', active: 'active', sub: 'running', mainPid: db.mainPid, result: 'success', restarts: 0 });
    t.match(js.since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'since is ISO 8601');
    t.ok(Date.parse(js.since) >= t0 && Date.parse(js.since) <= Date.now());
    t.match(bad, { active: 'failed', result: 'exit-code' });

    t.equal(once.code, 3, 'inactive: 3');
    t.equal(failed.code, 3, 'failed: 3');
    t.equal(several.code, 3, 'one of several not active: 3');
    t.equal(none.code, 4, 'no such unit: 4');
    t.match(none.stderr, /Unit nope\.service could not be found/);
  });

  t.test('is-active and is-failed', async (t) => {
    const [act, inact, both, failed, notFailed] = await Promise.all([
      up.sctl('is-active', 'db'),
      up.sctl('is-active', 'once'),
      up.sctl('is-active', 'db', 'once'),
      up.sctl('is-failed', 'bad'),
      up.sctl('is-failed', 'db'),
    ]);
    t.same([act.code, act.stdout], [0, 'active\n']);
    t.same([inact.code, inact.stdout], [3, 'inactive\n']);
    t.same([both.code, both.stdout], [0, 'active\ninactive\n'], 'any one active: 0, as systemctl');
    t.same([failed.code, failed.stdout], [0, 'failed\n']);
    t.same([notFailed.code, notFailed.stdout], [1, 'active\n']);
  });

  t.test('show and cat', async (t) => {
    const db = (await one('db.service'))!;
    const [v, kv, all, noShow, cat, noCat] = await Promise.all([
      up.sctl('show', 'db', '-p', 'MainPID,ActiveState,SubState,Result,NRestarts', '--value'),
      up.sctl('show', 'bad', '-p', 'ActiveState', '-p', 'Result'),
      up.sctl('show', 'db'),
      up.sctl('show', 'nope'),
      up.sctl('cat', 'db'),
      up.sctl('cat', 'nope'),
    ]);
    t.equal(v.code, 0);
    t.same(lines(v), [String(db.mainPid), 'active', 'running', 'success', '0']);
    t.same(lines(kv), ['ActiveState=failed', 'Result=exit-code']);
    t.match(all.stdout, /^Id=db\.service$/m);
    t.match(all.stdout, /^Description=the database$/m);
    t.equal(noShow.code, 0, 'shown as not-found, as systemctl');
    t.match(noShow.stdout, /^LoadState=not-found$/m);

    t.equal(cat.code, 0);
    const text = cat.stdout.trimEnd().split('\n');
    t.equal(text[0], `# ${spec}:1`);
    t.equal(text[1], '[service.db]');
    t.ok(text.some((l) => l.startsWith('ExecReload = ')), 'its keys');
    t.notMatch(cat.stdout, /service\.api/, 'only its own table');
    t.equal(noCat.code, 1);
  });

  t.test('start, stop, restart', async (t) => {
    const before = (await one('db.service'))!.mainPid!;
    const r = await up.sctl('restart', 'db');
    t.equal(r.code, 0);
    const after = (await one('db.service'))!;
    t.equal(after.active, 'active');
    t.not(after.mainPid, before, 'a new MainPID');
    t.notOk(alive(before), 'the old process is gone');
    t.same(pidsWith(mDb), [after.mainPid]);

    const stop = await up.sctl('stop', 'db');
    t.equal(stop.code, 0);
    const units = await up.call<Info[]>('list-units');
    for (const n of ['db.service', 'api.service', 'front.service']) {
      t.match(units.find((u) => u.name === n), { active: 'inactive', mainPid: null }, `${n} stopped`);
    }
    t.same([...pidsWith(mDb), ...pidsWith(mApi), ...pidsWith(mFront)], [], 'their processes are gone');
    t.equal((await one('victim.service'))!.active, 'active', 'an unrelated unit keeps running');

    const start = await up.sctl('start', 'front');
    t.equal(start.code, 0);
    t.same((await up.sctl('is-active', 'db', 'api', 'front')).stdout, 'active\nactive\nactive\n', 'start pulls in what it Requires');

    const unknown = await up.sctl('start', 'nope');
    t.equal(unknown.code, 5);
    t.match(unknown.stderr, /not found/);
  });

  t.test('reload runs ExecReload', async (t) => {
    const pid = (await one('db.service'))!.mainPid;
    const r = await up.sctl('reload', 'db', '--no-block');
    t.equal(r.code, 0);
    await up.prop('db', 'ActiveState', (v) => v === 'reloading');
    t.equal((await up.sctl('is-active', 'db')).code, 0, 'reloading counts as active');
    await up.prop('db', 'ActiveState', (v) => v === 'active');
    const logs = await up.sctl('logs', 'db', '-n', '2', '-o', 'cat');
    t.same(logs, { code: 0, stdout: 'reload-begin\nreload-end\n', stderr: '' }, 'ExecReload ran');
    t.equal((await one('db.service'))!.mainPid, pid, 'the main process stays');
    const wait = await up.sctl('reload', 'db');
    t.equal(wait.code, 0, 'a blocking reload waits and succeeds');
    t.equal((await up.sctl('reload', 'victim')).code, 1, 'no ExecReload: the job fails');
  });

  t.test('try-restart on an inactive unit does nothing', async (t) => {
    t.equal(fs.readFileSync(runs, 'utf8'), 'run\n', 'ran once at up');
    const r = await up.sctl('try-restart', 'once');
    t.equal(r.code, 0);
    t.equal(fs.readFileSync(runs, 'utf8'), 'run\n', 'not run again');
    t.equal((await one('once.service'))!.active, 'inactive');
  });

  t.test('list-jobs shows a slow start', async (t) => {
    t.equal((await up.sctl('stop', 'slow')).code, 0);
    fs.rmSync(gate);
    const empty = await up.sctl('list-jobs');
    t.equal(empty.stdout.trim(), 'No jobs running.');
    const r = await up.sctl('start', 'slow', '--no-block');
    t.equal(r.code, 0, '--no-block returns at once');
    const [jobs, text] = await Promise.all([
      up.json<{ id: number; unit: string; type: string; state: string }[]>('list-jobs'),
      up.sctl('list-jobs'),
    ]);
    t.match(jobs, [{ id: Number, unit: 'slow.service', type: 'start', state: 'running' }]);
    t.match(text.stdout, /^\d+\s+slow\.service\s+start\s+running$/m);
    t.match(await one('slow.service'), { active: 'activating', sub: 'start-pre' });
    fs.writeFileSync(gate, '');
    await up.prop('slow', 'ActiveState', (v) => v === 'active');
    t.same(await up.json('list-jobs'), [], 'done: no jobs');
  });

  t.test('kill and reset-failed', async (t) => {
    const pid = (await one('victim.service'))!.mainPid!;
    const k = await up.sctl('kill', 'victim', '-s', 'SIGKILL');
    t.equal(k.code, 0);
    await up.prop('victim', 'ActiveState', (v) => v === 'failed');
    t.notOk(alive(pid));
    const show = await up.sctl('show', 'victim', '-p', 'Result,ExecMainCode,ExecMainStatus', '--value');
    t.same(lines(show), ['signal', 'killed', '9']);
    t.equal((await up.sctl('is-failed', 'victim')).code, 0);

    t.equal((await up.sctl('reset-failed', 'victim')).code, 0);
    t.equal((await one('victim.service'))!.active, 'inactive', 'failed → inactive');
    t.equal((await up.sctl('reset-failed')).code, 0, 'all units');
    t.same(await up.call('list-units', { states: ['failed'] }), [], 'nothing failed any more');
  });

  t.test('logs', async (t) => {
    t.equal((await up.sctl('restart', 'db')).code, 0);
    const pid = (await one('db.service'))!.mainPid;
    const [two, json] = await Promise.all([up.sctl('logs', 'db', '-n', '2'), up.sctl('logs', 'db', '-n', '1', '-o', 'json')]);
    t.equal(two.code, 0);
    const got = lines(two);
    t.equal(got.length, 2);
    t.match(got[0], new RegExp(`^\\d{4}-\\S+ db\\.service\\[${pid}\\]: db-two$`));
    t.match(got[1], new RegExp(`^\\d{4}-\\S+ db\\.service\\[${pid}\\]: db-three$`));
    t.match(JSON.parse(json.stdout), { unit: 'db.service', pid, stream: 'stdout', message: 'db-three', time: Number });

    const follower = spawn(process.execPath, [bin('sctl'), '--state-dir', up.stateDir, 'logs', '-f', '-n', '1', 'db'], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    const closed = new Promise((r) => follower.on('close', r));
    t.teardown(() => void follower.kill('SIGKILL'));
    let seen = '';
    follower.stdout.on('data', (d) => (seen += d));
    await eventually(async () => seen, (s) => s.includes('db-three'), 'logs -f prints the tail');
    t.notMatch(seen, /reload-end/, 'no new line yet');
    t.equal((await up.sctl('reload', 'db')).code, 0);
    await eventually(async () => seen, (s) => s.includes('reload-end'), 'logs -f prints a new line');
    t.equal(follower.exitCode, null, 'still following');
    follower.kill('SIGTERM');
    await closed;
  });
});

t.test('plan, apply and daemon-reload', async (t) => {
  const dir = tmp();
  const [mKeep, mOld, mNew, mGone, mAdded, mKeep2] = [marker(), marker(), marker(), marker(), marker(), marker()];
  // env before sleep: a long command, so a diff that shortens values could hide the change
  const unit = (name: string, mark: string) =>
    `[service.${name}]\nExecStart = ["/usr/bin/env", "A_RATHER_LONG_VARIABLE_NAME=some-value", "/bin/sleep", "${mark}"]\n`;
  const v1 = [unit('keep', mKeep), unit('change', mOld), unit('gone', mGone)].join('\n');
  const v2 = [unit('keep', mKeep), unit('change', mNew), unit('added', mAdded)].join('\n');
  const spec1 = writeSpec(dir, v1, 'v1.toml');
  const spec2 = writeSpec(dir, v2, 'v2.toml');
  const invalid = writeSpec(dir, v2 + '\n[service.broken]\nExecStart = ["/bin/true"]\nRestartSec = "soon"\n', 'invalid.toml');
  const up = new Up(spec1, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const units = () => up.call<Info[]>('list-units');
  const pids = async () => Object.fromEntries((await units()).map((u) => [u.name, `${u.active}/${u.mainPid}`]));

  const [same, plan, pjRun, bad] = await Promise.all([
    up.sctl('plan', spec1),
    up.sctl('plan', spec2),
    up.sctl('-o', 'json', 'plan', spec2),
    up.sctl('plan', invalid),
  ]);
  t.equal(same.code, 0, 'the running spec: exit 0');
  t.match(same.stdout, /No changes/);

  t.equal(plan.code, 2, 'changes: exit 2');
  t.match(plan.stdout, /^\s+\+ added\.service$/m);
  t.match(plan.stdout, /^\s+- gone\.service$/m);
  t.match(plan.stdout, /^\s+~ change\.service/m);
  t.notMatch(plan.stdout, /^\s+. keep\.service/m, 'the unchanged unit is not listed');
  const diff = plan.stdout.split('\n').find((l) => /^\s+ExecStart:/.test(l));
  t.ok(diff, 'the changed field is listed');
  t.match(diff, mOld, 'with its old value');
  t.match(diff, mNew, 'and its new value');
  const pj = JSON.parse(pjRun.stdout);
  t.match(pj, { added: ['added.service'], removed: ['gone.service'], changed: [{ unit: 'change.service', fields: [{ key: 'ExecStart' }], restart: true }], error: null });

  t.equal(bad.code, 1, 'invalid spec: exit 1');
  const badLine = fs.readFileSync(invalid, 'utf8').split('\n').indexOf('RestartSec = "soon"') + 1;
  t.match(bad.stderr, `${invalid}:${badLine}: broken.service: RestartSec:`);

  const before = await pids();
  const refused = await up.sctl('apply', '--yes', invalid);
  t.equal(refused.code, 1, 'apply of an invalid spec: exit 1');
  t.match(refused.stderr, /nothing was changed/);
  t.same(await pids(), before, 'nothing changed');
  t.equal((await up.sctl('plan', spec1)).code, 0, 'still the first spec');

  const keepPid = (await units()).find((u) => u.name === 'keep.service')!.mainPid;
  const applied = await up.sctl('apply', '--yes', spec2);
  t.equal(applied.code, 0, 'apply: exit 0');
  t.match(applied.stdout, /Applied/);
  const after = await units();
  const by = (n: string) => after.find((u) => u.name === n);
  t.equal(by('keep.service')?.mainPid, keepPid, 'the unchanged unit keeps its PID');
  t.match(by('change.service'), { active: 'active' });
  t.same(pidsWith(mNew), [by('change.service')!.mainPid], 'the changed unit runs its new command');
  t.same(pidsWith(mOld), [], 'and the old one is gone');
  t.match(by('added.service'), { active: 'active' });
  t.same(pidsWith(mAdded), [by('added.service')!.mainPid], 'the added unit runs');
  t.equal(by('gone.service'), undefined, 'the removed unit is gone from list-units');
  t.same(pidsWith(mGone), [], 'and its process stopped');
  t.equal((await up.sctl('plan', spec2)).code, 0, 'now the running spec');

  fs.writeFileSync(spec2, [unit('keep', mKeep2), unit('change', mNew), unit('added', mAdded)].join('\n'));
  const reload = await up.sctl('daemon-reload');
  t.equal(reload.code, 0, 'daemon-reload: exit 0');
  const keep = (await units()).find((u) => u.name === 'keep.service')!;
  t.same(pidsWith(mKeep2), [keep.mainPid], 'the edited unit restarted with its new command');
  t.same(pidsWith(mKeep), []);
});

t.test('exit CODE stops the units and makes up exit with CODE', async (t) => {
  const dir = tmp();
  const mark = marker();
  const up = new Up(writeSpec(dir, `[service.s]\nExecStart = ["/bin/sh", "-c", "echo hello; exec sleep ${mark}"]\n`), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  t.equal(pidsWith(mark).length, 1);
  // a client still attached must not keep the manager from exiting
  const follower = spawn(process.execPath, [bin('sctl'), '--state-dir', up.stateDir, 'logs', '-f', 's']);
  const followerDone = new Promise((r) => follower.on('exit', r));
  t.teardown(() => void follower.kill('SIGKILL'));
  let seen = '';
  follower.stdout.on('data', (d) => (seen += d));
  await eventually(async () => seen, (s) => s.includes('hello'), 'the follower is attached');
  const r = await up.sctl('exit', '3');
  t.equal(r.code, 0);
  t.equal(await up.exitedWithin(20_000), 3, 'up exits 3, with a logs -f attached');
  await followerDone;
  t.pass('logs -f ends when the manager goes');
  t.match(up.output, /s\.service\s+\| active → deactivating[\s\S]*all units stopped/);
  t.same(pidsWith(mark), [], 'the payload was stopped');
});

t.test('--help of every command', async (t) => {
  const sctl: Record<string, string[]> = {
    'list-units': ['--state', '--type'],
    status: ['--lines'],
    show: ['--property', '--value'],
    cat: [],
    start: ['--no-block', '--job-mode'],
    stop: ['--no-block', '--job-mode'],
    restart: ['--no-block', '--job-mode'],
    reload: ['--no-block', '--job-mode'],
    'try-restart': ['--no-block', '--job-mode'],
    'reload-or-restart': ['--no-block', '--job-mode'],
    'is-active': ['--quiet'],
    'is-failed': ['--quiet'],
    'list-jobs': [],
    'reset-failed': [],
    kill: ['--signal', '--kill-whom'],
    logs: ['--lines', '--follow', '--output'],
    'daemon-reload': [],
    plan: [],
    apply: ['--yes'],
    exit: [],
  };
  const sysmaster: Record<string, string[]> = { up: ['--no-prefix'], validate: ['--no-exec-check'], notify: ['--ready', '--status'] };
  const cases: [name: 'sctl' | 'sysmaster', cmd: string, opts: string[]][] = [
    ['sctl', '', ['--state-dir', '--output']],
    ['sysmaster', '', ['--state-dir']],
    ...Object.entries(sctl).map(([c, o]) => ['sctl', c, o] as ['sctl', string, string[]]),
    ...Object.entries(sysmaster).map(([c, o]) => ['sysmaster', c, o] as ['sysmaster', string, string[]]),
  ];
  // a few at a time: each is a node start
  for (let i = 0; i < cases.length; i += 4) {
    const batch = cases.slice(i, i + 4);
    const runs = await Promise.all(batch.map(([name, cmd]) => cli(name, [...(cmd ? [cmd] : []), '--help'])));
    batch.forEach(([name, cmd, opts], j) => {
      const r = runs[j];
      t.equal(r.code, 0, `${name} ${cmd} --help exits 0`);
      t.match(r.stdout, `Usage: ${name}${cmd ? ' ' + cmd : ''} `, `${name} ${cmd} --help shows its usage`);
      for (const o of opts) t.match(r.stdout, o, `${name} ${cmd} --help mentions ${o}`);
    });
  }
  // the verbs themselves are listed in the top-level help
  const top = await cli('sctl', ['--help']);
  for (const c of Object.keys(sctl)) t.match(top.stdout, new RegExp(`^\\s+${c}\\b`, 'm'), `sctl --help lists ${c}`);
});

t.test('no core running: exit 1, naming the socket', async (t) => {
  const dir = path.join(tmp(), 'state');
  const sock = path.join(dir, 'control.sock');
  const spec = writeSpec(path.dirname(dir), '[service.s]\nExecStart = ["/bin/true"]\n');
  const cmds = [['list-units'], ['status', 's'], ['start', 's'], ['is-active', 's'], ['show', 's'], ['logs'], ['plan', spec], ['apply', '--yes', spec], ['exit']];
  const runs = await Promise.all(cmds.map((c) => cli('sctl', ['--state-dir', dir, ...c])));
  cmds.forEach((c, i) => {
    t.equal(runs[i].code, 1, `${c[0]}: exit 1`);
    t.match(runs[i].stderr, sock, `${c[0]}: names ${sock}`);
  });
});

t.test('SYSMASTER_STATE_DIR works as well as --state-dir', async (t) => {
  const dir = tmp();
  const state = path.join(dir, 'state');
  const mark = marker();
  const up = new Up(writeSpec(dir, `[service.s]\nExecStart = ["/bin/sleep", "${mark}"]\n`), state, [], { viaEnv: true });
  t.teardown(() => up.stop());
  await up.ready();
  t.ok(fs.existsSync(path.join(state, 'control.sock')), 'up made its socket in $SYSMASTER_STATE_DIR');
  const viaEnv = await cli('sctl', ['is-active', 's'], { SYSMASTER_STATE_DIR: state });
  t.same([viaEnv.code, viaEnv.stdout], [0, 'active\n'], 'sctl finds it through the variable');
  const viaFlag = await cli('sctl', ['--state-dir', state, 'is-active', 's'], { SYSMASTER_STATE_DIR: path.join(dir, 'elsewhere') });
  t.same([viaFlag.code, viaFlag.stdout], [0, 'active\n'], '--state-dir wins over the variable');
  const wrong = await cli('sctl', ['is-active', 's'], { SYSMASTER_STATE_DIR: path.join(dir, 'elsewhere') });
  t.equal(wrong.code, 1, 'another directory is another instance');
  t.equal(await up.stop(), 0);
  t.same(pidsWith(mark), []);
});
