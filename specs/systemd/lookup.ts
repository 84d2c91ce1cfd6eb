// Where systemd finds a unit: the unit search path (levels, highest priority first), the file that defines each
// name (the first level that has it; an instance falls back to its template), names that are symlinks to another
// unit (aliases) or to /dev/null (masked), and drop-ins, gathered from every level in systemd's order
// (src/shared/dropin.c): NAME.d, the template's, the dash prefixes' (foo-.service.d for foo-bar.service), the
// aliases', then the type's (service.d); a file name met again later is overridden by the first; sorted by name.
import fs from 'node:fs';
import path from 'node:path';

/** systemd 252's unit search path of the system manager below `/`, highest priority first (lookup_paths_init()). */
export const SYSTEM_LEVELS = [
  'etc/systemd/system.control',
  'run/systemd/system.control',
  'run/systemd/transient',
  'run/systemd/generator.early',
  'etc/systemd/system',
  'etc/systemd/system.attached',
  'run/systemd/system',
  'run/systemd/system.attached',
  'run/systemd/generator',
  'usr/local/lib/systemd/system',
  'usr/lib/systemd/system',
  'lib/systemd/system',
  'run/systemd/generator.late',
];

export const UNIT_TYPES = 'service socket target device mount automount swap timer path slice scope'.split(' ');
const UNIT_NAME = new RegExp(`^[A-Za-z0-9:_.\\\\-]+(@[A-Za-z0-9:_.\\\\-]*)?\\.(${UNIT_TYPES.join('|')})$`);

export const isUnitName = (name: string): boolean => UNIT_NAME.test(name);
export const typeOf = (name: string): string => name.slice(name.lastIndexOf('.') + 1);
/** `foo@bar.service` → `foo@.service`; undefined for a name that is no instance. */
export function templateOf(name: string): string | undefined {
  const at = name.indexOf('@');
  const dot = name.lastIndexOf('.');
  return at > 0 && dot > at + 1 ? name.slice(0, at + 1) + name.slice(dot) : undefined;
}

/** `foo@.service` with the instance of `like` (`foo@bar.service`, `x@bar.service`): `foo@bar.service`. */
export const instantiate = (template: string, like: string): string =>
  template.replace('@.', like.slice(like.indexOf('@'), like.lastIndexOf('.') + 1));

/** The root below which `dir` is one of systemd's levels (`x/lib/systemd/system` → `x`), or undefined. */
export function rootOf(dir: string): string | undefined {
  const abs = path.resolve(dir);
  for (const level of [...SYSTEM_LEVELS].sort((a, b) => b.length - a.length))
    if (abs.endsWith(`/${level}`)) return abs.slice(0, -level.length - 1) || '/';
  return undefined;
}

/**
 * The search path for the directories PATHs name: a directory that is one of systemd's levels brings every level
 * of its root, in systemd's order; any other directory is a level of its own, above those, the first given
 * highest. A level that does not exist is left out, and one reached again through a symlink (/lib → usr/lib).
 */
export function searchPath(dirs: string[]): string[] {
  const roots: string[] = [];
  const own: string[] = [];
  for (const d of dirs) {
    const root = rootOf(d);
    if (root === undefined) own.push(path.resolve(d));
    else if (!roots.includes(root)) roots.push(root);
  }
  const real = (d: string): string | undefined => {
    try {
      return fs.statSync(d).isDirectory() ? fs.realpathSync(d) : undefined;
    } catch {
      return undefined;
    }
  };
  // A level is named as it was given, so that reports say /lib/... when /lib/... was asked for.
  const spelling = new Map(dirs.map((d) => [real(d), path.resolve(d)]));
  const levels = new Map<string, string>();
  for (const d of [...own, ...roots.flatMap((r) => SYSTEM_LEVELS.map((l) => path.join(r, l)))]) {
    const r = real(d);
    if (r && !levels.has(r)) levels.set(r, spelling.get(r) ?? d);
  }
  return [...levels.values()];
}

/** What a name stands for in the search path. */
export interface Found {
  /** The unit's real name: an alias resolved, an instance's template alias applied. */
  name: string;
  /** The file that defines it (for an instance without a file of its own: the template's). */
  file: string;
  masked: boolean;
  /** The aliases followed to get from the name asked for to `name`. */
  via: string[];
}

export interface Entry {
  file: string;
  /** The name a symlink's target has, when it names another unit (an alias). */
  alias?: string;
  masked: boolean;
}

/** What the file `file` under the name `name` is: a unit file, masked, or an alias; undefined for a dangling link. */
export function describe(file: string, name: string): Entry | undefined {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return undefined;
  }
  const stat = fs.statSync(real);
  if (real === '/dev/null' || (stat.isFile() && stat.size === 0)) return { file, masked: true };
  if (!stat.isFile()) return undefined;
  const target = path.basename(real);
  // A link to a file of the same name (a linked unit), or an instance's link to its template, is no alias.
  const alias = target !== name && target !== templateOf(name) && isUnitName(target) ? target : undefined;
  return { file, alias, masked: false };
}

export class Lookup {
  /** Each name's entry in the highest level that has it. */
  private readonly entries = new Map<string, Entry>();

  constructor(readonly levels: string[]) {
    for (const level of levels)
      for (const e of fs.readdirSync(level).sort()) {
        if (!isUnitName(e) || this.entries.has(e)) continue;
        const file = path.join(level, e);
        const entry = describe(file, e);
        if (entry) this.entries.set(e, entry);
      }
  }

  /** The file or link of that name in the highest level that has one. */
  entry(name: string): string | undefined {
    return this.entries.get(name)?.file;
  }

  /** Where `name` is defined, following aliases; undefined when nowhere in the search path. */
  find(name: string, via: string[] = []): Found | undefined {
    const e = this.entries.get(name);
    if (e?.alias && !via.includes(e.alias) && typeOf(e.alias) === typeOf(name)) return this.find(e.alias, [...via, name]);
    if (e) return { name, file: e.file, masked: e.masked, via };
    const template = templateOf(name);
    const t = template && this.find(template, via);
    if (!t) return undefined;
    return { ...t, name: instantiate(t.name, name) };
  }

  /** alias name → real name, for every name in the search path that is a symlink to another unit. */
  aliases(): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of this.entries.keys()) {
      const f = this.find(name);
      if (f && f.name !== name && !templateOf(name)) out.set(name, f.name);
    }
    return out;
  }

  /** The drop-in files of unit `name` (a real name) known also as `aliases`, in the order systemd applies them. */
  dropIns(name: string, aliases: string[] = []): string[] {
    const dirs: string[] = [];
    for (const n of [name, ...aliases]) for (const level of this.levels) dirsOf(level, n, dirs);
    for (const level of this.levels) dirsOf(level, typeOf(name), dirs);
    const byName = new Map<string, string>();
    for (const d of dirs) {
      let files: string[];
      try {
        files = fs.readdirSync(d);
      } catch {
        continue;
      }
      for (const f of files) if (f.endsWith('.conf') && !byName.has(f)) byName.set(f, path.join(d, f));
    }
    return [...byName.keys()].sort().map((k) => byName.get(k)!);
  }
}

/** systemd's unit_file_find_dirs(): NAME.d, the template's, then each dash prefix's; only NAME.d for a bare type. */
function dirsOf(level: string, name: string, into: string[]): void {
  into.push(path.join(level, `${name}.d`));
  const template = templateOf(name);
  if (template) dirsOf(level, template, into);
  if (UNIT_TYPES.includes(name)) return;
  // foo-bar-baz.service → foo-bar-.service → foo-.service: the more specific ones come first and so win
  const dot = name.lastIndexOf('.');
  const at = name.indexOf('@');
  let prefix = name.slice(0, at < 0 ? dot : at);
  if (prefix.endsWith('-')) prefix = prefix.slice(0, -1);
  const dash = prefix.lastIndexOf('-');
  if (dash <= 0) return;
  dirsOf(level, `${prefix.slice(0, dash + 1)}${name.slice(dot)}`, into);
}
