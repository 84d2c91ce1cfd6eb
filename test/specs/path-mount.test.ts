// The [path.NAME] and [mount.NAME] tables: their keys, systemd's defaults, and the rules systemd refuses a unit by;
// and the path escaping that names a mount unit after its mount point.
import t from 'tap';
import type { MountConfig, PathConfig } from '../../specs/types.js';
import { escapePath, pathUnitName, unescapePath } from '../../specs/unitname.js';
import { parse, problem } from './helpers.js';

t.test('unit names from paths, as systemd-escape --path makes them', async (t) => {
  const cases: [string, string][] = [
    ['/', '-'],
    ['/srv/data', 'srv-data'],
    ['/srv/my-data', 'srv-my\\x2ddata'],
    ['//srv//data/', 'srv-data'],
    ['/mnt/a b', 'mnt-a\\x20b'],
    ['/home/.hidden', 'home-.hidden'],
    ['/.dotdir', '\\x2edotdir'],
    ['/var/lib/back\\slash', 'var-lib-back\\x5cslash'],
    ['/media/données', 'media-donn\\xc3\\xa9es'],
    ['/run/user/1000:x_y.z', 'run-user-1000:x_y.z'],
  ];
  for (const [p, name] of cases) {
    t.equal(escapePath(p), name, `${p} → ${name}`);
    t.equal(unescapePath(name), p.replace(/\/+/g, '/').replace(/(.)\/$/, '$1'), `${name} → back`);
  }
  t.equal(pathUnitName('/srv/data', 'mount'), 'srv-data.mount');
  t.equal(escapePath('relative/path'), undefined, 'not absolute');
  t.equal(escapePath('/srv/../etc'), undefined, 'a .. component');
  t.equal(escapePath('/srv/./x'), undefined, 'a . component');
});

t.test('a path unit: systemd defaults, Unit= derived, ordered before its unit', async (t) => {
  const spec = await parse(`
[path.inbox]
PathExists = "/run/inbox/ready"
PathChanged = ["/run/inbox/a", "/run/inbox/b"]
DirectoryMode = "0700"

[service.inbox]
ExecStart = "/bin/true"
`);
  const u = spec.units['inbox.path'];
  const c = u.config as PathConfig;
  t.same(c.PathExists, ['/run/inbox/ready']);
  t.same(c.PathChanged, ['/run/inbox/a', '/run/inbox/b']);
  t.same([c.Unit, c.DirectoryMode, c.MakeDirectory, c.TriggerLimitIntervalSec, c.TriggerLimitBurst], ['inbox.service', 0o700, false, 2000, 200]);
  t.ok(c.Before.includes('inbox.service'), 'ordered before the unit it starts');
  t.notOk(spec.units['default.target'].config.Wants.includes('inbox.service'), 'the path unit starts it, not default.target');
  t.ok(spec.units['default.target'].config.Wants.includes('inbox.path'));
});

t.test('a path unit without a path is refused, with systemd\'s message', async (t) => {
  const p = await problem(`
[path.empty]
MakeDirectory = true
[service.empty]
ExecStart = "/bin/true"
`);
  t.match(p, { unit: 'empty.path', where: { line: 2 }, message: 'Path unit lacks path setting. Refusing.', hint: /PathExists/ });
});

t.test('path settings take absolute paths only; Unit= must exist', async (t) => {
  t.match(
    await problem(`
[path.a]
PathExists = "relative"
[service.a]
ExecStart = "/bin/true"
`),
    { unit: 'a.path', key: 'PathExists', where: { line: 3 }, message: '"relative" is not an absolute path' },
  );
  t.match(
    await problem(`
[path.a]
PathExists = "/x"
Unit = "b.service"
`),
    { unit: 'a.path', key: 'Unit', message: 'Unit= names b.service, which is not defined' },
  );
  t.match(
    await problem(`
[path.a]
PathExists = "/x"
DirectoryMode = 755
[service.a]
ExecStart = "/bin/true"
`),
    { key: 'DirectoryMode', message: /octal mode as a string/ },
  );
});

t.test('a mount unit: Where= from the name, TimeoutSec= from the manager', async (t) => {
  const spec = await parse(`
[manager]
DefaultTimeoutStartSec = "20s"

[mount."srv-my\\\\x2ddata"]
What = "tmpfs"
Type = "tmpfs"
Options = "size=1m,mode=0700"
`);
  const c = spec.units['srv-my\\x2ddata.mount'].config as MountConfig;
  t.same([c.Where, c.What, c.Type, c.Options, c.TimeoutSec, c.DirectoryMode], ['/srv/my-data', 'tmpfs', 'tmpfs', 'size=1m,mode=0700', 20_000, 0o755]);
  t.same([c.LazyUnmount, c.ForceUnmount, c.SloppyOptions, c.ReadWriteOnly], [false, false, false, false]);
});

t.test('a mount unit named other than its Where= is refused, with the name it must have', async (t) => {
  const p = await problem(`
[mount.data]
What = "tmpfs"
Where = "/srv/my-data"
`);
  t.match(p, {
    unit: 'data.mount',
    key: 'Where',
    where: { line: 4 },
    message: /Where= setting doesn't match unit name\. Refusing\. \(Where=\/srv\/my-data is the unit srv-my\\x2ddata\.mount\)/,
    hint: /\[mount\."srv-my\\\\x2ddata"\]/,
  });
  const root = await parse('[mount."-"]\nWhat = "/dev/sda1"\nWhere = "/"\n');
  t.equal((root.units['-.mount'].config as MountConfig).Where, '/', 'the root is -.mount');
});

t.test('a mount unit needs What=', async (t) => {
  t.match(await problem('[mount.srv]\nType = "tmpfs"\n'), { unit: 'srv.mount', key: 'What', message: 'What= setting is missing. Refusing.' });
});
