// TOML spec files → SystemSpec, fully defaulted and normalised, or one SpecError listing every problem found.
// Steps: read the main file and its includes; check each file's structure and types against the schema (Ajv);
// merge the tables; normalise every key through the key table; derive the defaults that depend on other keys;
// synthesise default.target; then check what a schema cannot say: service rules, references, cycles, programs.
import fs from 'node:fs';
import path from 'node:path';
import TOML from '@iarna/toml';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { type SpecProblem, SpecError, tomlError } from './errors.js';
import { defaultPath, programProblem } from './executables.js';
import { expandGlob } from './glob.js';
import { cycleText, type Edge, findCycles } from './graph.js';
import { type KeyDef, managerKeys, unitKeys as defaultUnitKeys } from './keys.js';
import { type Check, describe, isTable, kinds } from './kinds.js';
import { Lines, scanLines } from './lines.js';
import { ajvOptions, buildSchema } from './schema.js';
import precompiled from './schema-check.js';
import { mountRules } from './rules/mount.js';
import { pathRules } from './rules/path.js';
import { socketRules } from './rules/socket.js';
import { timerRules } from './rules/timer.js';
import { suggest } from './suggest.js';
import type { Command, ManagerConfig, OutputTarget, ServiceConfig, SystemSpec, UnitSpec, Where } from './types.js';
import { unescapePath } from './unitname.js';

export interface LoadOptions {
  /** Check that every Exec program without the `-` prefix exists and is executable. Default true. */
  checkExecutables?: boolean;
  /** The environment bare program names are looked up in (its PATH). Default process.env. */
  env?: Record<string, string | undefined>;
  /** Keys of each unit type. Default specs/keys.ts unitKeys. */
  unitKeys?: Record<string, KeyDef[]>;
  /** The main command (`sysmaster-init -- CMD ARGS...`): it becomes main.service (mainUnit()). */
  main?: string[];
}

/** Where the main command's unit comes from, for its problems and for `sctl cat`. */
export const MAIN_SOURCE = '(sysmaster-init -- CMD)';

/**
 * The main command as a unit, as tini and s6-overlay run it: started once every other unit's start is done, its
 * output straight to the manager's (the container's log), and its end, whatever it is, ends the manager with its
 * exit status.
 */
function mainUnit(argv: string[], others: string[]): RawUnit {
  const table = {
    Description: `The main command: ${argv.join(' ')}`,
    Type: 'exec',
    // Passed on as given, as tini does: `$` is literal here, not systemd's variable expansion.
    ExecStart: argv.map((a) => a.replaceAll('$', () => '$$')),
    After: others,
    StandardOutput: 'inherit',
    SuccessAction: 'exit',
    FailureAction: 'exit',
  };
  const source = { file: MAIN_SOURCE, data: { service: { main: table } }, lines: new Lines() };
  return { name: 'main.service', type: 'service', base: 'main', table, source };
}

/** One file read and parsed. */
interface Source {
  file: string;
  data: Record<string, unknown>;
  lines: Lines;
}

/** A unit table before normalisation. */
interface RawUnit {
  name: string;
  type: string;
  base: string;
  table: Record<string, unknown>;
  source: Source;
}

/** Problems found so far, and which schema complaints they already explain. */
class Problems {
  readonly list: SpecProblem[] = [];
  private readonly explained = new Set<string>();

  /** `owner`: the file and key path the problem is about (see ownerOf). */
  add(p: SpecProblem, owner?: string): void {
    this.list.push(p);
    if (owner) this.explained.add(owner);
  }

  covers(owner: string): boolean {
    return this.explained.has(owner);
  }
}

/** The key path an Ajv error belongs to: include, a manager key, a unit key, or a table. */
function ownerOf(file: string, at: readonly string[], types: readonly string[]): string {
  const depth = at[0] === 'manager' ? 2 : types.includes(at[0]) ? 3 : 1;
  return [file, ...at.slice(0, depth)].join('\0');
}

const validators = new WeakMap<object, ValidateFunction>();

function validatorFor(unitKeys: Record<string, KeyDef[]>): ValidateFunction {
  if (unitKeys === defaultUnitKeys) return precompiled as unknown as ValidateFunction;
  let v = validators.get(unitKeys);
  if (!v) {
    // Only other key tables (tests, future types) pay for loading and running Ajv's compiler.
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    v = new Ajv(ajvOptions).compile(buildSchema(unitKeys));
    validators.set(unitKeys, v);
  }
  return v;
}

function readError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (e as Error).message;
}

/** Reads `file` (or takes `text`) and, depth first, everything it includes. */
function read(
  file: string,
  text: string | undefined,
  from: Where | undefined,
  stack: readonly string[],
  state: { sources: Source[]; seen: Set<string>; complete: boolean },
  problems: Problems,
): void {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    real = path.resolve(file);
  }
  const loop = stack.indexOf(real);
  if (loop >= 0) {
    const names = [...stack.slice(loop), real].map((f) => path.relative(path.dirname(stack[0]), f) || f);
    problems.add({
      where: from!,
      key: 'include',
      message: `include loop: ${names.join(' → ')}`,
      hint: 'remove one of these includes',
    });
    return;
  }
  if (state.seen.has(real)) return; // included twice along different paths: read once
  state.seen.add(real);
  if (text === undefined) {
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      state.complete = false;
      problems.add({
        where: from ?? { file, line: 1 },
        key: from && 'include',
        message: `cannot read ${file}: ${readError(e)}`,
      });
      return;
    }
  }
  let data: Record<string, unknown>;
  try {
    data = TOML.parse(text);
  } catch (e) {
    state.complete = false;
    const { line, message } = tomlError(e);
    problems.add({ where: { file, line }, unit: tableAround(text, line), message });
    state.sources.push({ file, data: {}, lines: scanLines('') });
    return;
  }
  const source: Source = { file, data, lines: scanLines(text) };
  state.sources.push(source);
  if (data.include === undefined) return;
  const includeAt = { file, line: source.lines.at(['include']) };
  const patterns = typeof data.include === 'string' ? [data.include] : data.include;
  if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === 'string')) {
    problems.add(
      {
        where: includeAt,
        key: 'include',
        message: `expected a path or glob, or an array of them, got ${describe(data.include)}`,
      },
      [file, 'include'].join('\0'),
    );
    return;
  }
  for (const pattern of patterns) {
    for (const match of expandGlob(pattern, path.dirname(file)))
      read(match, undefined, includeAt, [...stack, real], state, problems);
  }
}

/** Unknown keys and tables, with the key the user most likely meant. */
function unknownKey(
  at: readonly string[],
  source: Source,
  unitKeys: Record<string, KeyDef[]>,
  problems: Problems,
): void {
  const types = Object.keys(unitKeys);
  const where = { file: source.file, line: source.lines.at(at) };
  const name = at[at.length - 1];
  const mean = (candidates: readonly string[]): string | undefined => {
    const close = suggest(name, candidates);
    return close && `did you mean "${close}"?`;
  };
  if (at.length === 1) {
    const table = isTable(source.data[name]);
    problems.add({
      where,
      key: name,
      message: table ? `unknown table [${name}]` : `unknown top-level key "${name}"`,
      hint:
        mean(['include', 'manager', ...types]) ??
        `the top level takes include, [manager] and ${types.map((t) => `[${t}.NAME]`).join(', ')}`,
    });
  } else if (at[0] === 'manager') {
    const unitKey = Object.values(unitKeys).some((defs) => defs.some((d) => d.key === name));
    problems.add({
      where,
      key: name,
      message: `unknown [manager] key "${name}"`,
      hint: unitKey ? `${name} is a unit key: put it in a unit's table` : mean(managerKeys.map((d) => d.key)),
    });
  } else {
    const [type, base] = at;
    const owner = Object.keys(unitKeys).find((t) => t !== type && unitKeys[t].some((d) => d.key === name));
    problems.add({
      where,
      unit: `${base}.${type}`,
      key: name,
      message: `unknown ${type} key "${name}"`,
      hint:
        (owner ? `${name} is a ${owner} key; ${type} units do not take it` : undefined) ??
        (managerKeys.some((d) => d.key === name) ? `${name} belongs in [manager]` : undefined) ??
        mean(unitKeys[type].map((d) => d.key)),
    });
  }
}

/** Validates one file against the schema; returns the complaints about values, by owner, for later. */
function schemaCheck(
  source: Source,
  unitKeys: Record<string, KeyDef[]>,
  problems: Problems,
): Map<string, { error: ErrorObject; at: string[] }> {
  const flagged = new Map<string, { error: ErrorObject; at: string[] }>();
  const validate = validatorFor(unitKeys);
  if (validate(source.data)) return flagged;
  for (const error of validate.errors ?? []) {
    const at = error.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const named =
      (error as ErrorObject & { propertyName?: string }).propertyName ??
      (error.params as { propertyName?: string }).propertyName;
    if (named !== undefined) at.push(named); // a bad table or variable name: the complaint is about that name
    if (error.keyword === 'additionalProperties') {
      unknownKey(
        [...at, (error.params as { additionalProperty: string }).additionalProperty],
        source,
        unitKeys,
        problems,
      );
    } else {
      const owner = ownerOf(source.file, at, Object.keys(unitKeys));
      if (!flagged.has(owner)) flagged.set(owner, { error, at });
    }
  }
  return flagged;
}

// Defaults are shared by every unit: each gets its own copy of a list or table, and a number or string as it is.
const clone = <T>(v: T): T =>
  typeof v !== 'object' || v === null ? v : Array.isArray(v) && v.length === 0 ? ([] as T) : structuredClone(v);

const templates = new WeakMap<readonly KeyDef[], Record<string, unknown>>();

/** Each key's default, shared: lists and tables in it are copied per unit. */
function template(defs: readonly KeyDef[]): Record<string, unknown> {
  let t = templates.get(defs);
  if (!t) templates.set(defs, (t = Object.fromEntries(defs.map((d) => [d.key, d.default]))));
  return t;
}

/** Normalises one table of keys; `keys` gets where each written key stood. */
function normaliseTable(
  table: Record<string, unknown>,
  defs: readonly KeyDef[],
  place: { locate(key: string): { source: Source; path: string[] }; unit?: string },
  check: Pick<Check, 'types' | 'units'>,
  problems: Problems,
): { config: Record<string, unknown>; keys: Record<string, Where>; failed: Set<string> } {
  // Every key at once from one template (objects of one shape, in key order), then the written keys over it.
  const config: Record<string, unknown> = { ...template(defs) };
  const keys: Record<string, Where> = {};
  const failed = new Set<string>();
  for (const def of defs) {
    const raw = table[def.key];
    if (raw === undefined) {
      if (typeof def.default === 'object' && def.default !== null) config[def.key] = clone(def.default);
      continue;
    }
    const { source, path: at } = place.locate(def.key);
    const where = { file: source.file, line: source.lines.at(at) };
    keys[def.key] = where;
    const bad = (message: string, hint?: string): undefined => {
      failed.add(def.key);
      problems.add({ where, unit: place.unit, key: def.key, message, hint }, [source.file, ...at].join('\0'));
      return undefined;
    };
    const wrong = (v: unknown): undefined => bad(`expected ${kinds[def.kind].expect(def)}, got ${describe(v)}`);
    const value = kinds[def.kind].normalise(raw, def, { ...check, dir: path.dirname(source.file), bad, wrong });
    config[def.key] = value === undefined ? clone(def.default) : value;
  }
  return { config, keys, failed };
}

/** Defaults that depend on other settings (the `derived` of keys.ts), applied when the key was not written. */
const derivations: Record<string, (config: Record<string, unknown>, manager: ManagerConfig, name: string) => unknown> =
  {
    Description: (c, m, name) => name,
    RestartSec: (c, m) => m.DefaultRestartSec,
    TimeoutStartSec: (c, m) => (c.Type === 'oneshot' ? Infinity : m.DefaultTimeoutStartSec),
    TimeoutStopSec: (c, m) => m.DefaultTimeoutStopSec,
    FailureAction: (c, m) => m.DefaultFailureAction,
    NotifyAccess: (c) => (c.Type === 'notify' || (c.WatchdogSec as number) > 0 ? 'main' : 'none'),
    StandardError: (c) => clone(c.StandardOutput),
    // The trigger keys (KeyDef.triggers): the service of the same name, an Accept=yes socket's template.
    Service: (c, m, name) => `${baseOf(name)}${c.Accept ? '@' : ''}.service`,
    Unit: (c, m, name) => `${baseOf(name)}.service`,
    FileDescriptorName: (c, m, name) => baseOf(name),
    TriggerLimitBurst: (c) => (c.Accept ? 200 : 20),
    Where: (c, m, name) => unescapePath(baseOf(name)),
    TimeoutSec: (c, m) => m.DefaultTimeoutStartSec,
    JobRunningTimeoutSec: (c, m) => m.DefaultTimeoutStartSec,
  };

const baseOf = (name: string) => name.slice(0, name.lastIndexOf('.'));

/** Keys whose value may be derived; exported for the test that keeps it in step with keys.ts. */
export const derivedKeys: readonly string[] = Object.keys(derivations);

function derive(unit: UnitSpec, defs: readonly KeyDef[], manager: ManagerConfig): void {
  const config = unit.config as unknown as Record<string, unknown>;
  for (const def of defs) {
    // Only where keys.ts documents it: two types may share a key name with a derived default in one only.
    const d = def.derived && derivations[def.key];
    if (d && def.derived && !(def.key in unit.keys)) config[def.key] = d(config, manager, unit.name);
  }
  // Ordered before what it triggers, as systemd orders a socket before its service and a timer before its unit.
  for (const def of defs) {
    const named = def.triggers && config[def.key];
    const before = config.Before as string[];
    if (typeof named === 'string' && !before.includes(named)) config.Before = [...before, named];
  }
  // As in systemd, StandardError=inherit means "wherever stdout goes", also when written out.
  if ((config.StandardError as OutputTarget | undefined)?.kind === 'inherit' && config.StandardOutput) {
    config.StandardError = clone(config.StandardOutput);
  }
}

/** What a unit type requires beyond each key's own check (specs/rules/), by type. */
const typeRules: Record<string, (unit: UnitSpec, failed: ReadonlySet<string>) => SpecProblem[]> = {
  path: pathRules,
  socket: socketRules,
  mount: mountRules,
  timer: timerRules,
};

/** systemd's service_verify(), with its messages; a rule is skipped when a key it reads was itself wrong. */
function serviceRules(unit: UnitSpec, failed: ReadonlySet<string>, problems: Problems): void {
  const c = unit.config as ServiceConfig;
  const at = (key: string): Where => unit.keys[key] ?? unit.where;
  const add = (key: string, message: string, hint: string, reads: string[]): void => {
    if (!reads.some((k) => failed.has(k))) problems.add({ where: at(key), unit: unit.name, key, message, hint });
  };
  const execs = ['Type', 'ExecStart', 'ExecStop', 'RemainAfterExit'];
  const write = 'add ExecStart = "/path/to/program args"';
  if (c.ExecStart.length === 0) {
    if (c.Type !== 'oneshot')
      add(
        'ExecStart',
        'Service has no ExecStart= setting, which is only allowed for Type=oneshot services',
        write,
        execs,
      );
    else if (c.ExecStop.length === 0) add('ExecStart', 'Service has no ExecStart= or ExecStop= setting', write, execs);
    else if (!c.RemainAfterExit) {
      add(
        'ExecStart',
        'Service has no ExecStart= setting and does not have RemainAfterExit=true',
        `${write}, or set RemainAfterExit = true`,
        execs,
      );
    }
  }
  if (c.ExecStart.length > 1 && c.Type !== 'oneshot') {
    add(
      'ExecStart',
      'Service has more than one ExecStart= command, which is only allowed for Type=oneshot services',
      'move the others to ExecStartPre= or ExecStartPost=, or set Type = "oneshot"',
      execs,
    );
  }
  if (c.Type === 'oneshot' && (c.Restart === 'always' || c.Restart === 'on-success')) {
    add(
      'Restart',
      `Restart=${c.Restart} is not allowed for Type=oneshot services`,
      'use Restart = "on-failure", or another Type',
      ['Type', 'Restart'],
    );
  }
  if (c.NotifyAccess === 'none' && (c.Type === 'notify' || c.WatchdogSec > 0)) {
    const why = c.Type === 'notify' ? 'Type=notify' : 'WatchdogSec=';
    add(
      'NotifyAccess',
      `NotifyAccess=none ignores every sd_notify message, which ${why} needs`,
      'set NotifyAccess = "main", or leave it out',
      ['Type', 'WatchdogSec', 'NotifyAccess'],
    );
  }
  if (c.NotifyFd > 0 && c.NotifyFd < 3) {
    add('NotifyFd', `NotifyFd=${c.NotifyFd} would replace the service's ${c.NotifyFd === 1 ? 'stdout' : 'stderr'}`, 'use 3 or more (s6 services usually say which), or 0 for none', ['NotifyFd']);
  } else if (c.NotifyFd > 0 && c.Type !== 'notify') {
    add('NotifyFd', `NotifyFd= is a readiness protocol, which only Type=notify waits for (Type=${c.Type})`, 'set Type = "notify", or leave NotifyFd out', ['Type', 'NotifyFd']);
  }
}

/** Every Exec program without the `-` prefix must exist and be executable. */
function programs(
  unit: UnitSpec,
  defs: readonly KeyDef[],
  env: Record<string, string | undefined>,
  problems: Problems,
): void {
  const config = unit.config as unknown as Record<string, unknown>;
  const searchPath = (config.Environment as Record<string, string> | undefined)?.PATH || env.PATH || defaultPath;
  for (const def of defs) {
    if (def.kind !== 'commands') continue;
    const commands = config[def.key] as Command[];
    commands.forEach((cmd, i) => {
      if (cmd.ignoreFailure) return;
      const p = programProblem(cmd.path, searchPath);
      if (!p) return;
      const which = commands.length > 1 ? `command ${i + 1}: ` : '';
      problems.add({
        where: unit.keys[def.key] ?? unit.where,
        unit: unit.name,
        key: def.key,
        message: `${which}${p.message}`,
        hint: p.hint,
      });
    });
  }
}

/** Every dependency names a defined unit. */
function references(units: Record<string, UnitSpec>, unitKeys: Record<string, KeyDef[]>, problems: Problems): void {
  const names = Object.keys(units);
  for (const unit of Object.values(units)) {
    const config = unit.config as unknown as Record<string, string | string[]>;
    // The Before= the loader derives from a trigger key is reported at that key, once.
    const triggered = new Set(unitKeys[unit.type].filter((d) => d.triggers).map((d) => config[d.key]));
    for (const def of unitKeys[unit.type]) {
      if (def.kind !== 'units' && !def.triggers) continue;
      for (const name of [config[def.key]].flat()) {
        if (units[name] || (def.key === 'Before' && triggered.has(name))) continue;
        const close = suggest(name, names);
        problems.add({
          where: unit.keys[def.key] ?? unit.where,
          unit: unit.name,
          key: def.key,
          message: `${def.key}= names ${name}, which is not defined`,
          hint: close
            ? `did you mean "${close}"?`
            : `define [${name.slice(name.lastIndexOf('.') + 1)}.${name.slice(0, name.lastIndexOf('.'))}] or remove it`,
        });
      }
    }
  }
}

/** Refuses ordering cycles (After=, and Before= made symmetric) and requirement cycles (Requires=, BindsTo=). */
function cycles(units: Record<string, UnitSpec>, problems: Problems): void {
  const ordering: Edge[] = [];
  const requirement: Edge[] = [];
  for (const u of Object.values(units)) {
    const c = u.config;
    const edges = (list: Edge[], key: keyof typeof c, reverse: boolean): void => {
      for (const named of c[key] as string[]) {
        if (!units[named]) continue; // reported by references()
        list.push(
          reverse
            ? { from: named, to: u.name, unit: u.name, key, named }
            : { from: u.name, to: named, unit: u.name, key, named },
        );
      }
    };
    edges(ordering, 'After', false);
    edges(ordering, 'Before', true);
    edges(requirement, 'Requires', false);
    edges(requirement, 'BindsTo', false);
    edges(requirement, 'RequiredBy', true);
  }
  const report = (list: Edge[], what: string, meaning: string, advice: string): void => {
    for (const cycle of findCycles(list)) {
      const first = units[cycle[0].unit];
      problems.add({
        where: first.keys[cycle[0].key] ?? first.where,
        unit: first.name,
        key: cycle[0].key,
        message: `${what} cycle: ${cycleText(cycle)} (${meaning})`,
        hint: `${advice}: ${cycle.map((e) => `${e.unit} ${e.key}=${e.named}`).join(', ')}`,
      });
    }
  };
  report(ordering, 'ordering', 'each starts after the next', 'remove one of these orderings');
  report(requirement, 'requirement', 'each requires the next', 'make one of these a Wants=');
}

/**
 * A device unit the spec names (`BindsTo = "dev-sdb.device"`, After=, WantedBy=, ...) without a [device.NAME]
 * table: made with every default where it is first named, as systemd makes a device unit on demand.
 */
function namedDevices(units: Record<string, UnitSpec>, unitKeys: Record<string, KeyDef[]>, manager: ManagerConfig): void {
  const defs = unitKeys.device;
  for (const u of Object.values(units)) {
    const config = u.config as unknown as Record<string, unknown>;
    for (const def of unitKeys[u.type]) {
      if (def.kind !== 'units') continue;
      for (const name of config[def.key] as string[]) {
        if (!name.endsWith('.device') || units[name]) continue;
        const defaults = Object.fromEntries(defs.map((d) => [d.key, clone(d.default)]));
        units[name] = { name, type: 'device', config: defaults as unknown as UnitSpec['config'], keys: {}, where: u.keys[def.key] ?? u.where };
        derive(units[name], defs, manager);
      }
    }
  }
}

/**
 * default.target, wanting every unit except templates (`name@.service`), devices (a start of one waits for it to
 * appear), and those only named by OnFailure=, OnSuccess=, a trigger (a socket's Service=, a timer's Unit=: the
 * trigger starts them) or a device (its Wants=, Requires=, BindsTo=, and a WantedBy=/RequiredBy= naming devices
 * only: the device starts them when it appears).
 */
function defaultTarget(units: Record<string, UnitSpec>, unitKeys: Record<string, KeyDef[]>, where: Where): UnitSpec {
  const handlers = new Set<string>();
  const pulled = new Set<string>();
  const device = (name: string) => units[name]?.type === 'device';
  for (const u of Object.values(units)) {
    const c = u.config;
    for (const n of [...c.OnFailure, ...c.OnSuccess]) handlers.add(n);
    for (const def of unitKeys[u.type]) if (def.triggers) handlers.add((c as unknown as Record<string, string>)[def.key]);
    for (const n of [...c.Requires, ...c.Wants, ...c.BindsTo]) (device(u.name) ? handlers : pulled).add(n);
    const installed = [...c.WantedBy, ...c.RequiredBy];
    if (installed.some((n) => !device(n))) pulled.add(u.name);
    else if (installed.length > 0) handlers.add(u.name);
  }
  const config = Object.fromEntries(
    unitKeys.target.map((d) => [d.key, clone(d.default)]),
  ) as unknown as UnitSpec['config'];
  config.Description = 'Default target (synthesised: wants every unit)';
  config.Wants = Object.keys(units)
    .filter((n) => !device(n) && (!handlers.has(n) || pulled.has(n)) && !isTemplate(n))
    .sort();
  return { name: 'default.target', type: 'target', config, where, keys: {} };
}

/** `name@.service`: only its instances run. */
export const isTemplate = (name: string) => /@\.[^.]+$/.test(name);

/**
 * Units normalised by earlier loads, by their table and where it stands, for as long as the unit keys, the manager
 * settings and the set of unit names stay the same: reloading a big spec with a few changed units (sctl plan, then
 * apply) normalises those few. A unit is never changed once loaded, so the same object serves every load.
 */
let previous: { unitKeys: object; context: string; units: Map<string, UnitSpec> } | null = null;
const REUSE_MAX = 20_000;

/** A TOML value as JSON that tells its type: a date is not the string it prints as, and a big integer is kept. */
function typed(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Date) return { $date: value };
  return typeof raw === 'bigint' ? { $bigint: String(raw) } : value;
}

function reusable(unitKeys: object, manager: ManagerConfig, names: Set<string>): Map<string, UnitSpec> {
  const context = JSON.stringify([manager, [...names].sort()]);
  if (previous?.unitKeys !== unitKeys || previous.context !== context || previous.units.size > REUSE_MAX) {
    previous = { unitKeys, context, units: new Map() };
  }
  return previous.units;
}

/** Turns parsed, checked sources into the spec; every problem goes to `problems`. */
function assemble(
  sources: Source[],
  complete: boolean,
  opts: LoadOptions,
  problems: Problems,
): Omit<SystemSpec, 'files'> {
  const unitKeys = opts.unitKeys ?? defaultUnitKeys;
  const types = Object.keys(unitKeys);
  const flagged = sources.map((s) => schemaCheck(s, unitKeys, problems));

  // Merge: the manager's keys and the units of every file; a name defined twice is an error.
  const managerTable: Record<string, unknown> = {};
  const managerFrom: Record<string, Source> = {};
  const raw = new Map<string, RawUnit>();
  for (const source of sources) {
    const m = source.data.manager;
    if (m !== undefined && !isTable(m)) {
      problems.add(
        {
          where: { file: source.file, line: source.lines.at(['manager']) },
          message: `expected a [manager] table, got ${describe(m)}`,
        },
        [source.file, 'manager'].join('\0'),
      );
    } else if (m) {
      for (const [key, value] of Object.entries(m)) {
        const first = managerFrom[key];
        if (first) {
          problems.add({
            where: { file: source.file, line: source.lines.at(['manager', key]) },
            key,
            message: `[manager] ${key} is set twice: here and at ${first.file}:${first.lines.at(['manager', key])}`,
            hint: 'keep one',
          });
          continue;
        }
        managerTable[key] = value;
        managerFrom[key] = source;
      }
    }
    for (const type of types) {
      const tables = source.data[type];
      if (tables === undefined) continue;
      const typeAt = { file: source.file, line: source.lines.at([type]) };
      if (!isTable(tables)) {
        problems.add(
          { where: typeAt, message: `expected [${type}.NAME] tables, got ${describe(tables)}` },
          [source.file, type].join('\0'),
        );
        continue;
      }
      for (const [base, table] of Object.entries(tables)) {
        const name = `${base}.${type}`;
        const where = { file: source.file, line: source.lines.at([type, base]) };
        const owner = [source.file, type, base].join('\0');
        if (!isTable(table)) {
          problems.add(
            {
              where,
              unit: name,
              message: `expected a table [${type}.${base}], got ${describe(table)}`,
              hint: `write [${type}.${base}] and its keys below it`,
            },
            owner,
          );
          continue;
        }
        if (!/^[A-Za-z0-9:_.\\@-]+$/.test(base) || name.length > 255) {
          problems.add(
            {
              where,
              unit: name,
              message: `${JSON.stringify(base)} is not a valid unit name`,
              hint: 'use letters, digits and : _ . - @ \\',
            },
            owner,
          );
          continue;
        }
        const first = raw.get(name);
        if (first) {
          problems.add({
            where,
            unit: name,
            message: `${name} is defined twice: here and at ${first.source.file}:${first.source.lines.at([type, base])}`,
            hint: 'rename one of them, or remove one',
          });
          continue;
        }
        raw.set(name, { name, type, base, table, source });
      }
    }
  }

  if (opts.main) {
    const defined = raw.get('main.service');
    if (defined) {
      problems.add({
        where: { file: defined.source.file, line: defined.source.lines.at(['service', 'main']) },
        unit: 'main.service',
        message: 'main.service is defined here and by the main command after "--"',
        hint: 'rename this unit: main.service is the main command',
      });
    } else raw.set('main.service', mainUnit(opts.main, [...raw.keys()].sort()));
  }

  // For hints only; default.target counts because the loader synthesises it when it is missing.
  const names = new Set([...raw.keys(), ...(unitKeys.target ? ['default.target'] : [])]);
  const check = { types, units: names };
  const managerPlace = {
    locate: (key: string) => ({ source: managerFrom[key] ?? sources[0], path: ['manager', key] }),
  };
  const manager = normaliseTable(managerTable, managerKeys, managerPlace, check, problems)
    .config as unknown as ManagerConfig;

  const units: Record<string, UnitSpec> = {};
  const reuse = reusable(unitKeys, manager, names);
  for (const r of raw.values()) {
    const defs = unitKeys[r.type];
    // What the unit's normalisation reads, besides the manager and the unit names: its table and where it stands.
    const id = JSON.stringify([r.source.file, r.type, r.base, r.table, Object.keys(r.table).map((k) => r.source.lines.at([r.type, r.base, k])), r.source.lines.at([r.type, r.base])], typed);
    const known = reuse.get(id);
    if (known) {
      units[r.name] = known;
      continue;
    }
    const before = problems.list.length;
    const place = { locate: (key: string) => ({ source: r.source, path: [r.type, r.base, key] }), unit: r.name };
    const { config, keys, failed } = normaliseTable(r.table, defs, place, check, problems);
    const unit: UnitSpec = {
      name: r.name,
      type: r.type,
      config: config as unknown as UnitSpec['config'],
      keys,
      where: { file: r.source.file, line: r.source.lines.at([r.type, r.base]) },
    };
    derive(unit, defs, manager);
    if (r.type === 'service') serviceRules(unit, failed, problems);
    for (const p of typeRules[r.type]?.(unit, failed) ?? []) problems.add(p);
    units[r.name] = unit;
    if (problems.list.length === before) reuse.set(id, unit);
  }

  if (unitKeys.device) namedDevices(units, unitKeys, manager);
  if (manager.DefaultTarget === 'default.target' && !units['default.target'] && unitKeys.target) {
    units['default.target'] = defaultTarget(units, unitKeys, { file: sources[0]?.file ?? '', line: 1 });
  }
  if (complete) {
    references(units, unitKeys, problems);
    if (!units[manager.DefaultTarget]) {
      const close = suggest(manager.DefaultTarget, Object.keys(units));
      const { source, path: at } = managerPlace.locate('DefaultTarget');
      problems.add({
        where: { file: source.file, line: source.lines.at(at) },
        key: 'DefaultTarget',
        message: `DefaultTarget= names ${manager.DefaultTarget}, which is not defined`,
        hint: close ? `did you mean "${close}"?` : `define [target.${manager.DefaultTarget.replace(/\.target$/, '')}]`,
      });
    }
  }
  cycles(units, problems);
  if (opts.checkExecutables !== false) {
    // Processes get DefaultEnvironment= over the manager's own variables: its PATH is where they are looked up.
    const env = { ...(opts.env ?? process.env), ...manager.DefaultEnvironment };
    for (const u of Object.values(units)) programs(u, unitKeys[u.type], env, problems);
  }

  // A schema complaint our own checks did not explain still counts (the schema and the normalisers disagree).
  flagged.forEach((byOwner, i) => {
    for (const [owner, { error, at }] of byOwner) {
      if (problems.covers(owner)) continue;
      const source = sources[i];
      const unit = types.includes(at[0]) && at[1] !== undefined ? `${at[1]}.${at[0]}` : undefined;
      const key = at[0] === 'manager' ? at[1] : unit ? at[2] : at[0];
      problems.add({
        where: { file: source.file, line: source.lines.at(at) },
        unit,
        key,
        message: `${error.instancePath || '/'} ${error.message}`,
      });
    }
  });
  return { manager, units };
}

async function load(file: string, text: string | undefined, opts: LoadOptions): Promise<SystemSpec> {
  const problems = new Problems();
  const state = { sources: [] as Source[], seen: new Set<string>(), complete: true };
  read(file, text, undefined, [], state, problems);
  const files = state.sources.map((s) => s.file);
  const spec = state.sources.length > 0 ? assemble(state.sources, state.complete, opts, problems) : undefined;
  if (problems.list.length > 0 || !spec) {
    const order = (p: SpecProblem): number => {
      const i = files.indexOf(p.where.file);
      return i < 0 ? -1 : i;
    };
    throw new SpecError([...problems.list].sort((a, b) => order(a) - order(b) || a.where.line - b.where.line));
  }
  return { ...spec, files };
}

/** Reads the spec at `file` and everything it includes. Throws SpecError with every problem found. */
export function loadSpec(file: string, opts: LoadOptions = {}): Promise<SystemSpec> {
  return load(file, undefined, opts);
}

/** Like loadSpec, with the main file's text given; includes are read relative to `file`'s directory. */
export function parseSpec(text: string, file: string, opts: LoadOptions = {}): Promise<SystemSpec> {
  return load(file, text, opts);
}

/** The unit whose table holds `line` (1-based), found by the nearest header above it: `[service.web]` → web.service. */
function tableAround(text: string, line: number): string | undefined {
  const lines = text.split('\n');
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    const m = /^\s*\[\s*([A-Za-z]+)\.("[^"]+"|[^.\]\s]+)/.exec(lines[i]);
    if (m) return m[1] === 'manager' ? undefined : `${m[2].replace(/^"|"$/g, '')}.${m[1]}`;
    if (/^\s*\[/.test(lines[i])) return undefined;
  }
  return undefined;
}
