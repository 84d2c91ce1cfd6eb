// RuntimeDirectory= and its family in a spec: what the loader makes of the paths and what it refuses, with where;
// what sysmaster convert makes of systemd's directives.
import path from 'node:path';
import t from 'tap';
import { formatProblem } from '../../specs/errors.js';
import { convert, formatReport } from '../../specs/systemd/convert.js';
import type { ServiceConfig } from '../../specs/types.js';
import { loadConverted } from './convert-helpers.js';
import { parse, problems, tree } from './helpers.js';

const service = async (lines: string): Promise<ServiceConfig> =>
  (await parse(`[service.a]\nExecStart = "/bin/true"\n${lines}\n`)).units['a.service'].config as ServiceConfig;

t.test('systemd defaults: no directories, mode 0755, RuntimeDirectoryPreserve=no', async (t) => {
  const c = await service('');
  for (const k of ['RuntimeDirectory', 'StateDirectory', 'CacheDirectory', 'LogsDirectory', 'ConfigurationDirectory'] as const) {
    t.same(c[k], [], k);
    t.equal(c[`${k}Mode`], 0o755, `${k}Mode`);
  }
  t.equal(c.RuntimeDirectoryPreserve, 'no');
});

t.test('a string or an array, simplified as systemd does, each once', async (t) => {
  const c = await service(
    'RuntimeDirectory = "sshd"\nStateDirectory = ["app", "app//sub/./", "./app"]\nLogsDirectoryMode = "0750"\nRuntimeDirectoryPreserve = "restart"',
  );
  t.same(c.RuntimeDirectory, ['sshd']);
  t.same(c.StateDirectory, ['app', 'app/sub']);
  t.equal(c.LogsDirectoryMode, 0o750);
  t.equal(c.RuntimeDirectoryPreserve, 'restart');
});

t.test('absolute paths, "..", whitespace and the DIR:LINK form are refused, with file:line and key', async (t) => {
  const cases: [string, RegExp][] = [
    ['RuntimeDirectory = "/run/sshd"', /RuntimeDirectory: "\/run\/sshd" is an absolute path \(write it relative to the key's root/],
    ['StateDirectory = ["ok", "a/../../etc"]', /StateDirectory: "a\/..\/..\/etc" goes up with ".."/],
    ['CacheDirectory = ".."', /CacheDirectory: ".." goes up with ".."/],
    ['LogsDirectory = "./"', /LogsDirectory: ".\/" names no directory below the root/],
    ['ConfigurationDirectory = "a b"', /ConfigurationDirectory: "a b" holds whitespace \(one directory per string: write an array/],
    ['StateDirectory = "foo:bar"', /StateDirectory: "foo:bar": systemd's SOURCE:LINK form/],
    ['RuntimeDirectory = 3', /RuntimeDirectory: expected a relative path or an array of relative paths/],
    ['RuntimeDirectoryMode = 755', /RuntimeDirectoryMode: expected an octal mode as a string/],
    ['RuntimeDirectoryPreserve = "always"', /RuntimeDirectoryPreserve: expected one of "no", "yes", "restart"/],
  ];
  for (const [line, message] of cases) {
    const list = await problems(parse(`[service.a]\nExecStart = "/bin/true"\n${line}\n`));
    t.equal(list.length, 1, line);
    t.match(formatProblem(list[0]), /^\/specs\/system\.toml:3: a\.service: /, `${line}: where`);
    t.match(formatProblem(list[0]), message, line);
  }
});

t.test('sysmaster convert: the directives map as written, lists split on whitespace, a boolean Preserve=', async (t) => {
  const dir = tree(t, {
    'app.service':
      '[Service]\nExecStart=/bin/app\nRuntimeDirectory=app app/sockets\nRuntimeDirectory=%p-extra\nRuntimeDirectoryMode=0750\n' +
      'RuntimeDirectoryPreserve=true\nStateDirectory=app\nCacheDirectory=app\nLogsDirectory=app\nConfigurationDirectory=app\n' +
      'LogsDirectory=/var/log/app\n',
  });
  const c = await convert([path.join(dir, 'app.service')]);
  const app = (await loadConverted(c.toml)).units['app.service'].config as ServiceConfig;
  t.same(app.RuntimeDirectory, ['app', 'app/sockets', 'app-extra']);
  t.equal(app.RuntimeDirectoryMode, 0o750);
  t.equal(app.RuntimeDirectoryPreserve, 'yes');
  t.same([app.StateDirectory, app.CacheDirectory, app.ConfigurationDirectory], [['app'], ['app'], ['app']]);
  t.same(app.LogsDirectory, [], 'an absolute path makes the loader refuse the whole key');
  const refused = /: app\.service: unsupported: LogsDirectory=: refused by the spec: "\/var\/log\/app" is an absolute path/;
  t.same(
    c.reports.map(formatReport).map((r) => [path.basename(r.split(':')[0]), Number(r.split(':')[1]), refused.test(r)]),
    [
      ['app.service', 9, true],
      ['app.service', 11, true],
    ],
    'both of its lines are reported, with file:line, and nothing else',
  );
});
