// One test per kind of bad input: each checks the problem's file:line, unit, key, message and hint.
import t from 'tap';
import { formatProblem } from '../../specs/errors.js';
import { parseSpec } from '../../specs/loader.js';
import { parse, problem, problems } from './helpers.js';

const file = '/specs/system.toml';
const at = (line: number) => ({ file, line });
const ok = '[service.ok]\nExecStart = "/bin/true"\n';

t.test('malformed TOML: file and line from the parser', async (t) => {
  const p = await problem('[service.web]\nExecStart = "/bin/true"\nRestart = \n');
  t.match(p, { where: at(3), message: /^invalid TOML: .*expecting/ });
  t.equal(p.unit, 'web.service', 'the table the error stands in');
  const dup = await problem('[service.web]\nExecStart = "/bin/true"\nExecStart = "/bin/false"\n');
  t.match(dup, { where: at(3), message: /invalid TOML: Can't redefine existing key/ });
});

t.test('unknown top-level table, with did you mean', async (t) => {
  t.match(await problem(`${ok}\n[servce.web]\nExecStart = "/bin/true"\n`), {
    where: at(4),
    key: 'servce',
    message: 'unknown table [servce]',
    hint: 'did you mean "service"?',
  });
  t.match(await problem(`Include = "x.toml"\n${ok}`), {
    where: at(1),
    key: 'Include',
    message: 'unknown top-level key "Include"',
    hint: 'did you mean "include"?',
  });
  t.match(await problem(`${ok}[web]\nx = 1\n`), {
    where: at(3),
    message: 'unknown table [web]',
    hint: /\[manager\] and \[service\.NAME\], \[target\.NAME\]/,
  });
});

t.test('unknown unit key: case-insensitive and close matches', async (t) => {
  t.match(await problem('[service.web]\nexecstart = "/bin/true"\nExecStart = "/bin/true"\n'), {
    where: at(2),
    unit: 'web.service',
    key: 'execstart',
    message: 'unknown service key "execstart"',
    hint: 'did you mean "ExecStart"?',
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nRestrat = "always"\n'), {
    where: at(3),
    key: 'Restrat',
    hint: 'did you mean "Restart"?',
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nProtectHome = "yes"\n'), {
    key: 'ProtectHome',
    message: 'unknown service key "ProtectHome"',
    hint: undefined,
  });
  t.match(await problem('[target.t]\nExecStart = "/bin/true"\n'), {
    where: at(2),
    unit: 't.target',
    key: 'ExecStart',
    message: 'unknown target key "ExecStart"',
    hint: 'ExecStart is a service key; target units do not take it',
  });
  t.match(await problem(`${ok}DefaultTimeoutStopSec = "5s"\n`), {
    unit: 'ok.service',
    hint: 'DefaultTimeoutStopSec belongs in [manager]',
  });
});

t.test('unknown [manager] key', async (t) => {
  t.match(await problem(`[manager]\nDefaultTimeoutSec = "5s"\n${ok}`), {
    where: at(2),
    key: 'DefaultTimeoutSec',
    message: 'unknown [manager] key "DefaultTimeoutSec"',
    hint: /did you mean "DefaultTimeout(Start|Stop)Sec"\?/,
  });
  t.match(await problem(`[manager]\nRestart = "always"\n${ok}`), {
    hint: "Restart is a unit key: put it in a unit's table",
  });
});

t.test('wrong type and bad enum value', async (t) => {
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nRestart = 3\n'), {
    where: at(3),
    unit: 'web.service',
    key: 'Restart',
    message:
      'expected one of "no", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog", "always", got 3',
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nRestart = "on_failure"\n'), {
    key: 'Restart',
    message: /got "on_failure"/,
    hint: 'did you mean "on-failure"?',
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nType = "notfy"\n'), {
    key: 'Type',
    hint: 'did you mean "notify"?',
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nDescription = ["x"]\n'), {
    key: 'Description',
    message: 'expected a string, got an array',
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nSendSIGKILL = "yes"\n'), {
    key: 'SendSIGKILL',
    message: 'expected true or false, got "yes"',
    hint: /write true, without quotes/,
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nStartLimitBurst = -1\n'), {
    key: 'StartLimitBurst',
    message: 'expected a whole number ≥ 0, got -1',
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nStartLimitBurst = 99999999999999999999\n'), {
    key: 'StartLimitBurst',
    message: /out of range/,
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nRestartSec = 1979-05-27\n'), {
    key: 'RestartSec',
    message: /got a date/,
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nUser = 1000\n'), {
    key: 'User',
    hint: 'write "1000" (a string)',
  });
  t.match(await problem('[service.web]\nExecStart = 7\n'), {
    where: at(2),
    key: 'ExecStart',
    message: /^expected a command line string, an argv array of strings, or a list of those, got 7/,
  });
  t.match(await problem('[manager]\nLogTarget = "syslog"\n' + ok), {
    where: at(2),
    key: 'LogTarget',
    message: /expected one of "console", "file", "null"/,
  });
});

t.test('bad durations', async (t) => {
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nRestartSec = "5 secs"\n'), {
    where: at(3),
    unit: 'web.service',
    key: 'RestartSec',
    message: /^bad time span "5 secs": expected a time span/,
    hint: /units are us, ms, s, min/,
  });
  t.match(await problem('[manager]\nDefaultTimeoutStartSec = -5\n' + ok), {
    key: 'DefaultTimeoutStartSec',
    message: /bad time span -5/,
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nWatchdogSec = true\n'), {
    key: 'WatchdogSec',
    message: /expected a time span .* got true/,
  });
});

t.test('other bad values', async (t) => {
  const cases: [string, string, RegExp, RegExp?][] = [
    ['KillSignal = "TREM"', 'KillSignal', /unknown signal "TREM"/, /did you mean "SIGTERM"\?/],
    ['KillSignal = 99', 'KillSignal', /99 is not a signal number/],
    [
      'StandardOutput = "jurnal"',
      'StandardOutput',
      /expected "journal", "inherit", "null", "file:PATH"/,
      /did you mean "journal"\?/,
    ],
    ['StandardOutput = "kmsg"', 'StandardOutput', /got "kmsg"/, /not supported/],
    ['StandardError = "file:log.txt"', 'StandardError', /"log.txt" is not an absolute path/],
    ['SuccessExitStatus = [256]', 'SuccessExitStatus', /exit status 256 is out of range/],
    ['SuccessExitStatus = [-1, 1]', 'SuccessExitStatus', /exit status -1 is out of range/],
    ['RestartPreventExitStatus = "1.5"', 'RestartPreventExitStatus', /exit status 1.5 is out of range/],
    ['SuccessExitStatus = "1 SIGFOO"', 'SuccessExitStatus', /unknown signal "SIGFOO"/],
    ['Environment = { "A-B" = "1" }', 'Environment', /"A-B" is not a variable name/],
    ['Environment = { A = 1.5 }', 'Environment', /variable A: expected a string, got 1.5/],
    ['Environment = ["A"]', 'Environment', /"A" is not a "NAME=VALUE" assignment/],
    ['EnvironmentFile = "env"', 'EnvironmentFile', /"env" is not an absolute path/],
    ['PIDFile = "run/x.pid"', 'PIDFile', /not an absolute path/],
    ['WorkingDirectory = ""', 'WorkingDirectory', /expected a directory path, got ""/],
    ['ConditionPathExists = "|/etc/x"', 'ConditionPathExists', /"\|" \(trigger\) prefix .* not supported/],
    ['ConditionPathExists = "etc/x"', 'ConditionPathExists', /not an absolute path/],
    ['ConditionEnvironment = "1X"', 'ConditionEnvironment', /neither "NAME" nor "NAME=VALUE"/],
    ['Requires = 5', 'Requires', /expected a unit name or an array of unit names/],
    ['Wants = ["bad name.service"]', 'Wants', /"bad name.service" is not a valid unit name/],
  ];
  for (const [line, key, message, hint] of cases) {
    const p = await problem(`[service.web]\nExecStart = "/bin/true"\n${line}\n`);
    t.match(p, { where: at(3), unit: 'web.service', key, message, ...(hint ? { hint } : {}) }, line);
  }
});

t.test('Exec prefixes and ambiguous argv arrays', async (t) => {
  t.match(await problem('[service.web]\nExecStart = "@/bin/true x"\n'), {
    where: at(2),
    unit: 'web.service',
    key: 'ExecStart',
    message: 'the "@" prefix (a separate argv[0]) is not supported',
    hint: 'remove "@" from "@/bin/true"',
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/true"\nExecStartPre = "+/bin/true"\n'), {
    key: 'ExecStartPre',
    message: /"\+" prefix .* not supported/,
  });
  t.match(await problem('[service.web]\nType = "oneshot"\nExecStart = ["/bin/echo hi", "/bin/true"]\n'), {
    where: at(3),
    key: 'ExecStart',
    message: 'argv[0] "/bin/echo hi" contains whitespace',
    hint: /an array of strings is one argv; for several commands write \[\[\.\.\.\], \[\.\.\.\]\]/,
  });
  t.match(await problem('[service.web]\nExecStart = "/bin/echo \\"open"\n'), {
    key: 'ExecStart',
    message: 'unterminated double quote',
  });
});

t.test('missing ExecStart and other service rules, as systemd refuses them', async (t) => {
  t.match(await problem('[service.web]\nDescription = "no command"\n'), {
    where: at(1),
    unit: 'web.service',
    key: 'ExecStart',
    message: 'Service has no ExecStart= setting, which is only allowed for Type=oneshot services',
    hint: /add ExecStart = /,
  });
  t.match(await problem('[service.web]\nExecStart = [["/bin/true"], ["/bin/false"]]\n'), {
    where: at(2),
    key: 'ExecStart',
    message: /more than one ExecStart=/,
    hint: /Type = "oneshot"/,
  });
  t.match(await problem('[service.web]\nType = "oneshot"\n'), {
    key: 'ExecStart',
    message: 'Service has no ExecStart= or ExecStop= setting',
  });
  t.match(await problem('[service.web]\nType = "oneshot"\nExecStop = "/bin/true"\n'), {
    key: 'ExecStart',
    message: /does not have RemainAfterExit=true/,
    hint: /RemainAfterExit = true/,
  });
  t.match(await problem('[service.web]\nType = "oneshot"\nExecStart = "/bin/true"\nRestart = "always"\n'), {
    where: at(4),
    key: 'Restart',
    message: 'Restart=always is not allowed for Type=oneshot services',
  });
  t.match(await problem('[service.web]\nType = "notify"\nNotifyAccess = "none"\nExecStart = "/bin/true"\n'), {
    where: at(3),
    key: 'NotifyAccess',
    message: /ignores every sd_notify message/,
  });
  // A broken ExecStart is one problem, not also "has no ExecStart=".
  t.match(await problem('[service.web]\nExecStart = "!/bin/true"\n'), { message: /"!" prefix/ });
});

t.test('references to unknown units, with did you mean over unit names', async (t) => {
  t.match(
    await problem(
      `[service.web]\nExecStart = "/bin/true"\nRequires = ["db.service"]\n[service.dbs]\nExecStart = "/bin/true"\n`,
    ),
    {
      where: at(3),
      unit: 'web.service',
      key: 'Requires',
      message: 'Requires= names db.service, which is not defined',
      hint: 'did you mean "dbs.service"?',
    },
  );
  t.match(await problem(`${ok}[service.web]\nExecStart = "/bin/true"\nOnFailure = "zzz.service"\n`), {
    key: 'OnFailure',
    hint: 'define [service.zzz] or remove it',
  });
  for (const key of [
    'Wants',
    'Requisite',
    'BindsTo',
    'PartOf',
    'Conflicts',
    'Before',
    'After',
    'OnFailure',
    'OnSuccess',
    'WantedBy',
    'RequiredBy',
  ]) {
    t.match(
      await problem(`[service.web]\nExecStart = "/bin/true"\n${key} = "nope.target"\n`),
      { where: at(3), key, message: new RegExp(`${key}= names nope.target`) },
      key,
    );
  }
  t.match(await problem(`[manager]\nDefaultTarget = "multi-usr.target"\n[target.multi-user]\n`), {
    where: at(2),
    key: 'DefaultTarget',
    message: 'DefaultTarget= names multi-usr.target, which is not defined',
    hint: 'did you mean "multi-user.target"?',
  });
});

t.test('a bare unit name: write the full name', async (t) => {
  t.match(
    await problem(`[service.web]\nExecStart = "/bin/true"\nAfter = ["db"]\n[service.db]\nExecStart = "/bin/true"\n`),
    {
      where: at(3),
      unit: 'web.service',
      key: 'After',
      message: '"db" is not a full unit name',
      hint: 'write db.service',
    },
  );
  t.match(await problem(`[service.web]\nExecStart = "/bin/true"\nWantedBy = "multi-user"\n[target.multi-user]\n`), {
    hint: 'write multi-user.target',
  });
  t.match(
    await problem(
      `[service.web]\nExecStart = "/bin/true"\nAfter = "db.servce"\n[service.db]\nExecStart = "/bin/true"\n`,
    ),
    {
      message: /"db.servce" does not end in a unit type \(.service, .target, .socket/,
      hint: 'did you mean "db.service"?',
    },
  );
  t.match(await problem('[manager]\nDefaultTarget = "multi-user"\n[target.multi-user]\n'), {
    key: 'DefaultTarget',
    hint: 'write multi-user.target',
  });
});

t.test('bad table shapes and unit names', async (t) => {
  t.match(await problem('[service]\nExecStart = "/bin/true"\n'), {
    where: at(2),
    unit: 'ExecStart.service',
    message: /expected a table \[service.ExecStart\], got "\/bin\/true"/,
  });
  t.match(await problem('service = 5\n'), { where: at(1), message: 'expected [service.NAME] tables, got 5' });
  t.match(await problem('manager = "x"\n'), { where: at(1), message: 'expected a [manager] table, got "x"' });
  t.match(await problem('[service."web app"]\nExecStart = "/bin/true"\n'), {
    where: at(1),
    unit: 'web app.service',
    message: '"web app" is not a valid unit name',
  });
  t.match(await problem('include = 5\n'), { where: at(1), key: 'include', message: /expected a path or glob/ });
});

t.test('ordering cycles, Before= made symmetric', async (t) => {
  const p = await problem(`
[service.a]
ExecStart = "/bin/true"
After = "b.service"
Before = "c.service"
[service.b]
ExecStart = "/bin/true"
After = "c.service"
[service.c]
ExecStart = "/bin/true"
`);
  t.match(p, {
    where: at(4),
    unit: 'a.service',
    key: 'After',
    message: 'ordering cycle: a.service → b.service → c.service → a.service (each starts after the next)',
    hint: 'remove one of these orderings: a.service After=b.service, b.service After=c.service, a.service Before=c.service',
  });
  t.match(await problem('[service.a]\nExecStart = "/bin/true"\nAfter = "a.service"\n'), {
    where: at(3),
    message: 'ordering cycle: a.service → a.service (each starts after the next)',
  });
  const three = await problem(`
[service.a]
ExecStart = "/bin/true"
After = "b.service"
[service.b]
ExecStart = "/bin/true"
After = "c.service"
[service.c]
ExecStart = "/bin/true"
After = "a.service"
`);
  t.match(three, { message: /a.service → b.service → c.service → a.service/ });
  await t.resolves(
    parse(
      '[service.a]\nExecStart = "/bin/true"\nAfter = "b.service"\n[service.b]\nExecStart = "/bin/true"\nBefore = "a.service"\n',
    ),
    'the same order twice is no cycle',
  );
});

t.test('requirement cycles', async (t) => {
  const p = await problem(`
[service.a]
ExecStart = "/bin/true"
Requires = "b.service"
[service.b]
ExecStart = "/bin/true"
BindsTo = "a.service"
`);
  t.match(p, {
    where: at(4),
    unit: 'a.service',
    key: 'Requires',
    message: 'requirement cycle: a.service → b.service → a.service (each requires the next)',
    hint: 'make one of these a Wants=: a.service Requires=b.service, b.service BindsTo=a.service',
  });
  t.match(
    await problem(
      '[service.a]\nExecStart = "/bin/true"\nRequiredBy = "b.service"\nRequires = "b.service"\n[service.b]\nExecStart = "/bin/true"\n',
    ),
    {
      message: /requirement cycle: a.service → b.service → a.service/,
      hint: /a.service Requires=b.service, a.service RequiredBy=b.service/,
    },
  );
  await t.resolves(
    parse(
      '[service.a]\nExecStart = "/bin/true"\nRequiredBy = "b.service"\n[service.b]\nExecStart = "/bin/true"\nRequires = "a.service"\n',
    ),
    'RequiredBy= and Requires= saying the same thing is no cycle',
  );
  await t.resolves(
    parse(
      '[service.a]\nExecStart = "/bin/true"\nWants = "b.service"\n[service.b]\nExecStart = "/bin/true"\nWants = "a.service"\n',
    ),
    'Wants= may go both ways',
  );
});

t.test('every problem at once, sorted by line', async (t) => {
  const list = await problems(
    parseSpec(
      '[service.web]\nRestart = 3\nTyp = "simple"\nExecStart = "/nonexistent/x"\nAfter = "nope.service"\n',
      file,
    ),
  );
  t.same(
    list.map((p) => [p.where.line, p.key]),
    [
      [2, 'Restart'],
      [3, 'Typ'],
      [4, 'ExecStart'],
      [5, 'After'],
    ],
  );
  t.match(
    formatProblem(list[1]),
    '/specs/system.toml:3: web.service: Typ: unknown service key "Typ" (did you mean "Type"?)',
  );
  const err = await parseSpec('[service.web]\nRestart = 3\n', file, { checkExecutables: false }).catch(
    (e: unknown) => e,
  );
  t.match(err, { name: 'SpecError', code: 'ESPEC' });
});
