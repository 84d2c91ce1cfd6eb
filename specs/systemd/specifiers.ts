// systemd's % specifiers (systemd.unit(5) "Specifiers", the table of systemd 252), for the system manager running
// as root: the directories are the system ones and %u/%h are root's, as systemd resolves them for PID 1. The
// specifiers about the machine (%m %b %H %v %o ...) are read from it the way systemd reads them: /etc/machine-id,
// /proc/sys/kernel/random/boot_id, /proc/sys/kernel/{hostname,osrelease}, os-release, /etc/machine-info, uname -m.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEnvFile } from '../../reconciler/envfile.js';

export class SpecifierError extends Error {}

/** systemd's unit_name_unescape(): `-` is `/`, `\xNN` a byte. */
export function unescapeName(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})|-/g, (m, hex: string | undefined) =>
    hex ? String.fromCharCode(parseInt(hex, 16)) : '/',
  );
}

/** The parts of a unit name the specifiers read: `foo@bar.service` → foo, bar, service. */
export function nameParts(name: string): { prefix: string; instance: string; type: string } {
  const dot = name.lastIndexOf('.');
  const stem = name.slice(0, dot);
  const at = stem.indexOf('@');
  return {
    prefix: at < 0 ? stem : stem.slice(0, at),
    instance: at < 0 ? '' : stem.slice(at + 1),
    type: name.slice(dot + 1),
  };
}

/** The machine whose facts the specifiers read: files below `root`, and its `uname -m`. */
export interface Host {
  root: string;
  machine: string;
  endianness: 'BE' | 'LE';
}

export const thisHost: Host = { root: '/', machine: os.machine(), endianness: os.endianness() };

/** uname -m → systemd's architecture name (architecture_to_string(), as ConditionArchitecture= takes it). */
export function archName(machine: string, endianness: 'BE' | 'LE'): string {
  const le = endianness === 'LE';
  const exact: Record<string, string> = {
    x86_64: 'x86-64',
    aarch64: 'arm64',
    aarch64_be: 'arm64-be',
    ppc64le: 'ppc64-le',
    ppc64: 'ppc64',
    ppcle: 'ppc-le',
    ppc: 'ppc',
    s390x: 's390x',
    s390: 's390',
    sparc64: 'sparc64',
    sparc: 'sparc',
    riscv64: 'riscv64',
    riscv32: 'riscv32',
    loongarch64: 'loongarch64',
    alpha: 'alpha',
    ia64: 'ia64',
    m68k: 'm68k',
    parisc64: 'parisc64',
    parisc: 'parisc',
    sh64: 'sh64',
    arc: 'arc',
    arceb: 'arc-be',
    mips64: le ? 'mips64-le' : 'mips64',
    mips: le ? 'mips-le' : 'mips',
    tilegx: 'tilegx',
    crisv32: 'cris',
    nios2: 'nios2',
  };
  if (machine in exact) return exact[machine];
  if (/^i[3-6]86$/.test(machine)) return 'x86';
  if (/^arm.*b$/.test(machine)) return 'arm-be';
  if (/^arm/.test(machine)) return 'arm';
  if (/^sh/.test(machine)) return 'sh';
  throw new SpecifierError(`%a: the architecture "${machine}" (uname -m) has no systemd name known here`);
}

const cache = new WeakMap<Host, Map<string, string>>();

/** A file of the host, trimmed; throws SpecifierError saying which specifier needed it. */
function hostFile(host: Host, file: string, spec: string): string {
  let seen = cache.get(host);
  if (!seen) cache.set(host, (seen = new Map()));
  const at = path.join(host.root, file);
  if (!seen.has(at)) {
    try {
      seen.set(at, fs.readFileSync(at, 'utf8').trim());
    } catch (e) {
      throw new SpecifierError(`%${spec} needs ${at}, which cannot be read (${(e as NodeJS.ErrnoException).code})`);
    }
  }
  return seen.get(at)!;
}

/** An os-release field: /etc/os-release, else /usr/lib/os-release; a missing field is empty, as in systemd. */
function osRelease(host: Host, field: string, spec: string): string {
  let text: string;
  try {
    text = hostFile(host, 'etc/os-release', spec);
  } catch {
    text = hostFile(host, 'usr/lib/os-release', spec);
  }
  return parseEnvFile(text)[field] ?? '';
}

function hostname(host: Host, spec: string): string {
  return hostFile(host, 'proc/sys/kernel/hostname', spec);
}

/** Specifiers whose value is read from the machine: converting on another machine gives another value. */
export const fromMachine = new Set('aAbBHlmMoqvwW');

const hostSpecifiers: Record<string, (h: Host) => string> = {
  a: (h) => archName(h.machine, h.endianness),
  A: (h) => osRelease(h, 'IMAGE_VERSION', 'A'),
  b: (h) => hostFile(h, 'proc/sys/kernel/random/boot_id', 'b').replace(/-/g, ''),
  B: (h) => osRelease(h, 'BUILD_ID', 'B'),
  H: (h) => hostname(h, 'H'),
  l: (h) => hostname(h, 'l').split('.')[0],
  m: (h) => hostFile(h, 'etc/machine-id', 'm'),
  M: (h) => osRelease(h, 'IMAGE_ID', 'M'),
  o: (h) => osRelease(h, 'ID', 'o'),
  q: (h) => {
    let info = '';
    try {
      info = hostFile(h, 'etc/machine-info', 'q');
    } catch {
      /* no machine-info: the short host name, as systemd falls back to */
    }
    return parseEnvFile(info).PRETTY_HOSTNAME || hostname(h, 'q').split('.')[0];
  },
  v: (h) => hostFile(h, 'proc/sys/kernel/osrelease', 'v'),
  w: (h) => osRelease(h, 'VERSION_ID', 'w'),
  W: (h) => osRelease(h, 'VARIANT_ID', 'W'),
};

const fixed: Record<string, string> = {
  t: '/run',
  S: '/var/lib',
  C: '/var/cache',
  L: '/var/log',
  E: '/etc',
  T: '/tmp',
  V: '/var/tmp',
  h: '/root',
  u: 'root',
  U: '0',
  g: 'root',
  G: '0',
  s: '/bin/sh',
};

/** The unit a value belongs to: its name and the file systemd would call its fragment (%y). */
export interface SpecifierUnit {
  name: string;
  fragment: string;
}

/**
 * Expands every specifier in `value` for `unit`, calling `used` with each letter it expanded. Throws
 * SpecifierError on a specifier systemd does not have, or a machine fact that cannot be read.
 */
export function expandSpecifiers(
  value: string,
  unit: SpecifierUnit,
  host: Host = thisHost,
  used: (c: string) => void = () => {},
): string {
  const { name, fragment } = unit;
  const { prefix, instance } = nameParts(name);
  const dash = prefix.lastIndexOf('-');
  const last = dash < 0 ? prefix : prefix.slice(dash + 1);
  const by: Record<string, () => string> = {
    n: () => name,
    N: () => name.slice(0, name.lastIndexOf('.')),
    p: () => prefix,
    P: () => unescapeName(prefix),
    i: () => instance,
    I: () => unescapeName(instance),
    j: () => last,
    J: () => unescapeName(last),
    f: () => '/' + unescapeName(instance || prefix).replace(/^\/+/, ''),
    // the real path: for a unit file linked into the search path, the file outside it
    y: () => realPath(fragment),
    Y: () => path.dirname(realPath(fragment)),
    d: () => `/run/credentials/${name}`,
    '%': () => '%',
  };
  return value.replace(/%(.?)/g, (m, c: string) => {
    // A template runs as instances sysmaster names itself (an Accept=yes socket's connections) and copies as written.
    if (name.includes('@.') && 'nNiIfd'.includes(c) && c)
      throw new SpecifierError(`%${c} depends on the instance, and a template's instances are not expanded`);
    const get = by[c] ?? (c in fixed ? () => fixed[c] : c in hostSpecifiers ? () => hostSpecifiers[c](host) : null);
    if (!get)
      throw new SpecifierError(
        c
          ? `unknown specifier %${c}: systemd.unit(5) has no such specifier (write %% for a literal "%")`
          : 'a lone "%" at the end (write %% for a literal "%")',
      );
    const v = get();
    used(c);
    return v;
  });
}

function realPath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}
