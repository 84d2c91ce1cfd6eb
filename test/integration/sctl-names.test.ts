// sctl reads unit names as systemctl does (unit_name_mangle: foo, foo.service, foo@bar, paths, glob patterns of
// loaded units) and exits with systemctl's codes: 3 not active, 4 no such unit (status),
// 5 no such unit (start, stop, ...), 1 for the rest.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { cli, marker, pidsWith, scratch, Up, writeSpec, type Run } from './harness.js';

const dir = scratch();
const [m1, m2, mw] = [marker(), marker(), marker()];
const up = new Up(
  writeSpec(
    dir,
    `[service.web-1]
ExecStart = ["/bin/sleep", "${m1}"]

[service.web-2]
ExecStart = ["/bin/sleep", "${m2}"]

[service."worker@a"]
ExecStart = ["/bin/sleep", "${mw}"]

[service.once]
Type = "oneshot"
ExecStart = ["/bin/true"]

[target.webs]
Wants = ["web-1.service", "web-2.service"]
`,
  ),
  path.join(dir, 'state'),
);
t.teardown(async () => {
  await up.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => up.sctl(...args);
const codeOut = (r: Run) => [r.code, r.stdout];
const names = async (...args: string[]) => (await up.json<{ name: string }[]>('list-units', ...args)).map((u) => u.name);

t.test('name forms', async (t) => {
  await up.ready();
  const id = async (name: string) => (await run('show', name, '-p', 'Id,LoadState', '--value')).stdout;
  const [bare, full, instance, instanceFull, mount, device, odd] = await Promise.all(
    ['web-1', 'web-1.service', 'worker@a', 'worker@a.service', '/srv/my-data', '/dev/sda1', 'a b'].map(id),
  );
  t.equal(bare, 'web-1.service\nloaded\n', 'foo → foo.service');
  t.equal(full, 'web-1.service\nloaded\n');
  t.equal(instance, 'worker@a.service\nloaded\n', 'foo@bar → foo@bar.service');
  t.equal(instanceFull, 'worker@a.service\nloaded\n');
  t.equal(mount, 'srv-my\\x2ddata.mount\nnot-found\n', 'a path names its mount unit');
  t.equal(device, 'dev-sda1.device\nnot-found\n', 'a device path its device unit');
  t.equal(odd, 'a\\x20b.service\nnot-found\n', 'what a name cannot hold is escaped');
  const empty = await run('status', '');
  t.same([empty.code, empty.stderr], [1, 'Failed to mangle name: a unit name cannot be empty\n']);
});

t.test('list-units PATTERN: fnmatch over the names, no suffix added', async (t) => {
  const [web, dashed, instances, notW, exact, bare] = await Promise.all([
    names('web*'),
    names('web-?.service'),
    names('*@*'),
    names('[!w]*.service'),
    names('once.service'),
    names('once'),
  ]);
  t.same(web, ['web-1.service', 'web-2.service', 'webs.target']);
  t.same(dashed, ['web-1.service', 'web-2.service']);
  t.same(instances, ['worker@a.service']);
  t.same(notW, ['once.service']);
  t.same(exact, ['once.service']);
  t.same(bare, [], 'a pattern is matched as written, as systemctl does');
});

t.test('glob patterns in verbs match loaded units', async (t) => {
  t.same(codeOut(await run('stop', 'web-*')), [0, '']);
  t.same([...pidsWith(m1), ...pidsWith(m2)], [], 'both stopped');
  t.equal((await up.prop('worker@a', 'ActiveState', () => true)), 'active', 'nothing else');
  t.same(codeOut(await run('is-active', 'web-*')), [3, 'inactive\ninactive\n']);
  t.same(codeOut(await run('start', 'web-?')), [0, ''], 'web-? is web-?.service: a pattern gets no suffix, a name does');
  t.same(codeOut(await run('is-active', 'web-*')), [3, 'inactive\ninactive\n'], 'web-? matched nothing');
  t.same(codeOut(await run('start', 'web-?.service')), [0, '']);
  t.same(codeOut(await run('is-active', 'web-*')), [0, 'active\nactive\n']);
  t.equal(pidsWith(m1).length + pidsWith(m2).length, 2);

  t.same(codeOut(await run('kill', '-s', 'SIGKILL', 'web-*')), [0, '']);
  await up.prop('web-1', 'ActiveState', (v) => v === 'failed');
  await up.prop('web-2', 'ActiveState', (v) => v === 'failed');
  t.same(codeOut(await run('is-failed', 'web-*')), [0, 'failed\nfailed\n']);
  const status = await run('status', 'web-*');
  t.equal(status.code, 3);
  t.match(status.stdout, /web-1\.service[\s\S]*web-2\.service/);
  t.same(codeOut(await run('reset-failed', 'web-*')), [0, '']);
  t.same(codeOut(await run('is-failed', 'web-*')), [1, 'inactive\ninactive\n']);
  t.same(codeOut(await run('restart', 'web-*')), [0, '']);
  t.same(codeOut(await run('is-active', 'web-*')), [0, 'active\nactive\n']);

  const [stop, active, failed, shown] = await Promise.all([run('stop', 'nomatch*'), run('is-active', 'nomatch*'), run('is-failed', 'nomatch*'), run('status', 'nomatch*')]);
  t.same(codeOut(stop), [0, ''], 'a pattern that matches nothing: nothing to do');
  t.same(codeOut(active), [3, ''], 'is-active: nothing active');
  t.same(codeOut(failed), [1, ''], 'is-failed: nothing failed');
  t.same(codeOut(shown), [0, ''], 'status: nothing to show');
  t.equal(pidsWith(m1).length + pidsWith(m2).length, 2, 'stop of nothing stopped nothing');
});

t.test("systemctl's exit codes", async (t) => {
  const cases: [string[], number, string | RegExp][] = [
    [['is-active', 'web-1'], 0, 'active\n'],
    [['is-active', 'once'], 3, 'inactive\n'],
    [['is-active', 'nope'], 3, 'inactive\n'],
    [['is-active', 'once', 'nope'], 3, 'inactive\ninactive\n'],
    [['is-active', 'once', 'web-1'], 0, 'inactive\nactive\n'],
    [['is-failed', 'web-1'], 1, 'active\n'],
    [['is-failed', 'nope'], 1, 'inactive\n'],
    [['status', 'once'], 3, /once\.service/],
    [['status', 'nope'], 4, ''],
    [['status', 'web-1', 'nope'], 4, /web-1\.service/],
    [['status', 'once', 'nope'], 3, /once\.service/],
    [['show', 'nope'], 0, /^LoadState=not-found$/m],
    [['cat', 'nope'], 1, ''],
    [['kill', 'nope'], 1, ''],
    [['reset-failed', 'nope'], 1, ''],
    [['logs', 'nope'], 1, ''],
    [['stop', 'nope'], 5, ''],
    [['restart', 'nope'], 5, ''],
  ];
  const runs = await Promise.all(cases.map(([args]) => run(...args)));
  cases.forEach(([args, code, stdout], i) => {
    t.equal(runs[i].code, code, `sctl ${args.join(' ')}: ${code}`);
    if (typeof stdout === 'string') t.equal(runs[i].stdout, stdout, `sctl ${args.join(' ')}: output`);
    else t.match(runs[i].stdout, stdout, `sctl ${args.join(' ')}: output`);
  });
  t.match(runs[8].stderr, 'Unit nope.service could not be found.');
  t.match(runs[13].stderr, 'Failed to kill unit nope.service: Unit nope.service not loaded.');
  t.match(runs[16].stderr, 'Failed to stop nope.service: Unit nope.service not loaded.');

  // A missing unit does not hold back the others: each is queued on its own, as systemctl does.
  t.same(codeOut(await run('stop', 'web-1')), [0, '']);
  const start = await run('start', 'nope', 'web-1');
  t.same([start.code, start.stderr], [5, 'Failed to start nope.service: Unit nope.service not found.\n']);
  t.equal(await up.prop('web-1', 'ActiveState', () => true), 'active', 'web-1 was started');
});

t.test('no enable step, so no --now', async (t) => {
  const help = await cli('sctl', ['--help']);
  t.match(help.stdout, 'There is no enable step');
  const enable = await cli('sctl', ['enable', '--now', 'web-1']);
  t.equal(enable.code, 1);
  t.match(enable.stderr, /unknown command 'enable'/);
});
