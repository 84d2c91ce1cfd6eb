// systemd units → a sysmaster spec (TOML). Keys keep systemd's names (specs/keys.ts), so most directives map one to
// one with their value turned into typed TOML. Whatever cannot be honoured is reported with file:line and why,
// never dropped silently; the spec is then loaded by the real loader, and any key it still refuses is taken out and
// reported too, so the output always validates.
import fs from 'node:fs';
import path from 'node:path';
import { splitCommand } from '../command.js';
import { SpecError } from '../errors.js';
import { commonKeys, type KeyDef, serviceKeys, unitKeys } from '../keys.js';
import { parseSpec } from '../loader.js';
import { expandSpecifiers, SpecifierError } from './specifiers.js';
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

const TYPES = ['service', 'target'];
const sections: Record<string, string[]> = { service: ['Unit', 'Service', 'Install'], target: ['Unit', 'Install'] };
const installKeys = ['WantedBy', 'RequiredBy'];
/** [Unit] keys of systemd that are [Service] keys here. */
const movedToService = ['StartLimitIntervalSec', 'StartLimitBurst'];
/** The keys each section may set (a service's own keys come from its table, the rest from commonKeys). */
const placed: Record<string, Set<string>> = {
  Install: new Set(installKeys),
  Unit: new Set([...commonKeys.map((d) => d.key).filter((k) => !installKeys.includes(k)), ...movedToService]),
  Service: new Set(serviceKeys.map((d) => d.key)),
};
/** Directives that are dropped on purpose, and why. */
const ignoredKeys: Record<string, string> = {
  Documentation: 'documentation only; sysmaster shows none',
  DefaultDependencies:
    "sysmaster adds no implicit dependencies (systemd's on sysinit.target, basic.target, shutdown.target): write them out",
  Alias: 'aliases are not supported: refer to the unit by its own name',
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
}

/** Finds the units PATHs name: files, directories (their *.service and *.target), instances of templates. */
function collect(paths: string[], reports: Report[]): { name: string; file: string }[] {
  const found = new Map<string, string>();
  const note = (name: string, file: string, kind: ReportKind, message: string): void => {
    reports.push({ unit: name, file, line: 1, kind, message });
  };
  const consider = (file: string, name: string, explicit: boolean): void => {
    const type = name.slice(name.lastIndexOf('.') + 1);
    if (!TYPES.includes(type)) {
      if (explicit) note(name, file, 'unsupported', `.${type} units are not supported yet`);
      return;
    }
    if (/@\./.test(name)) {
      note(name, file, 'note', 'a template: skipped; name an instance (foo@bar.service) to convert it');
      return;
    }
    let real = file;
    try {
      real = fs.realpathSync(file);
    } catch {
      /* a dangling link: reported below when reading */
    }
    if (real === '/dev/null') return note(name, file, 'note', 'masked (a link to /dev/null): skipped');
    const target = path.basename(real);
    if (target !== name && !(name.includes('@') && target === name.replace(/@[^.]*\./, '@.'))) {
      note(name, file, 'unsupported', `an alias of ${target}: aliases are not supported, convert ${target}`);
      return;
    }
    const earlier = found.get(name);
    if (earlier) note(name, earlier, 'note', `also in ${file}, which is used: a later PATH wins`);
    found.set(name, file);
  };
  for (const p of paths) {
    const stat = fs.statSync(p, { throwIfNoEntry: false });
    if (stat?.isDirectory()) {
      for (const e of fs.readdirSync(p).sort()) {
        const f = path.join(p, e);
        if (/\.(service|target)$/.test(e) && !fs.statSync(f, { throwIfNoEntry: false })?.isDirectory())
          consider(f, e, false);
      }
    } else if (stat) {
      consider(p, path.basename(p), true);
    } else {
      // foo@bar.service: the template foo@.service next to where it would be.
      const name = path.basename(p);
      const template = path.join(path.dirname(p), name.replace(/@[^.]+\./, '@.'));
      if (template !== p && fs.existsSync(template)) consider(template, name, true);
      else throw new Error(`${p}: no such file`);
    }
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
    case 'count':
      if (!/^\d+$/.test(value)) throw new Error(`"${value}" is not a non-negative integer`);
      return [Number(value)];
    case 'enum':
      if (def.key === 'Type' && value in typeLike) {
        report('differs', `Type=${value} is converted to Type=${typeLike[value][0]}: ${typeLike[value][1]}`);
        return [typeLike[value][0]];
      }
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
      if (!value.startsWith('/')) {
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

const isList = (def: KeyDef): boolean =>
  ['units', 'exitStatus', 'environmentFiles', 'pathConditions', 'envConditions', 'commands', 'environment'].includes(
    def.kind,
  );

/** Maps one unit's assignments to spec keys. */
function mapUnit(name: string, file: string, assignments: Assignment[], reports: Report[]): Unit {
  const type = name.slice(name.lastIndexOf('.') + 1);
  const defs = new Map(unitKeys[type].map((d) => [d.key, d]));
  const unit: Unit = { name, type, file, keys: new Map() };
  for (const a of assignments) {
    const report = (kind: ReportKind, message: string): void => {
      reports.push({ unit: name, file: a.file, line: a.line, kind, message: `${a.key}=: ${message}` });
    };
    if (!sections[type].includes(a.section)) {
      report('unsupported', `section [${a.section}] is not supported in .${type} units`);
      continue;
    }
    // DefaultDependencies=no asks for what sysmaster does anyway: converted exactly, nothing to report.
    if (a.key === 'DefaultDependencies' && bools[a.value.toLowerCase()] === false) continue;
    if (a.key in ignoredKeys) {
      report(a.section === 'Install' || a.key === 'Documentation' ? 'ignored' : 'differs', ignoredKeys[a.key]);
      continue;
    }
    const key = renamed[a.key] ?? a.key;
    const def = defs.get(key === 'TimeoutSec' ? 'TimeoutStartSec' : key);
    if (!def || !placed[a.section].has(def.key)) {
      report(a.section === 'Install' ? 'ignored' : 'unsupported', `not supported in [${a.section}]`);
      continue;
    }
    let value: string;
    try {
      value = expandSpecifiers(a.value, name);
    } catch (e) {
      if (!(e instanceof SpecifierError)) throw e;
      report('unsupported', e.message);
      continue;
    }
    const targets = key === 'TimeoutSec' ? ['TimeoutStartSec', 'TimeoutStopSec'] : [key];
    if (value === '') {
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
    for (const k of targets) {
      const list = isList(def) ? (unit.keys.get(k) ?? []) : [];
      unit.keys.set(k, [...list, ...items.map((v) => ({ v, at: a }))]);
    }
  }
  return unit;
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

function toToml(units: Unit[], extraTargets: string[]): string {
  const out = ['# Converted from systemd units by `sysmaster convert`.', ''];
  for (const u of units) {
    const defs = new Map(unitKeys[u.type].map((d) => [d.key, d]));
    out.push(`# ${u.file}`, `[${u.type}.${bare(u.name.slice(0, u.name.lastIndexOf('.')))}]`);
    for (const [key, items] of u.keys) if (items.length) out.push(`${key} = ${tomlValue(defs.get(key)!, items)}`);
    out.push('');
  }
  for (const t of extraTargets) out.push(`[target.${bare(t.slice(0, -'.target'.length))}]`, '');
  return out.join('\n');
}

/** Converts the units PATHs name. `file`: where the spec will be written (relative paths in it are read from there). */
export async function convert(paths: string[], file = path.resolve('converted.toml')): Promise<Conversion> {
  const reports: Report[] = [];
  const units: Unit[] = [];
  for (const { name, file: f } of collect(paths, reports)) {
    let parsed;
    try {
      parsed = readUnit(f, name);
    } catch (e) {
      reports.push({ unit: name, file: f, line: 1, kind: 'unsupported', message: `cannot read: ${(e as Error).message}` });
      continue;
    }
    for (const i of parsed.issues)
      reports.push({ unit: name, file: i.file, line: i.line, kind: 'ignored', message: i.message });
    units.push(mapUnit(name, f, parsed.assignments, reports));
  }
  const drop = (u: Unit, key: string, why: string, kind: ReportKind = 'unsupported'): void => {
    for (const i of u.keys.get(key) ?? [])
      reports.push({ unit: u.name, file: i.at.file, line: i.at.line, kind, message: `${i.at.key}=: ${why}` });
    u.keys.delete(key);
  };
  // Names outside the converted set: a target is added empty (it only groups), anything else is left out.
  const names = new Set(units.map((u) => u.name));
  const extra = new Set<string>();
  for (const u of units) {
    const defs = new Map(unitKeys[u.type].map((d) => [d.key, d]));
    for (const [key, items] of u.keys) {
      if (defs.get(key)!.kind !== 'units') continue;
      const kept = items.filter((i) => {
        const n = i.v as string;
        if (names.has(n)) return true;
        if (n.endsWith('.target')) {
          if (!extra.has(n))
            reports.push({
              unit: n,
              file: i.at.file,
              line: i.at.line,
              kind: 'note',
              message: `not among the converted units: added as an empty target (named by ${u.name})`,
            });
          extra.add(n);
          return true;
        }
        reports.push({
          unit: u.name,
          file: i.at.file,
          line: i.at.line,
          kind: 'ignored',
          message: `${i.at.key}=${n}: ${n} is not among the converted units`,
        });
        return false;
      });
      u.keys.set(key, kept);
    }
  }
  // The loader has the last word: what it still refuses is taken out, reported, and the rest loaded again.
  for (let round = 0; ; round++) {
    const toml = toToml(units, [...extra]);
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
      const u = units.find((x) => x.name === p.unit);
      if (!u && p.unit && removed.has(p.unit)) continue;
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
            for (const i of gone)
              reports.push({
                unit: o.name,
                file: i.at.file,
                line: i.at.line,
                kind: 'ignored',
                message: `${i.at.key}=${u.name}: that unit was left out`,
              });
          }
      }
    }
  }
}
