// Delegate='s value syntax, conversion and which commands run in `.control`; exit statuses named as systemctl does.
import t from 'tap';
import { delegatedControllers, parseDelegate, subcgroupOf } from '../../reconciler/delegate.js';
import { EXIT_CGROUP } from '../../reconciler/cgroups.js';
import { formatExitStatus } from '../../specs/exit-status.js';
import { convert } from '../../specs/systemd/convert.js';
import type { ServiceConfig } from '../../specs/types.js';
import { parse, problem } from '../specs/helpers.js';

t.test("systemd's syntax: a boolean, its words, or controller names", async (t) => {
  t.equal(parseDelegate(true), true);
  t.equal(parseDelegate(false), false);
  t.equal(parseDelegate('yes'), true);
  t.equal(parseDelegate('off'), false);
  t.same(parseDelegate('memory pids'), ['memory', 'pids']);
  t.same(parseDelegate(['cpu', 'io', 'cpu']), ['cpu', 'io'], 'each once');
  t.same(parseDelegate(''), [], 'Delegate= alone: delegated, no controllers (as systemd)');
  t.throws(() => parseDelegate('memory hugetlb'), /unknown controller "hugetlb"/);
  t.throws(() => parseDelegate(3), /expected true, false, or controller names/);
});

t.test('the controllers made available: what was asked, in cgroup2 names, that the cgroup2 offers', async (t) => {
  t.same(delegatedControllers(true, ['cpu', 'memory', 'hugetlb']), ['cpu', 'memory']);
  t.same(delegatedControllers(['blkio', 'cpuacct'], ['io', 'cpu']), ['io', 'cpu']);
  t.same(delegatedControllers(['memory'], ['hugetlb']), [], 'on these machines: nothing to enable');
  t.same(delegatedControllers(false, ['memory']), []);
});

t.test('ExecStartPost=, ExecReload=, ExecStop=, ExecStopPost= run in .control once delegated', async (t) => {
  for (const p of ['ExecStartPost', 'ExecReload', 'ExecStop', 'ExecStopPost']) t.equal(subcgroupOf(true, p), '.control', p);
  for (const p of ['ExecStartPre', 'ExecStart']) t.equal(subcgroupOf(['memory'], p), null, p);
  t.equal(subcgroupOf(false, 'ExecStop'), null, 'not delegated');
});

t.test('the spec key: normalised, and a bad value named with file:line', async (t) => {
  const spec = await parse('[service.a]\nExecStart = "/bin/true"\nDelegate = ["memory", "pids"]\n[service.b]\nExecStart = "/bin/true"\n');
  t.same((spec.units['a.service'].config as ServiceConfig).Delegate, ['memory', 'pids']);
  t.equal((spec.units['b.service'].config as ServiceConfig).Delegate, false, 'default false');
  const p = await problem('[service.a]\nExecStart = "/bin/true"\nDelegate = "memory bogus"\n');
  t.match(p, { where: { line: 3 }, unit: 'a.service', key: 'Delegate', message: /unknown controller "bogus"/, hint: /Delegate= takes cpu, / });
});

t.test('sysmaster convert: Delegate= is converted', async (t) => {
  const dir = t.testdir({
    'a.service': '[Service]\nExecStart=/bin/sleep 1\nDelegate=yes\n',
    'b.service': '[Service]\nExecStart=/bin/sleep 1\nDelegate=memory pids\n',
  });
  const r = await convert([`${dir}/a.service`, `${dir}/b.service`], `${dir}/out.toml`);
  t.match(r.toml, /\[service\.a\]\nExecStart = .*\nDelegate = true\n/);
  t.match(r.toml, /\[service\.b\]\nExecStart = .*\nDelegate = "memory pids"\n/);
  t.same(r.reports.filter((x) => /Delegate/.test(x.message)), []);
});

t.test('exit statuses named as systemctl status names them', async (t) => {
  t.equal(formatExitStatus(EXIT_CGROUP), '219/CGROUP');
  t.equal(formatExitStatus(203), '203/EXEC');
  t.equal(formatExitStatus(200), '200/CHDIR');
  t.equal(formatExitStatus(1), '1/FAILURE');
  t.equal(formatExitStatus(42), '42');
});
