import t from 'tap';
import { commonKeys, serviceKeys, unitKeys } from '../../specs/keys.js';
import type { ServiceConfig, TargetConfig } from '../../specs/types.js';
import { parse } from './helpers.js';

const svc = (spec: { units: Record<string, { config: unknown }> }, name: string) =>
  spec.units[name].config as ServiceConfig;

t.test('an almost empty service gets every default', async (t) => {
  const spec = await parse('[service.web]\nExecStart = "/bin/true"\n');
  const c = svc(spec, 'web.service');
  t.same(spec.manager, {
    DefaultTarget: 'default.target',
    DefaultTimeoutStartSec: 90_000,
    DefaultTimeoutStopSec: 90_000,
    DefaultRestartSec: 100,
    DefaultEnvironment: {},
    OnCrash: 'rollback',
    DefaultFailureAction: 'none',
    LogTarget: 'console',
    LogMaxSize: 8 * 1024 * 1024,
    LogMaxFiles: 4,
    ForwardToSyslog: false,
  });
  t.match(c, {
    Description: 'web.service',
    SuccessAction: 'none',
    FailureAction: 'none',
    Type: 'simple',
    Restart: 'no',
    RestartSec: 100,
    StartLimitIntervalSec: 10_000,
    StartLimitBurst: 5,
    TimeoutStartSec: 90_000,
    TimeoutStopSec: 90_000,
    KillMode: 'control-group',
    KillSignal: 'SIGTERM',
    SendSIGKILL: true,
    RemainAfterExit: false,
    PIDFile: null,
    User: null,
    Group: null,
    WorkingDirectory: null,
    Environment: {},
    EnvironmentFile: [],
    StandardOutput: { kind: 'journal' },
    StandardError: { kind: 'journal' },
    WatchdogSec: 0,
    NotifyAccess: 'none',
    RestartPreventExitStatus: { codes: [], signals: [] },
    SuccessExitStatus: { codes: [], signals: [] },
    ExecStartPre: [],
  });
  t.same(Object.keys(c).sort(), unitKeys.service.map((d) => d.key).sort(), 'every service key is present');
  t.same(c.ExecStart, [{ path: '/bin/true', argv: ['/bin/true'], ignoreFailure: false }]);
  for (const d of commonKeys.filter((d) => Array.isArray(d.default)))
    t.same((c as unknown as Record<string, unknown>)[d.key], [], d.key);
  t.same(
    spec.units['web.service'].keys,
    { ExecStart: { file: '/specs/system.toml', line: 2 } },
    'only written keys have a location',
  );
  t.same(spec.units['web.service'].where, { file: '/specs/system.toml', line: 1 });
  t.same(spec.files, ['/specs/system.toml']);
});

t.test('defaults are copies: changing one unit changes no other', async (t) => {
  const spec = await parse('[service.a]\nExecStart = "/bin/true"\n[service.b]\nExecStart = "/bin/true"\n');
  svc(spec, 'a.service').Wants.push('x');
  svc(spec, 'a.service').Environment.X = '1';
  t.same(svc(spec, 'b.service').Wants, []);
  t.same(svc(spec, 'b.service').Environment, {});
  t.same(serviceKeys.find((d) => d.key === 'Environment')!.default, {});
});

t.test('manager defaults flow into services; oneshot waits forever to start', async (t) => {
  const spec = await parse(`
[manager]
DefaultTimeoutStartSec = "20s"
DefaultTimeoutStopSec = 0
DefaultRestartSec = 2
LogTarget = "null"
LogMaxSize = "1.5K"
LogMaxFiles = 0
[service.a]
ExecStart = "/bin/true"
[service.b]
Type = "oneshot"
ExecStart = "/bin/true"
[service.c]
ExecStart = "/bin/true"
TimeoutStartSec = "5s"
TimeoutStopSec = "infinity"
RestartSec = "1min"
`);
  t.match(spec.manager, {
    DefaultTimeoutStartSec: 20_000,
    DefaultTimeoutStopSec: Infinity,
    DefaultRestartSec: 2000,
    LogTarget: 'null',
    LogMaxSize: 1536,
    LogMaxFiles: 0,
  });
  t.match(svc(spec, 'a.service'), { TimeoutStartSec: 20_000, TimeoutStopSec: Infinity, RestartSec: 2000 });
  t.match(svc(spec, 'b.service'), { TimeoutStartSec: Infinity, TimeoutStopSec: Infinity });
  t.match(svc(spec, 'c.service'), { TimeoutStartSec: 5000, TimeoutStopSec: Infinity, RestartSec: 60_000 });
});

t.test('a timeout of 0 is infinity, other durations of 0 are 0', async (t) => {
  const c = svc(
    await parse(
      '[service.a]\nExecStart = "/bin/true"\nTimeoutStartSec = "0"\nRestartSec = 0\nWatchdogSec = "0s"\nNotifyAccess = "main"\n',
    ),
    'a.service',
  );
  t.equal(c.TimeoutStartSec, Infinity);
  t.equal(c.RestartSec, 0);
  t.equal(c.WatchdogSec, 0);
});

t.test('Environment: table, sub-table, "K=V" array and string forms', async (t) => {
  const spec = await parse(`
[service.a]
ExecStart = "/bin/true"
Environment = { PORT = "80", N = 3, ON = true, EMPTY = "" }
[service.b]
ExecStart = "/bin/true"
Environment = ["PORT=80", "MSG=hello world", "EQ=a=b", "PORT=81"]
[service.c]
ExecStart = "/bin/true"
Environment = 'PORT=80 "MSG=hello world"'
[service.d]
ExecStart = "/bin/true"
[service.d.Environment]
PORT = "80"
`);
  t.same(svc(spec, 'a.service').Environment, { PORT: '80', N: '3', ON: 'true', EMPTY: '' });
  t.same(
    svc(spec, 'b.service').Environment,
    { PORT: '81', MSG: 'hello world', EQ: 'a=b' },
    'the later assignment wins',
  );
  t.same(svc(spec, 'c.service').Environment, { PORT: '80', MSG: 'hello world' });
  t.same(svc(spec, 'd.service').Environment, { PORT: '80' });
  t.same(
    spec.units['d.service'].keys.Environment,
    { file: '/specs/system.toml', line: 13 },
    'located at the sub-table',
  );
});

t.test('StandardError=inherit resolves to the StandardOutput target', async (t) => {
  const spec = await parse(`
[service.a]
ExecStart = "/bin/true"
[service.b]
ExecStart = "/bin/true"
StandardOutput = "file:/var/log/b.log"
[service.c]
ExecStart = "/bin/true"
StandardOutput = "null"
StandardError = "inherit"
[service.d]
ExecStart = "/bin/true"
StandardOutput = "append:/tmp/d"
StandardError = "truncate:/tmp/d.err"
[service.e]
ExecStart = "/bin/true"
StandardOutput = "inherit"
`);
  t.same(svc(spec, 'a.service').StandardError, { kind: 'journal' });
  t.same(svc(spec, 'b.service').StandardError, { kind: 'file', path: '/var/log/b.log' });
  t.same(svc(spec, 'c.service').StandardError, { kind: 'null' }, 'also when written out');
  t.same(svc(spec, 'd.service').StandardOutput, { kind: 'append', path: '/tmp/d' });
  t.same(svc(spec, 'd.service').StandardError, { kind: 'truncate', path: '/tmp/d.err' });
  t.same(svc(spec, 'e.service').StandardError, { kind: 'inherit' }, 'the manager’s own stderr');
});

t.test('KillSignal forms normalise to the SIG name', async (t) => {
  for (const [written, name] of [
    ['"TERM"', 'SIGTERM'],
    ['"SIGINT"', 'SIGINT'],
    ['9', 'SIGKILL'],
    ['"HUP"', 'SIGHUP'],
    ['15', 'SIGTERM'],
  ]) {
    const c = svc(await parse(`[service.a]\nExecStart = "/bin/true"\nKillSignal = ${written}\n`), 'a.service');
    t.equal(c.KillSignal, name, written);
  }
});

t.test('exit status sets: arrays and space-separated strings', async (t) => {
  const spec = await parse(`
[service.a]
ExecStart = "/bin/true"
SuccessExitStatus = [1, "2", "SIGKILL", "TERM", 1]
RestartPreventExitStatus = "3 SIGUSR1  255"
`);
  t.same(svc(spec, 'a.service').SuccessExitStatus, { codes: [1, 2], signals: ['SIGKILL', 'SIGTERM'] });
  t.same(svc(spec, 'a.service').RestartPreventExitStatus, { codes: [3, 255], signals: ['SIGUSR1'] });
});

t.test('conditions: a string or an array, "!" negates', async (t) => {
  const spec = await parse(`
[service.a]
ExecStart = "/bin/true"
ConditionPathExists = "!/etc/x"
ConditionFileIsExecutable = ["/bin/sh", "!/bin/nope"]
ConditionEnvironment = ["CI", "!MODE=prod", "EMPTY="]
`);
  const c = svc(spec, 'a.service');
  t.same(c.ConditionPathExists, [{ value: '/etc/x', negate: true }]);
  t.same(c.ConditionFileIsExecutable, [
    { value: '/bin/sh', negate: false },
    { value: '/bin/nope', negate: true },
  ]);
  t.same(c.ConditionEnvironment, [
    { value: 'CI', negate: false },
    { value: 'MODE=prod', negate: true },
    { value: 'EMPTY=', negate: false },
  ]);
});

t.test('dependency lists: string or array, deduplicated', async (t) => {
  const spec = await parse(`
[service.a]
ExecStart = "/bin/true"
Wants = "b.service"
After = ["b.service", "t.target", "b.service"]
[service.b]
ExecStart = "/bin/true"
[target.t]
`);
  t.same(svc(spec, 'a.service').Wants, ['b.service']);
  t.same(svc(spec, 'a.service').After, ['b.service', 't.target']);
});

t.test('NotifyAccess defaults to main for Type=notify and watchdogs', async (t) => {
  const spec = await parse(`
[service.a]
Type = "notify"
ExecStart = "/bin/true"
[service.b]
WatchdogSec = "30s"
ExecStart = "/bin/true"
[service.c]
Type = "notify"
NotifyAccess = "all"
ExecStart = "/bin/true"
`);
  t.equal(svc(spec, 'a.service').NotifyAccess, 'main');
  t.equal(svc(spec, 'b.service').NotifyAccess, 'main');
  t.equal(svc(spec, 'b.service').WatchdogSec, 30_000);
  t.equal(svc(spec, 'c.service').NotifyAccess, 'all');
});

t.test('other service keys', async (t) => {
  const c = svc(
    await parse(`
[service.a]
Type = "forking"
ExecStart = "/usr/sbin/daemon"
ExecReload = ["/bin/kill", "-HUP", "$MAINPID"]
ExecStop = [["/bin/kill", "$MAINPID"], "-/bin/rm /run/a.pid"]
PIDFile = "/run/a.pid"
User = "www"
Group = "1000"
WorkingDirectory = "~"
EnvironmentFile = ["/etc/a.env", "-/etc/a.local.env"]
KillMode = "mixed"
SendSIGKILL = false
RemainAfterExit = true
StartLimitBurst = 0
StartLimitIntervalSec = "1min"
Restart = "on-abnormal"
`),
    'a.service',
  );
  t.match(c, {
    Type: 'forking',
    PIDFile: '/run/a.pid',
    User: 'www',
    Group: '1000',
    WorkingDirectory: '~',
    KillMode: 'mixed',
    SendSIGKILL: false,
    RemainAfterExit: true,
    StartLimitBurst: 0,
    StartLimitIntervalSec: 60_000,
    Restart: 'on-abnormal',
  });
  t.same(c.EnvironmentFile, [
    { path: '/etc/a.env', optional: false },
    { path: '/etc/a.local.env', optional: true },
  ]);
  t.same(c.ExecReload[0].argv, ['/bin/kill', '-HUP', '$MAINPID']);
  t.same(
    c.ExecStop.map((x) => [x.argv, x.ignoreFailure]),
    [
      [['/bin/kill', '$MAINPID'], false],
      [['/bin/rm', '/run/a.pid'], true],
    ],
  );
});

t.test('WorkingDirectory: absolute, ~, or relative to the file that sets it', async (t) => {
  const spec = await parse(`
[service.a]
ExecStart = "/bin/true"
WorkingDirectory = "/srv/a"
[service.b]
ExecStart = "/bin/true"
WorkingDirectory = "~/b"
[service.c]
ExecStart = "/bin/true"
WorkingDirectory = "."
[service.d]
ExecStart = "/bin/true"
WorkingDirectory = "../d"
`);
  t.equal(svc(spec, 'a.service').WorkingDirectory, '/srv/a');
  t.equal(svc(spec, 'b.service').WorkingDirectory, '~/b');
  t.equal(svc(spec, 'c.service').WorkingDirectory, '/specs');
  t.equal(svc(spec, 'd.service').WorkingDirectory, '/d');
});

t.test('a synthesised default.target wants every unit but failure handlers', async (t) => {
  const spec = await parse(`
[service.web]
ExecStart = "/bin/true"
OnFailure = "alert.service"
OnSuccess = ["done.service"]
[service.alert]
ExecStart = "/bin/true"
[service.done]
ExecStart = "/bin/true"
[service.both]
ExecStart = "/bin/true"
[service.db]
ExecStart = "/bin/true"
OnFailure = "both.service"
Wants = "both.service"
[target.multi-user]
`);
  const d = spec.units['default.target'];
  t.equal(d.type, 'target');
  t.same(d.keys, {});
  t.same((d.config as TargetConfig).Wants, ['both.service', 'db.service', 'multi-user.target', 'web.service']);
  t.same(Object.keys(d.config).sort(), commonKeys.map((k) => k.key).sort());
  t.equal(spec.manager.DefaultTarget, 'default.target');
});

t.test('a user-defined default.target or DefaultTarget is used as is', async (t) => {
  const own = await parse(
    '[target.default]\nWants = "a.service"\n[service.a]\nExecStart = "/bin/true"\n[service.b]\nExecStart = "/bin/true"\n',
  );
  t.same((own.units['default.target'].config as TargetConfig).Wants, ['a.service']);
  t.same(own.units['default.target'].where.line, 1);
  const named = await parse(
    '[manager]\nDefaultTarget = "multi-user.target"\n[target.multi-user]\n[service.a]\nExecStart = "/bin/true"\n',
  );
  t.equal(named.manager.DefaultTarget, 'multi-user.target');
  t.notOk(named.units['default.target'], 'nothing synthesised');
});

t.test('WantedBy=default.target works against the synthesised target', async (t) => {
  const spec = await parse('[service.a]\nExecStart = "/bin/true"\nWantedBy = "default.target"\n');
  t.same(svc(spec, 'a.service').WantedBy, ['default.target']);
});

t.test('a oneshot with ExecStop and RemainAfterExit needs no ExecStart', async (t) => {
  const spec = await parse('[service.a]\nType = "oneshot"\nRemainAfterExit = true\nExecStop = "/bin/true"\n');
  t.same(svc(spec, 'a.service').ExecStart, []);
  const one = await parse('[service.a]\nType = "oneshot"\nExecStart = ["/bin/echo", "x"]\n');
  t.equal(svc(one, 'a.service').ExecStart.length, 1, 'an array of strings is still one argv');
  const list = await parse('[service.a]\nType = "oneshot"\nExecStart = ["/bin/true", ["/bin/echo", "x"]]\n');
  t.same(
    svc(list, 'a.service').ExecStart.map((c) => c.argv),
    [['/bin/true'], ['/bin/echo', 'x']],
    'an array element makes a list',
  );
});

t.test('custom unit types through LoadOptions.unitKeys', async (t) => {
  const spec = await parse(
    '[swap.t]\nDescription = "tick"\n[service.a]\nExecStart = "/bin/true"\nWants = "t.swap"\n',
    {
      unitKeys: { ...unitKeys, swap: [...commonKeys] },
    },
  );
  t.equal(spec.units['t.swap'].type, 'swap');
  t.equal(spec.units['t.swap'].config.Description, 'tick');
});
