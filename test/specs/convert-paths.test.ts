// sysmaster convert: where units and drop-ins are found (systemd's search path below a root, drop-ins from every
// level in systemd's order: NAME.d, template, dash prefixes, aliases, the type's), and aliases (symlinks, Alias=).
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { convert, type Report } from '../../specs/systemd/convert.js';
import { Lookup, rootOf, searchPath } from '../../specs/systemd/lookup.js';
import { loadConverted } from './convert-helpers.js';
import { tree } from './helpers.js';

const config = async (toml: string, unit: string) =>
  (await loadConverted(toml)).units[unit].config as unknown as Record<string, unknown>;
const argv = (c: Record<string, unknown>, key = 'ExecStart') => (c[key] as { argv: string[] }[]).map((x) => x.argv);
const about = (reports: Report[], text: string): Report[] => reports.filter((r) => r.message.includes(text));

const lib = 'lib/systemd/system';
const usr = 'usr/lib/systemd/system';
const etc = 'etc/systemd/system';
const run = 'run/systemd/system';

/** A root with units in /lib and drop-ins for them in every level. */
function root(t: Test): string {
  return tree(t, {
    [`${lib}/a.service`]: '[Service]\nExecStart=/bin/a\nEnvironment=ORDER=unit\n',
    [`${lib}/a.service.d/10-x.conf`]: '[Service]\nEnvironment=X=lib ORDER=lib10\n', // overridden by /etc's 10-x.conf
    [`${lib}/a.service.d/30-lib.conf`]: '[Service]\nEnvironment=ORDER=lib30 LIB=1\n',
    [`${etc}/a.service.d/10-x.conf`]: '[Service]\nEnvironment=X=etc ORDER=etc10\n',
    [`${run}/a.service.d/20-run.conf`]: '[Service]\nEnvironment=ORDER=run20 RUN=1\n',
    [`${usr}/service.d/05-all.conf`]: '[Service]\nEnvironment=ORDER=type05 ALL=1\n',
    [`${etc}/service.d/10-x.conf`]: '[Service]\nEnvironment=X=type\n', // a.service.d/10-x.conf wins: more specific
    [`${lib}/foo-bar-baz.service`]: '[Service]\nExecStart=/bin/foo\n',
    [`${etc}/foo-.service.d/p.conf`]: '[Service]\nEnvironment=FOO=1 P=foo\n',
    [`${lib}/foo-bar-.service.d/p.conf`]: '[Service]\nEnvironment=P=foo-bar\n',
    [`${lib}/b.service`]: '[Service]\nExecStart=/bin/lib-b\n',
    [`${etc}/b.service`]: '[Service]\nExecStart=/bin/etc-b\n',
    [`${lib}/t@.service`]: '[Service]\nExecStart=/bin/t %i\n',
    [`${etc}/t@.service.d/i.conf`]: '[Service]\nEnvironment=TEMPLATE=1\n',
    [`${lib}/target.target.d/x.conf`]: '[Unit]\nDescription=only for targets\n',
  });
}

t.test('the search path: a systemd level brings its root`s levels, other directories stand first', async (t) => {
  const r = root(t);
  t.equal(rootOf(path.join(r, lib)), r);
  t.equal(rootOf(path.join(r, usr)), r, 'usr/lib/systemd/system, not lib/systemd/system below r/usr');
  t.equal(rootOf('/srv/units'), undefined);
  const own = tree(t, { 'x.service': '' });
  t.same(searchPath([path.join(r, lib), own]), [own, path.join(r, etc), path.join(r, run), path.join(r, usr), path.join(r, lib)]);
});

t.test('drop-ins from every level, sorted by file name, the first level`s file of a name wins', async (t) => {
  const r = root(t);
  const lookup = new Lookup(searchPath([path.join(r, lib)]));
  t.same(
    lookup.dropIns('a.service').map((f) => path.relative(r, f)),
    [`${usr}/service.d/05-all.conf`, `${etc}/a.service.d/10-x.conf`, `${run}/a.service.d/20-run.conf`, `${lib}/a.service.d/30-lib.conf`],
  );
  for (const paths of [[path.join(r, lib)], [path.join(r, lib, 'a.service')]]) {
    const c = await convert(paths);
    const a = await config(c.toml, 'a.service');
    t.same(a.Environment, { ORDER: 'lib30', ALL: '1', X: 'etc', RUN: '1', LIB: '1' }, `${paths}: applied in name order`);
  }
});

t.test('dash-prefix drop-ins and template drop-ins from other levels', async (t) => {
  const r = root(t);
  const c = await convert([path.join(r, lib, 'foo-bar-baz.service'), path.join(r, lib, 't@x.service')]);
  // /lib's foo-bar-.service.d/p.conf and /etc's foo-.service.d/p.conf have one name: the higher level wins, even
  // over a more specific directory, as in systemd (the directories are listed level by level)
  t.same((await config(c.toml, 'foo-bar-baz.service')).Environment, { ORDER: 'type05', ALL: '1', X: 'type', FOO: '1', P: 'foo' });
  const lookup = new Lookup(searchPath([path.join(r, lib)]));
  t.same(lookup.dropIns('foo-x.service').map((f) => path.relative(r, f)), [
    `${usr}/service.d/05-all.conf`,
    `${etc}/service.d/10-x.conf`,
    `${etc}/foo-.service.d/p.conf`,
  ]);
  t.same(lookup.dropIns('target.target').map((f) => path.basename(f)), ['x.conf']);
  t.same(lookup.dropIns('foo.service').map((f) => path.basename(f)), ['05-all.conf', '10-x.conf'], 'only the type`s');
  const inst = await config(c.toml, 't@x.service');
  t.same(argv(inst), [['/bin/t', 'x']]);
  t.same(inst.Environment, { ORDER: 'type05', ALL: '1', X: 'type', TEMPLATE: '1' });
});

t.test('a unit in /etc overrides the one in /lib; a file named is converted as named', async (t) => {
  const r = root(t);
  const dir = await convert([path.join(r, lib)]);
  t.same(argv(await config(dir.toml, 'b.service')), [['/bin/etc-b']]);
  t.match(about(dir.reports, 'overridden by'), [{ unit: 'b.service', file: path.join(r, lib, 'b.service'), kind: 'note' }]);
  const named = await convert([path.join(r, lib, 'b.service')]);
  t.same(argv(await config(named.toml, 'b.service')), [['/bin/lib-b']]);
  t.match(about(named.reports, 'converted as named'), [{ unit: 'b.service' }]);
  const both = await convert([path.join(r, etc), path.join(r, lib)]);
  t.same(argv(await config(both.toml, 'b.service')), [['/bin/etc-b']], 'the order PATHs are given in does not matter');
});

t.test('aliases: symlinks and Alias= resolve to the real unit, dependencies on them are rewritten', async (t) => {
  const dir = tree(t, {
    'real.service': '[Service]\nExecStart=/bin/real\n[Install]\nAlias=nick.service\n',
    'link.service.d/x.conf': '[Service]\nEnvironment=VIA=link\n',
    'user.service': '[Unit]\nWants=nick.service link.service real.service\nAfter=link.service\n[Service]\nExecStart=/bin/u\n',
    'graphical.target': '',
    'multi-user.target': '[Unit]\nDescription=Multi\n',
    'tmpl@.service': '[Service]\nExecStart=/bin/t %i\n',
    'inst.service': '[Unit]\nRequires=other@a.service\n[Service]\nExecStart=/bin/i\n',
    'masked.service': '',
  });
  fs.symlinkSync('real.service', path.join(dir, 'link.service'));
  fs.symlinkSync('multi-user.target', path.join(dir, 'default.target'));
  fs.symlinkSync('tmpl@.service', path.join(dir, 'other@.service'));
  fs.symlinkSync('/dev/null', path.join(dir, 'gone.service'));
  fs.symlinkSync(path.join(dir, 'nothing.service'), path.join(dir, 'dangling.service'));
  const c = await convert([dir, path.join(dir, 'tmpl@a.service')]);
  t.same(c.units.sort(), ['inst.service', 'multi-user.target', 'real.service', 'tmpl@a.service', 'user.service']);
  const user = await config(c.toml, 'user.service');
  t.same(user.Wants, ['real.service'], 'three names of one unit: one dependency');
  t.same(user.After, ['real.service']);
  t.same((await config(c.toml, 'real.service')).Environment, { VIA: 'link' }, 'drop-ins of the alias name apply');
  t.same((await config(c.toml, 'inst.service')).Requires, ['tmpl@a.service'], 'a template alias keeps the instance');
  t.match(about(c.reports, 'Wants=nick.service: an alias of real.service'), [{ unit: 'user.service', line: 2, kind: 'note' }]);
  t.match(about(c.reports, 'After=link.service: an alias of real.service'), [{ unit: 'user.service', line: 3 }]);
  t.match(about(c.reports, 'Alias=: nick.service'), [{ unit: 'real.service', line: 4, kind: 'differs' }]);
  t.match(about(c.reports, 'an alias of real.service: converted as real.service'), [{ unit: 'link.service', kind: 'note' }]);
  t.match(about(c.reports, 'masked'), [{ unit: 'gone.service' }, { unit: 'graphical.target' }, { unit: 'masked.service' }]);
  t.match(about(c.reports, 'a link to nothing'), [{ unit: 'dangling.service', kind: 'ignored' }]);
  const spec = await loadConverted(c.toml);
  t.equal(spec.manager.DefaultTarget, 'multi-user.target', 'default.target → multi-user.target is the default target');
  const named = await convert([path.join(dir, 'link.service')]);
  t.same(named.units, ['real.service'], 'an alias named on the command line converts the real unit');
});
