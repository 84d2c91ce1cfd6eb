// devctl info against the real udevadm 252 (Debian's udev package, unpacked without installing it; skipped, with the
// reason, when it cannot be had): the same bytes for --query=all and --attribute-walk on this machine's devices,
// except attributes that change from one read to the next (runtime counters), found by reading them twice.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { bin, root } from '../integration/harness.js';

const cache = '/tmp/sysmaster-udevadm';

function udevadm(): { bin: string; lib: string } | string {
  const r = spawnSync('bash', [path.join(root, 'test/specs/debian-units.sh'), cache, 'udev', 'libsystemd-shared'], { encoding: 'utf8', timeout: 100_000 });
  if (r.status !== 0) return `Debian's udev package could not be fetched: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop()}`;
  const exe = ['bin/udevadm', 'usr/bin/udevadm'].map((p) => path.join(cache, 'root', p)).find((p) => fs.existsSync(p));
  const libs = path.join(cache, 'root/usr/lib');
  const arch = fs.existsSync(libs) ? fs.readdirSync(libs).find((d) => fs.existsSync(path.join(libs, d, 'systemd'))) : undefined;
  if (!exe || !arch) return `no udevadm or libsystemd-shared in ${cache}/root`;
  const lib = path.join(libs, arch, 'systemd');
  const v = spawnSync(exe, ['--version'], { encoding: 'utf8', env: { LD_LIBRARY_PATH: lib } });
  if (v.status !== 0) return `the unpacked udevadm does not run here: ${(v.stderr || v.error?.message || '').trim()}`;
  return { bin: exe, lib };
}

const found = udevadm();
// udevadm reads udevd's database when there is one: then its E:/S: lines are udevd's, not the kernel's.
const skip = typeof found === 'string' ? found : fs.existsSync('/run/udev/data') ? 'udevd runs here (/run/udev/data): its database would differ from ours' : false;

const devices = ['/sys/class/net/lo', '/sys/devices/virtual/mem/null', '/sys/class/block/loop0', '/sys/devices/system/cpu/cpu0', '/sys/class/tty/tty1', '/sys/class/net/eth0']
  .concat(fs.existsSync('/sys/bus/pci/devices') ? fs.readdirSync('/sys/bus/pci/devices').slice(0, 2).map((d) => `/sys/bus/pci/devices/${d}`) : [])
  .filter((p) => fs.existsSync(p));

t.test('devctl info prints what udevadm info prints', { skip }, async (t) => {
  const u = found as { bin: string; lib: string };
  const run = (exe: string, args: string[], env = {}) => spawnSync(exe, args, { encoding: 'utf8', env: { ...process.env, ...env } }).stdout;
  for (const dev of devices) {
    for (const mode of ['--query=all', '--attribute-walk']) {
      const before = run(u.bin, ['info', mode, dev], { LD_LIBRARY_PATH: u.lib }).split('\n');
      const ours = run(process.execPath, [bin('devctl'), 'info', mode, dev]).split('\n');
      const after = run(u.bin, ['info', mode, dev], { LD_LIBRARY_PATH: u.lib }).split('\n');
      const volatile = new Set(before.filter((l, i) => after[i] !== l).map((l) => l.split('==')[0]));
      const stable = (lines: string[]) => lines.map((l) => (volatile.has(l.split('==')[0]) ? `${l.split('==')[0]}==(changes)` : l));
      t.same(stable(ours), stable(before), `${mode} ${dev}${volatile.size ? ` (${volatile.size} changing counters masked)` : ''}`);
    }
  }
  t.ok(devices.length >= 5, `${devices.length} devices compared`);
});

t.test('a path that is not a device is refused with what to give', async (t) => {
  const r = spawnSync(process.execPath, [bin('devctl'), 'info', '/sys/class'], { encoding: 'utf8' });
  t.equal(r.status, 1);
  t.match(r.stderr, /has no uevent file, so it is not a device; give a device directory/);
});
