// systemd units → a sysmaster spec (TOML). Keys keep systemd's names (specs/keys.ts), so most directives map one to
// one with their value turned into typed TOML. Whatever cannot be honoured is reported with file:line and why,
// never dropped silently; the spec is then loaded by the real loader, and any key it still refuses is taken out and
// reported too, so the output always validates.
import fs from 'node:fs';
import path from 'node:path';
import { splitCommand } from '../command.js';
import { SpecError } from '../errors.js';
import { commonKeys, type KeyDef, unitKeys } from '../keys.js';
import { parseSpec } from '../loader.js';
import { suggest } from '../suggest.js';
import { directives } from './directives.js';
import { parseDelegate } from '../../reconciler/delegate.js';
import { describe, type Found, instantiate, isUnitName, Lookup, searchPath, templateOf, typeOf } from './lookup.js';
import { expandSpecifiers, fromMachine, type Host, SpecifierError, thisHost } from './specifiers.js';
import { type Assignment, readUnit } from './unitfile.js';

/** unsupported / ignored / differs make `--strict` fail; a note does not (nothing of the units was lost). */
export type ReportKind = 'unsupported' | 'ignored' | 'differs' | 'note';

export interface Report {
  unit: string;
  file: string;
  line: number;
  kind: ReportKind;
  message: string;
}

export interface Conversion {
  toml: string;
  /** The converted units, by full name. */
  units: string[];
  reports: Report[];
}

export const formatReport = (r: Report): string => `${r.file}:${r.line}: ${r.unit}: ${r.kind}: ${r.message}`;

const installKeys = ['WantedBy', 'RequiredBy'];
/** [Unit] keys of systemd that are [Service] keys here. */
const movedToService = ['StartLimitIntervalSec', 'StartLimitBurst'];
const common = new Set(commonKeys.map((d) => d.key));
/** A type's own section: [Service] for .service; a target has none. */
const ownSection = (type: string): string | undefined =>
  type === 'target' ? undefined : type[0].toUpperCase() + type.slice(1);

/** The spec keys each section of a unit of `type` may set. */
function placed(type: string): Record<string, Set<string>> {
  const own = ownSection(type);
  return {
    Install: new Set(installKeys),
    Unit: new Set([...[...common].filter((k) => !installKeys.includes(k)), ...movedToService]),
    ...(own ? { [own]: new Set(unitKeys[type].map((d) => d.key).filter((k) => !common.has(k))) } : {}),
  };
}
/** Directives that are dropped on purpose, and why. */
const ignoredKeys: Record<string, string> = {
  Documentation: 'documentation only; sysmaster shows none',
  DefaultDependencies:
    "sysmaster adds no implicit dependencies (systemd's on sysinit.target, basic.target, shutdown.target): write them out",
  Also: 'there is no enable step: convert the other units too',
  DefaultInstance: 'there is no enable step: name the instance (foo@bar.service) to convert it',
};
/** systemd's old names. */
const renamed: Record<string, string> = { StartLimitInterval: 'StartLimitIntervalSec' };

/** A value with where it was written; lists hold one per element. */
interface Item {
  v: unknown;
  at: Assignment;
}

interface Unit {
  name: string;
  type: string;
  file: string;
  keys: Map<string, Item[]>; // scalar keys hold one item
  /** [Install] Alias= names. */
  aliases: Item[];
}

/**
 * Finds the units PATHs name, each by its real name with the file that defines it: every unit file in a directory,
 * each file named, an instance (foo@bar.service) of a template found in the search path.
 */
function collect(paths: string[], lookup: Lookup, reports: Report[]): { name: string; file: string }[] {
  const found = new Map<string, string>();
  const note = (name: string, file: string, kind: ReportKind, message: string): void => {
    reports.push({ unit: name, file, line: 1, kind, message });
  };
  const add = (asked: string, where: string, explicit: boolean): void => {
    if (!isUnitName(asked))
      throw new Error(`${where}: not a unit file: its name must be NAME.TYPE (TYPE one of service, socket, ...)`);
    const type = typeOf(asked);
    if (!unitKeys[type]) return note(asked, where, 'unsupported', `.${type} units are not supported yet`);
    if (asked.includes('@') && !templateOf(asked))
      return note(asked, where, 'note', 'a template: skipped; name an instance (foo@bar.service) to convert it');
    let f: Found | undefined;
    const e = explicit ? describe(where, asked) : undefined;
    // A file named is converted as it is, even where a higher level overrides it; an alias is followed.
    if (e && !e.alias) f = { name: asked, file: where, masked: e.masked, via: [] };
    else f = lookup.find(e?.alias ?? asked, e?.alias ? [asked] : []);
    if (!f && !explicit) return note(asked, where, 'ignored', 'a link to nothing: systemd ignores it too');
    if (!f) {
      throw new Error(
        `${where}: no such unit file, nor a template of it, in the search path: ` +
          'give a unit file, a directory, or an instance (foo@bar.service) of a template that exists',
      );
    }
    if (f.masked) return note(asked, f.file, 'note', 'masked (a link to /dev/null, or empty): skipped');
    if (f.via.length) note(asked, where, 'note', `an alias of ${f.name}: converted as ${f.name}`);
    const systemds = lookup.find(f.name)?.file;
    if (fs.existsSync(where) && systemds && systemds !== where && !f.via.length) {
      const which = explicit ? 'converted as named' : 'that one is converted';
      note(f.name, where, 'note', `overridden by ${systemds}, which systemd reads: ${which}`);
    }
    if (!found.has(f.name)) found.set(f.name, f.file);
  };
  for (const p of paths) {
    const stat = fs.statSync(p, { throwIfNoEntry: false });
    if (stat?.isDirectory()) {
      for (const e of fs.readdirSync(p).sort()) {
        const f = path.join(p, e);
        if (isUnitName(e) && !fs.statSync(f, { throwIfNoEntry: false })?.isDirectory()) add(e, f, false);
      }
    } else add(path.basename(p), p, true);
  }
  return [...found].map(([name, file]) => ({ name, file }));
}

/** systemd's exit status names (BSD sysexits.h and LSB init script codes) → numbers. */
const exitNames: Record<string, number> = {
  ...Object.fromEntries(
    ['USAGE', 'DATAERR', 'NOINPUT', 'NOUSER', 'NOHOST', 'UNAVAILABLE', 'SOFTWARE', 'OSERR', 'OSFILE', 'CANTCREAT',
      'IOERR', 'TEMPFAIL', 'PROTOCOL', 'NOPERM', 'CONFIG'].map((n, i) => [n, 64 + i]),
  ),
  ...Object.fromEntries(
    ['INVALIDARGUMENT', 'NOTIMPLEMENTED', 'NOPERMISSION', 'NOTINSTALLED', 'NOTCONFIGURED', 'NOTRUNNING'].map((n, i) => [
      n,
      2 + i,
    ]),
  ),
};

/** Types converted to the nearest one here, and what is lost. */
const typeLike: Record<string, [string, string]> = {
  idle: ['simple', "systemd's delay until other jobs are dispatched is not applied"],
  'notify-reload': ['notify', 'reload does not send SIGHUP and wait for RELOADING=1; write ExecReload='],
};

/** Output targets that also copy to a device sysmaster does not write to: the journal part is kept. */
const outputLike: Record<string, string> = {
  'journal+console': 'the console',
  'kmsg+console': 'the console',
  kmsg: 'the kernel log',
  syslog: 'syslog',
  'syslog+console': 'syslog and the console',
};

const bools: Record<string, boolean> = { yes: true, y: true, true: true, t: true, on: true, '1': true };
for (const f of ['no', 'n', 'false', 'f', 'off', '0']) bools[f] = false;

/** One assignment's value → list elements (for list kinds) or the value; throws Error with the reason. */
function convertValue(def: KeyDef, value: string, report: (kind: ReportKind, message: string) => void): unknown[] {
  switch (def.kind) {
    case 'exitStatus':
      return value
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => (w in exitNames ? exitNames[w] : w));
    case 'units':
    case 'environmentFiles':
    case 'relativePaths':
      return value.split(/\s+/).filter(Boolean);
    case 'pathConditions':
    case 'envConditions':
      if (/^!?\|/.test(value)) throw new Error('the "|" (trigger) prefix of conditions is not supported');
      return [value];
    case 'commands': {
      const words = splitCommand(value);
      const prefix = /^[-@+!:|]*/.exec(words[0] ?? '')![0];
      const other = prefix.replace(/-/g, '');
      if (other) throw new Error(`the exec prefix "${other}" is not supported (only "-" is)`);
      return words.length ? [words] : [];
    }
    case 'environment':
      return splitCommand(value).map((w) => {
        const eq = w.indexOf('=');
        if (eq <= 0) throw new Error(`"${w}" is not a NAME=VALUE assignment`);
        return [w.slice(0, eq), w.slice(eq + 1)];
      });
    case 'bool':
      if (!(value.toLowerCase() in bools)) throw new Error(`"${value}" is not a boolean`);
      return [bools[value.toLowerCase()]];
    case 'delegate': {
      const d = parseDelegate(value);
      return [typeof d === 'boolean' ? d : d.join(' ')];
    }
    case 'count':
      if (!/^\d+$/.test(value)) throw new Error(`"${value}" is not a non-negative integer`);
      return [Number(value)];
    case 'enum':
      if (def.key === 'Type' && value in typeLike) {
        report('differs', `Type=${value} is converted to Type=${typeLike[value][0]}: ${typeLike[value][1]}`);
        return [typeLike[value][0]];
      }
      // systemd takes a boolean for yes and no.
      if (def.key === 'RuntimeDirectoryPreserve' && value.toLowerCase() in bools) return [bools[value.toLowerCase()] ? 'yes' : 'no'];
      if (!def.values!.includes(value))
        throw new Error(`${def.key}=${value} is not supported (supported: ${def.values!.join(', ')})`);
      return [value];
    case 'directory':
      if (value.startsWith('-')) {
        report('differs', 'the "-" prefix (a missing directory is fine) is dropped: the directory must exist');
        return [value.slice(1)];
      }
      return [value];
    case 'path':
      if (def.key === 'PIDFile' && !value.startsWith('/')) {
        report('differs', `a relative PIDFile= is relative to /run: written as /run/${value}`);
        return [`/run/${value}`];
      }
      return [value];
    case 'output':
      if (value in outputLike) {
        report('differs', `${value} is converted to journal: the output is captured, not also sent to ${outputLike[value]}`);
        return ['journal'];
      }
      return [value];
    default:
      return [value];
  }
}

/** Keys whose repeated assignments accumulate, as systemd's list directives do. */
const isList = (def: KeyDef): boolean => Array.isArray(def.default) || ['exitStatus', 'environment'].includes(def.kind);

/** What becomes of a directive: the spec keys it sets, or why it is left out (and how that is reported). */
export type Fate = { def: KeyDef; keys: string[] } | { skip: ReportKind; why: string };

/** The fate of directive `key` in `[section]` of a unit of `type`, whatever its value. */
export function classify(type: string, section: string, key: string): Fate {
  const sections = placed(type);
  if (!(section in sections))
    return { skip: 'ignored', why: `section [${section}] does not belong in a .${type} unit: systemd ignores it too` };
  if (key.startsWith('X-')) return { skip: 'ignored', why: 'an X- key is for other programs: systemd ignores it too' };
  if (key in ignoredKeys)
    return { skip: section === 'Install' || key === 'Documentation' ? 'ignored' : 'differs', why: ignoredKeys[key] };
  if (key === 'Alias' && section === 'Install') return { def: aliasDef, keys: [] };
  const name = renamed[key] ?? key;
  const defs = new Map(unitKeys[type].map((d) => [d.key, d]));
  // systemd's TimeoutSec= of a service sets both timeouts; other types have a TimeoutSec= of their own
  const both = name === 'TimeoutSec' && !defs.has(name) && defs.has('TimeoutStartSec');
  const def = defs.get(both ? 'TimeoutStartSec' : name);
  if (def && sections[section].has(def.key)) return { def, keys: both ? ['TimeoutStartSec', 'TimeoutStopSec'] : [name] };
  if (directives[section]?.includes(name))
    return { skip: section === 'Install' ? 'ignored' : 'unsupported', why: `not supported in [${section}]` };
  const near = suggest(name, directives[section] ?? []);
  return {
    skip: 'ignored',
    why:
      `unknown directive: systemd has no ${name}= in [${section}] and ignores it too` +
      (near ? ` (did you mean ${near}=?)` : ''),
  };
}

/** Maps one unit's assignments to spec keys. */
function mapUnit(name: string, file: string, assignments: Assignment[], reports: Report[], host: Host): Unit {
  const type = typeOf(name);
  const unit: Unit = { name, type, file, keys: new Map(), aliases: [] };
  for (const a of assignments) {
    const report = (kind: ReportKind, message: string): void => {
      reports.push({ unit: name, file: a.file, line: a.line, kind, message: `${a.key}=: ${message}` });
    };
    // DefaultDependencies=no asks for what sysmaster does anyway: converted exactly, nothing to report.
    if (a.key === 'DefaultDependencies' && bools[a.value.toLowerCase()] === false) continue;
    const c = classify(type, a.section, a.key);
    if ('skip' in c) {
      report(c.skip, c.why);
      continue;
    }
    const { def, keys: targets } = c;
    let value: string;
    const used = new Set<string>();
    try {
      value = expandSpecifiers(a.value, { name, fragment: file }, host, (c) => used.add(c));
    } catch (e) {
      if (!(e instanceof SpecifierError)) throw e;
      report('unsupported', e.message);
      continue;
    }
    specifierReports(used, name, report);
    if (value === '') {
      if (a.key === 'Alias') unit.aliases = [];
      for (const k of targets) unit.keys.delete(k); // systemd's empty assignment: back to the default / empty list
      continue;
    }
    let items: unknown[];
    try {
      items = convertValue(def, value, report);
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      report('unsupported', e.message);
      continue;
    }
    if (a.key === 'Alias') {
      for (const v of items as string[]) {
        if (typeOf(v) !== type) report('unsupported', `${v} is not a .${type} name: systemd refuses such an alias too`);
        else {
          unit.aliases.push({ v, at: a });
          const why = `dependencies naming it are written as ${name}, and sctl knows only ${name}`;
          report('differs', `${v} is not a name of the unit here: ${why}`);
        }
      }
      continue;
    }
    for (const k of targets) {
      const list = isList(def) ? (unit.keys.get(k) ?? []) : [];
      unit.keys.set(k, [...list, ...items.map((v) => ({ v, at: a }))]);
    }
  }
  return unit;
}

/** Alias= reads like a dependency list; it is not a spec key. */
const aliasDef: KeyDef = { key: 'Alias', kind: 'units', default: [], doc: '' };

/** What a value's specifiers took from this machine, or expand to something sysmaster does not provide. */
function specifierReports(used: Set<string>, name: string, report: (kind: ReportKind, message: string) => void): void {
  const machine = [...used].filter((c) => fromMachine.has(c) && c !== 'b');
  if (machine.length)
    report(
      'note',
      `${machine.map((c) => `%${c}`).join(' ')} expanded with this machine's value: convert on the machine the spec is for`,
    );
  if (used.has('b')) report('differs', "%b is this boot's ID, written as it is now: systemd reads it at each boot");
  if (used.has('d'))
    report('differs', `%d is /run/credentials/${name}, but sysmaster passes no credentials: that directory will not exist`);
}

const str = (s: string): string => JSON.stringify(s).replace(/\x7f/g, '\\u007f');
const bare = (s: string): string => (/^[A-Za-z0-9_-]+$/.test(s) ? s : str(s));

function tomlValue(def: KeyDef, items: Item[]): string {
  const vs = items.map((i) => i.v);
  if (def.kind === 'commands') return `[${vs.map((w) => `[${(w as string[]).map(str).join(', ')}]`).join(', ')}]`;
  if (def.kind === 'environment') {
    const env = new Map(vs as [string, string][]); // a later assignment of a name wins
    return `{ ${[...env].map(([k, v]) => `${str(k)} = ${str(v)}`).join(', ')} }`;
  }
  if (isList(def)) return `[${vs.map((v) => (typeof v === 'string' ? str(v) : String(v))).join(', ')}]`;
  const v = vs[0];
  return typeof v === 'string' ? str(v) : String(v);
}

/** The spec text, and which unit each of its lines belongs to (by line number), to place the loader's problems. */
function toToml(
  units: Unit[],
  extraTargets: string[],
  defaultTarget: string | undefined,
): { toml: string; owner: (string | undefined)[] } {
  const out = ['# Converted from systemd units by `sysmaster convert`.', ''];
  if (defaultTarget) out.push('[manager]', `DefaultTarget = ${str(defaultTarget)}`, '');
  const owner: (string | undefined)[] = out.map(() => undefined);
  owner.push(undefined);
  for (const u of units) {
    const defs = new Map(unitKeys[u.type].map((d) => [d.key, d]));
    out.push(`# ${u.file}`, `[${u.type}.${bare(u.name.slice(0, u.name.lastIndexOf('.')))}]`);
    for (const [key, items] of u.keys) if (items.length) out.push(`${key} = ${tomlValue(defs.get(key)!, items)}`);
    out.push('');
    while (owner.length <= out.length) owner.push(u.name);
  }
  for (const t of extraTargets) out.push(`[target.${bare(t.slice(0, -'.target'.length))}]`, '');
  return { toml: out.join('\n'), owner };
}

/**
 * Converts the units PATHs name. `file`: where the spec will be written (relative paths in it are read from there);
 * `host`: the machine the specifiers %H %m %b ... read.
 */
export async function convert(
  paths: string[],
  file = path.resolve('converted.toml'),
  host: Host = thisHost,
): Promise<Conversion> {
  const reports: Report[] = [];
  const units: Unit[] = [];
  const dirOf = (p: string): string => (fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ? p : path.dirname(p));
  const lookup = new Lookup(searchPath(paths.map(dirOf)));
  const aliases = lookup.aliases();
  const read = (name: string, f: string): void => {
    let parsed;
    try {
      parsed = readUnit(f, lookup.dropIns(name, [...aliases].filter(([, real]) => real === name).map(([a]) => a)));
    } catch (e) {
      reports.push({ unit: name, file: f, line: 1, kind: 'unsupported', message: `cannot read: ${(e as Error).message}` });
      return;
    }
    for (const i of parsed.issues)
      reports.push({ unit: name, file: i.file, line: i.line, kind: 'ignored', message: i.message });
    units.push(mapUnit(name, f, parsed.assignments, reports, host));
  };
  for (const { name, file: f } of collect(paths, lookup, reports)) read(name, f);
  // A socket, timer or path unit needs the unit it starts: converted too when the search path has it.
  for (let i = 0; i < units.length; i++) {
    const n = triggered(units[i]);
    const f = n && !units.some((u) => u.name === n) ? lookup.find(n) : undefined;
    if (!f || f.masked || units.some((u) => u.name === f.name)) continue;
    reports.push({ unit: f.name, file: f.file, line: 1, kind: 'note', message: `converted too: ${units[i].name} starts it` });
    read(f.name, f.file);
  }
  for (const u of units) for (const i of u.aliases) if (!aliases.has(i.v as string)) aliases.set(i.v as string, u.name);
  const say = (unit: string, i: Item, kind: ReportKind, message: string): void => {
    reports.push({ unit, file: i.at.file, line: i.at.line, kind, message });
  };
  const drop = (u: Unit, key: string, why: string, kind: ReportKind = 'unsupported'): void => {
    for (const i of u.keys.get(key) ?? []) say(u.name, i, kind, `${i.at.key}=: ${why}`);
    u.keys.delete(key);
  };
  // An alias is written as the unit's real name. Names outside the converted set: a target is added empty (it
  // only groups), anything else is left out.
  const names = new Set(units.map((u) => u.name));
  const extra = new Set<string>();
  for (const u of units) {
    const defs = new Map(unitKeys[u.type].map((d) => [d.key, d]));
    for (const [key, items] of u.keys) {
      if (!['units', 'unit'].includes(defs.get(key)!.kind)) continue;
      const kept: Item[] = [];
      for (const i of items) {
        const asked = i.v as string;
        const n = realName(asked, aliases);
        if (n !== asked) say(u.name, i, 'note', `${i.at.key}=${asked}: an alias of ${n}: written as ${n}`);
        if (kept.some((k) => k.v === n)) continue;
        if (!names.has(n) && n.endsWith('.target')) {
          if (!extra.has(n))
            say(n, i, 'note', `not among the converted units: added as an empty target (named by ${u.name})`);
          extra.add(n);
        } else if (!names.has(n)) {
          say(u.name, i, 'ignored', `${i.at.key}=${n}: ${n} is not among the converted units`);
          continue;
        }
        kept.push({ ...i, v: n });
      }
      u.keys.set(key, kept);
    }
  }
  // default.target, a link to the target systemd boots into, is that target here too.
  const boot = realName('default.target', aliases);
  const defaultTarget = boot !== 'default.target' && names.has(boot) ? boot : undefined;
  if (defaultTarget)
    reports.push({
      unit: boot,
      file: lookup.entry('default.target') ?? '',
      line: 1,
      kind: 'note',
      message: `default.target is an alias of ${boot}: written as [manager] DefaultTarget`,
    });
  // The loader has the last word: what it still refuses is taken out, reported, and the rest loaded again.
  for (let round = 0; ; round++) {
    const { toml, owner } = toToml(units, [...extra], defaultTarget);
    let problems;
    try {
      await parseSpec(toml, file, { checkExecutables: false });
      return { toml, units: units.map((u) => u.name), reports };
    } catch (e) {
      if (!(e instanceof SpecError) || round > units.length + 10) throw e;
      problems = e.problems;
    }
    const removed = new Set<string>();
    const dropped = new Set<string>();
    for (const p of problems) {
      // a problem of no unit of ours (an unknown table) belongs to the unit whose lines it names
      const name = units.some((x) => x.name === p.unit) ? p.unit : owner[p.where.line];
      const u = units.find((x) => x.name === name);
      if (!u && name && removed.has(name)) continue;
      if (!u) throw new SpecError(problems);
      if (p.key && dropped.has(`${u.name}\0${p.key}`)) continue; // the key's other problems: already taken out
      const why = `refused by the spec: ${p.message}${p.hint ? ` (${p.hint})` : ''}`;
      if (p.key && u.keys.has(p.key)) {
        drop(u, p.key, why);
        dropped.add(`${u.name}\0${p.key}`);
      }
      else {
        reports.push({ unit: u.name, file: u.file, line: 1, kind: 'unsupported', message: `unit left out: ${why}` });
        units.splice(units.indexOf(u), 1);
        removed.add(u.name);
        for (const o of units)
          for (const [key, items] of o.keys) {
            const gone = items.filter((i) => i.v === u.name);
            if (!gone.length) continue;
            o.keys.set(key, items.filter((i) => i.v !== u.name));
            for (const i of gone) say(o.name, i, 'ignored', `${i.at.key}=${u.name}: that unit was left out`);
          }
      }
    }
  }
}

/** The unit a socket, timer or path unit starts: its Service= or Unit=, else systemd's default for the type. */
function triggered(u: Unit): string | undefined {
  const key = unitKeys[u.type].find((d) => d.triggers)?.key;
  if (!key) return undefined;
  const set = u.keys.get(key)?.[0]?.v as string | undefined;
  const stem = u.name.slice(0, u.name.lastIndexOf('.'));
  return set ?? (u.keys.get('Accept')?.[0]?.v === true ? `${stem}@.service` : `${stem}.service`);
}

/** `name` with aliases followed, an instance's template alias too (sshd.service → ssh.service). */
function realName(name: string, aliases: Map<string, string>): string {
  const seen = new Set<string>();
  let n = name;
  while (!seen.has(n)) {
    seen.add(n);
    const template = templateOf(n);
    const t = template && aliases.get(template);
    const real = aliases.get(n) ?? (t && instantiate(t, n));
    if (!real) break;
    n = real;
  }
  return n;
}
