// systemd's specifiers: the unit's own (%n %i %f %y ...), the fixed system ones, and those read from the machine
// (%m %b %H %l %q %v %a %o %w %W %A %B %M), from a made-up machine's files and from this one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { convert } from '../../specs/systemd/convert.js';
import { archName, expandSpecifiers, type Host, thisHost } from '../../specs/systemd/specifiers.js';
import { loadConverted } from './convert-helpers.js';
import { tree } from './helpers.js';

const machine = {
  'etc/machine-id': 'a1b2c3d4e5f60718293a4b5c6d7e8f90\n',
  'proc/sys/kernel/random/boot_id': '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n',
  'proc/sys/kernel/hostname': 'box.example.org\n',
  'proc/sys/kernel/osrelease': '6.1.0-99-amd64\n',
  'usr/lib/os-release': 'ID=debian\nVERSION_ID="12"\nVARIANT_ID=server\nBUILD_ID=\'b 7\'\nIMAGE_ID=img\nIMAGE_VERSION=1.2\n',
  'etc/machine-info': 'PRETTY_HOSTNAME="Box \\"one\\""\n',
};
const unit = { name: 'foo-bar@a\\x2db-c.service', fragment: '/lib/systemd/system/foo-bar@.service' };

t.test('every specifier of systemd.unit(5)`s table', async (t) => {
  const host: Host = { root: tree(t, machine), machine: 'x86_64', endianness: 'LE' };
  const x = (s: string): string => expandSpecifiers(s, unit, host);
  const table: Record<string, string> = {
    a: 'x86-64',
    A: '1.2',
    b: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
    B: 'b 7',
    C: '/var/cache',
    d: '/run/credentials/foo-bar@a\\x2db-c.service',
    E: '/etc',
    f: '/a-b/c',
    g: 'root',
    G: '0',
    h: '/root',
    H: 'box.example.org',
    i: 'a\\x2db-c',
    I: 'a-b/c',
    j: 'bar',
    J: 'bar',
    l: 'box',
    L: '/var/log',
    m: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    M: 'img',
    n: 'foo-bar@a\\x2db-c.service',
    N: 'foo-bar@a\\x2db-c',
    o: 'debian',
    p: 'foo-bar',
    P: 'foo/bar',
    q: 'Box "one"',
    s: '/bin/sh',
    S: '/var/lib',
    t: '/run',
    T: '/tmp',
    u: 'root',
    U: '0',
    v: '6.1.0-99-amd64',
    V: '/var/tmp',
    w: '12',
    W: 'server',
    y: '/lib/systemd/system/foo-bar@.service',
    Y: '/lib/systemd/system',
    '%': '%',
  };
  for (const [c, want] of Object.entries(table)) t.equal(x(`<%${c}>`), `<${want}>`, `%${c}`);
  t.throws(() => x('%z'), /unknown specifier %z/);
  t.throws(() => x('50%'), /lone "%"/);
});

t.test('where the machine`s facts come from when some are missing', async (t) => {
  const bare: Host = { root: tree(t, { 'proc/sys/kernel/hostname': 'solo\n', 'etc/os-release': 'ID=x\n' }), machine: 'aarch64', endianness: 'LE' };
  const x = (s: string): string => expandSpecifiers(s, unit, bare);
  t.equal(x('%q'), 'solo', 'no PRETTY_HOSTNAME: the short host name, as systemd falls back to');
  t.equal(x('%o/%w/%A'), 'x//', '/etc/os-release first; a missing field is empty');
  t.equal(x('%a'), 'arm64');
  t.throws(() => x('%m'), /%m needs .*etc\/machine-id, which cannot be read \(ENOENT\)/);
  const none: Host = { root: tree(t, {}), machine: 'x86_64', endianness: 'LE' };
  t.throws(() => expandSpecifiers('%o', unit, none), /%o needs .*usr\/lib\/os-release/, 'no os-release at all is an error');
});

t.test('architecture names', async (t) => {
  const names: [string, 'BE' | 'LE', string][] = [
    ['i686', 'LE', 'x86'],
    ['armv7l', 'LE', 'arm'],
    ['armv7b', 'BE', 'arm-be'],
    ['ppc64le', 'LE', 'ppc64-le'],
    ['mips64', 'LE', 'mips64-le'],
    ['mips64', 'BE', 'mips64'],
    ['s390x', 'BE', 's390x'],
    ['riscv64', 'LE', 'riscv64'],
  ];
  for (const [m, e, want] of names) t.equal(archName(m, e), want, m);
  t.throws(() => archName('vax', 'LE'), /"vax" \(uname -m\) has no systemd name/);
});

t.test('this machine', async (t) => {
  const x = (s: string): string => expandSpecifiers(s, unit);
  t.equal(x('%H'), os.hostname(), '%H is uname -n');
  t.equal(x('%v'), os.release(), '%v is uname -r');
  t.equal(x('%l'), os.hostname().split('.')[0]);
  if (os.machine() === 'x86_64') t.equal(x('%a'), 'x86-64');
  t.match(x('%b'), /^[0-9a-f]{32}$/, '%b: 128 bits in hex, no dashes');
  t.not(x('%b'), '', 'the boot ID');
  const id = fs.existsSync('/etc/machine-id') && fs.readFileSync('/etc/machine-id', 'utf8').trim();
  if (id) t.equal(x('%m'), id);
  else t.throws(() => x('%m'), /machine-id/, 'no /etc/machine-id here: reported, not guessed');
  t.equal(thisHost.root, '/');
});

t.test('in a conversion: machine values are noted, %b and %d differ, %y follows a linked unit file', async (t) => {
  const host: Host = { root: tree(t, machine), machine: 'x86_64', endianness: 'LE' };
  const elsewhere = tree(t, {
    'real/w.service':
      '[Unit]\nDescription=%H %y %Y\n[Service]\nExecStart=/bin/w %b\nEnvironment=CRED=%d OS=%o\nWorkingDirectory=%S\n',
  });
  const dir = tree(t, {});
  fs.symlinkSync(path.join(elsewhere, 'real/w.service'), path.join(dir, 'w.service'));
  const c = await convert([dir], undefined, host);
  const w = (await loadConverted(c.toml)).units['w.service'].config as unknown as Record<string, unknown>;
  t.equal(w.Description, `box.example.org ${path.join(elsewhere, 'real/w.service')} ${path.join(elsewhere, 'real')}`);
  t.same((w.ExecStart as { argv: string[] }[])[0].argv, ['/bin/w', '0f1e2d3c4b5a69788796a5b4c3d2e1f0']);
  t.same(w.Environment, { CRED: '/run/credentials/w.service', OS: 'debian' });
  t.equal(c.reports.length, 4, c.reports.map((r) => r.message).join('\n'));
  t.match(c.reports, [
    { line: 2, kind: 'note', message: /^Description=: %H expanded with this machine's value/ },
    { line: 4, kind: 'differs', message: /^ExecStart=: %b is this boot's ID/ },
    { line: 5, kind: 'note', message: /^Environment=: %o expanded/ },
    { line: 5, kind: 'differs', message: /^Environment=: %d is \/run\/credentials\/w.service, but sysmaster passes no credentials/ },
  ]);
});
