// Installing a peer from Debian's packages for the side-by-side benchmark (issue 9): nothing from a peer is
// committed; the script installs what it measures, and refuses any install that would touch this machine's init.
import { spawnSync } from 'node:child_process';
import { cleanEnv, findProgram } from './measure.js';

const APT_ENV = cleanEnv({ DEBIAN_FRONTEND: 'noninteractive' });

/** Packages whose installation would replace or reconfigure the machine's init: never pulled in by a peer. */
const INIT_PACKAGES = /^(runit-init|runit-systemd|runit-sysv|sysvinit-core|systemd-sysv|s6-linux-init|openrc|init)$/;

function apt(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('apt-get', args, { env: APT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/**
 * Makes sure `programs` exist, installing the Debian package `pkg` (without recommends) when one is missing. A dry
 * run first: an install that would remove a package or install one that takes over init is refused. Returns the
 * reason the peer cannot run here, or null.
 */
export function ensureDebianPackage(pkg: string, programs: string[]): string | null {
  const missing = () => programs.filter((p) => !findProgram(p));
  if (!missing().length) return null;
  if (!findProgram('apt-get')) return `${missing().join(', ')} not installed, and no apt-get to install Debian's ${pkg}`;
  if (process.getuid?.() !== 0) return `${missing().join(', ')} not installed; installing Debian's ${pkg} needs root`;
  const install = ['install', '-y', '--no-install-recommends', pkg];
  let dry = apt(['-s', ...install]);
  if (!dry.ok) {
    // Package lists missing or stale: fetch them once and try again.
    apt(['update']);
    dry = apt(['-s', ...install]);
    if (!dry.ok) return `apt-get cannot install ${pkg}: ${dry.out.trim().split('\n').slice(-3).join(' / ')}`;
  }
  const touched = [...dry.out.matchAll(/^(Inst|Remv) (\S+)/gm)];
  const removes = touched.filter((m) => m[1] === 'Remv').map((m) => m[2]);
  const inits = touched.filter((m) => m[1] === 'Inst' && INIT_PACKAGES.test(m[2])).map((m) => m[2]);
  if (removes.length || inits.length)
    return `installing ${pkg} would ${removes.length ? `remove ${removes.join(', ')}` : `install ${inits.join(', ')}`}: refused, this machine's init stays as it is`;
  const real = apt(install);
  if (!real.ok) return `apt-get install ${pkg} failed: ${real.out.trim().split('\n').slice(-3).join(' / ')}`;
  const still = missing();
  return still.length ? `${pkg} is installed but ${still.join(', ')} not found on PATH` : null;
}
