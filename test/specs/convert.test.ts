// sysmaster convert: unit-file parsing, drop-ins, specifiers, templates, the mapping to spec keys, and the report
// of everything not converted as written. Each converted spec is loaded by the real loader.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { convert, type Report } from '../../specs/systemd/convert.js';
import { isUnitName } from '../../specs/systemd/lookup.js';
import { parseUnitText } from '../../specs/systemd/unitfile.js';
import { accountFor, loadConverted } from './convert-helpers.js';
import { tree } from './helpers.js';

const fixtures = path.resolve('test/fixtures/systemd');
const fx = (name: string): string => path.join(fixtures, name);
const about = (reports: Report[], text: string): Report[] => reports.filter((r) => r.message.includes(text));

t.test('parser: sections, comments, continuations, file:line', async (t) => {
  const u = parseUnitText('# c\n[Unit]\n; c\nA=1\nB=x \\\n# inside\n  y \\\n  z\nbroken\n[Service]\nA=\n', 'f');
  t.same(
    u.assignments.map((a) => [a.section, a.key, a.value, a.line]),
    [
      ['Unit', 'A', '1', 4],
      ['Unit', 'B', 'x  y  z', 5],
      ['Service', 'A', '', 11],
    ],
  );
  t.same(u.issues.map((i) => i.line), [9], 'a line that is no assignment is reported');
});

t.test('a unit with drop-ins: mapping, lists, resets, specifiers, report', async (t) => {
  const c = await convert([fx('web.service'), fx('db.service')]);
  const spec = await loadConverted(c.toml);
  const web = spec.units['web.service'].config as unknown as Record<string, unknown>;
  t.equal(web.Description, 'Web for web.service (web, web)', '%n %N %p');
  t.same(web.After, ['db.service', 'network.target']);
  t.same(web.Wants, ['db.service']);
  t.equal(web.Type, 'notify');
  t.same(web.Environment, { A: '1 2', B: '5', C: '%x' }, 'quoted, several per line, drop-ins in lexical order, %%');
  t.same(web.EnvironmentFile, [{ path: '/etc/default/web', optional: true }]);
  const pre = web.ExecStartPre as { argv: string[] }[];
  t.same(pre.map((x) => x.argv), [['/bin/true']], 'the drop-in`s empty ExecStartPre= reset the list');
  t.same((web.ExecStart as { argv: string[] }[])[0].argv, ['/usr/bin/web', '--listen', '0.0.0.0:80', '--name', 'my web']);
  t.equal(web.Restart, 'always', 'drop-ins in lexical order, the later wins');
  t.equal(web.RestartSec, 2000);
  t.equal(web.TimeoutStartSec, 90000, 'TimeoutSec= sets both');
  t.equal(web.TimeoutStopSec, 90000);
  t.equal(web.User, 'web');
  t.equal(web.WorkingDirectory, '/srv/web');
  t.equal(web.RemainAfterExit, false);
  t.same(web.WantedBy, ['multi-user.target']);
  t.ok(spec.units['multi-user.target'], 'a named target outside the set is added');
  const db = spec.units['db.service'].config as unknown as Record<string, unknown>;
  t.same((db.ExecStart as { argv: string[] }[]).map((x) => x.argv), [['/bin/echo', 'one'], ['/bin/echo', 'two']]);
  const web8 = c.reports.filter((r) => r.unit === 'web.service');
  const line = (text: string): string | undefined => {
    const r = about(web8, text)[0];
    return r && `${path.basename(r.file)}:${r.line}:${r.kind}`;
  };
  t.equal(line('Documentation='), 'web.service:7:ignored');
  t.equal(line('PrivateTmp='), 'web.service:25:unsupported');
  t.equal(line('Alias='), 'web.service:29:differs');
  t.match(about(web8, '"+"')[0], { line: 15, kind: 'unsupported' }, 'the + prefix is reported');
  t.match(c.reports.find((r) => r.unit === 'multi-user.target'), { kind: 'note', message: /added as an empty target/ });
});

t.test('templates: skipped in a directory, instantiated by name with %i %I and the template drop-ins', async (t) => {
  const dir = await convert([fixtures]);
  t.notOk(dir.units.some((u) => u.startsWith('worker@')));
  t.match(about(dir.reports, 'a template')[0], { unit: 'worker@.service', kind: 'note' });
  const c = await convert([fx('worker@a-b.service')]);
  const w = (await loadConverted(c.toml)).units['worker@a-b.service'].config as unknown as Record<string, unknown>;
  t.equal(w.Description, 'Worker a-b (a/b)');
  t.same(
    (w.ExecStart as { argv: string[] }[])[0].argv,
    ['/usr/bin/worker', '--queue', 'a-b', '--dir', 'a/b', '--state', '/var/lib/worker'],
    '%i %I %S %p',
  );
  t.equal(w.KillSignal, 'SIGINT', 'worker@.service.d applies to the instance');
});

t.test('unsupported values are reported, the rest still converts', async (t) => {
  const c = await convert([fx('bad.service')]);
  const bad = (await loadConverted(c.toml)).units['bad.service'].config as unknown as Record<string, unknown>;
  t.same((bad.ExecStart as { argv: string[] }[]).map((x) => x.argv), [['/usr/bin/bad']]);
  t.equal(bad.Type, 'simple');
  t.match(about(c.reports, '%z')[0], { line: 2, kind: 'unsupported' });
  t.match(about(c.reports, 'Type=dbus')[0], { line: 4, kind: 'unsupported' });
});

t.test('the same unit in two directories of no systemd level: the first given wins, with a note', async (t) => {
  const etc = tree(t, { 'a.service': '[Service]\nExecStart=/bin/etc\n' });
  const lib = tree(t, { 'a.service': '[Service]\nExecStart=/bin/lib\n' });
  const c = await convert([etc, lib]);
  const a = (await loadConverted(c.toml)).units['a.service'].config as unknown as Record<string, unknown>;
  t.same((a.ExecStart as { argv: string[] }[])[0].argv, ['/bin/etc']);
  t.match(c.reports, [{ unit: 'a.service', kind: 'note', file: path.join(lib, 'a.service'), message: /overridden by/ }]);
});

t.test('converted with a difference: Type=idle, journal+console; exit status names', async (t) => {
  const dir = tree(t, {
    'm.service':
      '[Service]\nType=idle\nExecStart=@/bin/m m\nExecStart=/bin/m\nStandardOutput=journal+console\n' +
      'SuccessExitStatus=DATAERR 3 SIGUSR1\nPIDFile=m.pid\nWorkingDirectory=-/srv/m\nRemainAfterExit=maybe\n',
  });
  const c = await convert([dir]);
  const m = (await loadConverted(c.toml)).units['m.service'].config as unknown as Record<string, unknown>;
  t.equal(m.Type, 'simple');
  t.same(m.StandardOutput, { kind: 'journal' });
  t.same(m.SuccessExitStatus, { codes: [65, 3], signals: ['SIGUSR1'] });
  t.equal(m.PIDFile, '/run/m.pid');
  t.equal(m.WorkingDirectory, '/srv/m');
  t.same(
    c.reports.map((r) => [r.line, r.kind]),
    [
      [2, 'differs'],
      [3, 'unsupported'],
      [5, 'differs'],
      [7, 'differs'],
      [8, 'differs'],
      [9, 'unsupported'],
    ],
  );
});

t.test('what the loader refuses is taken out and reported; a dependency outside the set is reported', async (t) => {
  const dir = tree(t, {
    'a.service': '[Unit]\nRequires=gone.service\n[Service]\nExecStart=/bin/a\nStandardOutput=tty\n',
    'b.service': '[Service]\nExecStart=!!/bin/b\n',
    'c.service': '[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/c\n',
    'd.service': '[Unit]\nDefaultDependencies=yes\nConditionPathExists=|!/x\n[Service]\nExecStart=/bin/d\n',
  });
  const c = await convert([dir]);
  t.same(Object.keys((await loadConverted(c.toml)).units).sort(), ['a.service', 'c.service', 'd.service', 'default.target']);
  t.same(c.reports.filter((r) => r.unit === 'c.service'), [], 'DefaultDependencies=no is what sysmaster does');
  t.same(c.reports.filter((r) => r.unit === 'd.service').map((r) => [r.line, r.kind]), [[2, 'differs'], [3, 'unsupported']]);
  t.match(about(c.reports, 'gone.service')[0], { unit: 'a.service', line: 2, kind: 'ignored' });
  t.match(about(c.reports, 'refused by the spec')[0], { unit: 'a.service', line: 5 });
  t.match(about(c.reports, 'unit left out')[0], { unit: 'b.service' });
});

t.test('the CLI: -o, report on stderr, --strict', async (t) => {
  const out = path.join(tree(t, {}), 'spec.toml');
  const cli = path.resolve('bin/sysmaster.js');
  const ok = spawnSync(process.execPath, [cli, 'convert', fx('db.service'), '-o', out], { encoding: 'utf8' });
  t.equal(ok.status, 0, ok.stderr);
  t.equal(spawnSync(process.execPath, [cli, 'validate', out], { encoding: 'utf8' }).status, 0, 'validate accepts it');
  t.equal(spawnSync(process.execPath, [cli, 'convert', fx('db.service'), '--strict']).status, 0, 'nothing lost');
  const strict = spawnSync(process.execPath, [cli, 'convert', fx('web.service'), '--strict'], { encoding: 'utf8' });
  t.equal(strict.status, 1);
  t.match(strict.stderr, /web\.service:7: web\.service: ignored: Documentation=/);
  t.match(strict.stdout, /\[service\.web\]/);
});

const system = '/lib/systemd/system';
const systemUnits = fs.existsSync(system) ? fs.readdirSync(system).filter(isUnitName) : [];
const noUnits = !systemUnits.length && `no unit files under ${system} on this machine`;
t.test('the real units of this machine', { skip: noUnits }, async (t) => {
  await accountFor(t, system, await convert([system]));
});
