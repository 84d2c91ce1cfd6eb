// The real udevadm 252 from Debian's udev package, unpacked without installing it, for comparisons; a string says why
// it cannot be had here (the tests then skip with it).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { root } from '../integration/harness.js';

const cache = '/tmp/sysmaster-udevadm';

export function udevadm(): { bin: string; lib: string } | string {
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

/** Debian's udev rules directory, fetched (cached in /tmp), or why it cannot be had. */
export function debianRules(): string | { skip: string } {
  const cache = '/tmp/sysmaster-udev';
  const r = spawnSync('bash', [path.join(root, 'test/specs/debian-units.sh'), cache, 'udev'], { encoding: 'utf8', timeout: 100_000 });
  if (r.status !== 0) return { skip: `Debian's udev package could not be fetched: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop()}` };
  return path.join(cache, 'root/lib/udev/rules.d');
}
