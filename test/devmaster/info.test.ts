// devctl info against the real udevadm 252 (Debian's udev package, unpacked without installing it; skipped, with the
// reason, when it cannot be had): the same bytes for --query=all and --attribute-walk on this machine's devices,
// except attributes that change from one read to the next (runtime counters), found by reading them twice.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { bin } from '../integration/harness.js';
import { udevadm } from './udevadm.js';

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
