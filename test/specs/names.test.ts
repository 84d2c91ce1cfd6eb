// systemctl's unit-name forms (specs/names.ts): unit_name_mangle() with and without globs, and fnmatch over names.
import t from 'tap';
import { isGlob, mangleUnitName, matchesAny } from '../../specs/names.js';

t.test('unit_name_mangle', async (t) => {
  const cases: [string, string, string?][] = [
    ['web', 'web.service'],
    ['web.service', 'web.service'],
    ['web.socket', 'web.socket'],
    ['worker@a', 'worker@a.service'],
    ['worker@a.service', 'worker@a.service'],
    ['worker@.service', 'worker@.service', 'a template stays'],
    ['sda.device', 'sda.device', 'a systemd type sysmaster has no module for is still a type'],
    ['service', 'service.service', 'a bare type name is a name'],
    ['/', '-.mount'],
    ['/srv/my-data/', 'srv-my\\x2ddata.mount'],
    ['/dev/sda1', 'dev-sda1.device'],
    ['/sys/class/net', 'sys-class-net.device'],
    ['a/b', 'a-b.service'],
    ['a b', 'a\\x20b.service'],
    ['é', '\\xc3\\xa9.service', 'one escape per UTF-8 byte'],
    ['web-*', 'web-\\x2a.service', 'no glob: escaped'],
  ];
  for (const [name, want, why] of cases) t.equal(mangleUnitName(name), want, why ?? name);
  t.throws(() => mangleUnitName(''), /cannot be empty/);
});

t.test('unit_name_mangle with globs', async (t) => {
  const cases: [string, string][] = [
    ['web-*', 'web-*'],
    ['web-?.service', 'web-?.service'],
    ['[!w]*', '[!w]*'],
    ['a b*', 'a\\x20b*'],
    ['web', 'web.service'],
  ];
  for (const [name, want] of cases) t.equal(mangleUnitName(name, true), want, name);
  t.ok(isGlob('a[b]'));
  t.notOk(isGlob('web.service'));
});

t.test('fnmatch over unit names', async (t) => {
  t.ok(matchesAny(['web*'], 'webs.target'));
  t.ok(matchesAny(['web-?.service'], 'web-1.service'));
  t.notOk(matchesAny(['web-?.service'], 'web-10.service'));
  t.ok(matchesAny(['[!w]*'], 'once.service'));
  t.notOk(matchesAny(['[!w]*'], 'web.service'));
  t.ok(matchesAny(['x', 'srv-my\\x2d*'], 'srv-my\\x2ddata.mount'), 'a backslash is itself');
  t.notOk(matchesAny([], 'web.service'));
});
