// What each KeyKind (specs/keys.ts) means: its JSON Schema, how a raw TOML value normalises (or what is wrong with
// it), and how a normalised default is spelled in TOML for docs and the schema.
import { constants } from 'node:os';
import path from 'node:path';
import { bytesPattern, formatBytes, parseBytes } from './bytes.js';
import { CalendarError, format as formatCalendar, parse as parseCalendar } from './calendar.js';
import { CommandError, expectCommands, splitCommand, toCommands } from './command.js';
import { DurationError, durationPattern, formatDuration, parseDuration } from './duration.js';
import type { KeyDef, KeyKind } from './keys.js';
import { expectListen, ListenError, parseListen } from './listen.js';
import { LimitError, parseLimit, type LimitKey } from '../reconciler/cgroup-limits.js';
import { DELEGATE_CONTROLLERS, DelegateError, parseDelegate } from '../reconciler/delegate.js';
import { suggest } from './suggest.js';
import { localZone } from './zone.js';
import type { Condition, ExitStatusSet, OutputTarget } from './types.js';

/** Reports one problem with a value. Returns undefined so a normaliser can `return bad(...)`. */
export type Bad = (message: string, hint?: string) => undefined;

/** What a normaliser gets besides the value. */
export interface Check {
  bad: Bad;
  /** Reports "expected <the kind's expect>, got <raw>". */
  wrong(raw: unknown): undefined;
  /** Unit type names, i.e. the suffixes of unit names. */
  types: readonly string[];
  /** Every unit name defined in the spec, for hints. */
  units: ReadonlySet<string>;
  /** The directory of the file the value is written in. */
  dir: string;
}

export interface Kind {
  /** The type column of docs/spec.md. */
  label(def: KeyDef): string;
  /** Completes "expected ..." in messages. */
  expect(def: KeyDef): string;
  schema(def: KeyDef, types: readonly string[]): Record<string, unknown>;
  /** Raw TOML value → normalised value, or undefined after reporting through `check`. */
  normalise(raw: unknown, def: KeyDef, check: Check): unknown;
  /** A normalised value → its TOML spelling; undefined when there is nothing worth showing. */
  toml(value: unknown): unknown;
}

/** A raw TOML value as a message shows it. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v} (out of range)`;
  if (v instanceof Date) return 'a date';
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'a table';
  return String(v);
}

export const isTable = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

const quoted = (xs: readonly string[]): string => xs.map((x) => JSON.stringify(x)).join(', ');
const strings = { type: 'array', items: { type: 'string' } };
const stringOrStrings = { anyOf: [{ type: 'string' }, strings] };

/** A string or an array of strings → the strings. */
function listOf(raw: unknown, check: Check): string[] | undefined {
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw;
  return check.wrong(raw);
}

/** Checks every item (reporting each bad one); the whole list fails if any item did. */
function every<T>(
  items: readonly string[] | undefined,
  each: (item: string, bad: Bad) => T | undefined,
  bad: Bad,
): T[] | undefined {
  if (!items) return undefined;
  let ok = true;
  const fail: Bad = (m, h) => {
    ok = false;
    return bad(m, h);
  };
  const out: T[] = [];
  for (const item of items) {
    const v = each(item, fail);
    if (v !== undefined) out.push(v);
  }
  return ok ? out : undefined;
}

/** A string or an array of strings, each through `parse`; what it throws as `Err` is reported for that item. */
function eachParsed<T>(raw: unknown, check: Check, parse: (text: string) => T, Err: new (...args: never[]) => Error, hint?: string): T[] | undefined {
  return every(
    listOf(raw, check),
    (x, bad) => {
      try {
        return parse(x);
      } catch (e) {
        if (!(e instanceof Err)) throw e;
        return bad(e.message, hint);
      }
    },
    check.bad,
  );
}

const unitChars = /^[A-Za-z0-9:_.\\@-]+$/;
/** The NAME of `[service.NAME]`. */
export const unitBasePattern = unitChars.source;
export const unitNamePattern = (types: readonly string[]): string =>
  `${unitChars.source.slice(0, -1)}\\.(?:${types.join('|')})$`;

/** Checks the spelling of one unit name (that the unit exists is checked over the whole spec, later). */
function unitName(name: string, check: Check, bad: Bad): string | undefined {
  if (!unitChars.test(name) || name.length > 255) {
    return bad(`${JSON.stringify(name)} is not a valid unit name`, 'use letters, digits and : _ . - @ \\');
  }
  const dot = name.lastIndexOf('.');
  if (dot > 0 && check.types.includes(name.slice(dot + 1))) return name;
  const defined = check.types.map((t) => `${name}.${t}`).find((n) => check.units.has(n));
  const write = `write ${defined ?? `${name}.service`}`;
  if (dot < 0) return bad(`${JSON.stringify(name)} is not a full unit name`, write);
  const close = suggest(name, check.units);
  return bad(
    `${JSON.stringify(name)} does not end in a unit type (${check.types.map((t) => `.${t}`).join(', ')})`,
    close ? `did you mean "${close}"?` : write,
  );
}

const signalNames = Object.keys(constants.signals);
const signalByNumber = new Map(Object.entries(constants.signals).map(([name, n]) => [n as number, name]));

/** "TERM" or "SIGTERM" → "SIGTERM". */
function signalName(text: string, bad: Bad): string | undefined {
  const name = text.startsWith('SIG') ? text : `SIG${text}`;
  if (name in constants.signals) return name;
  const close = suggest(name, signalNames);
  return bad(`unknown signal ${JSON.stringify(text)}`, close ? `did you mean "${close}"?` : undefined);
}

const timeSpan = 'a time span such as "5s", "100ms", "1min 30s" or "infinity", or a number of seconds';
const durationSchema = {
  anyOf: [
    { type: 'string', pattern: durationPattern },
    { type: 'number', minimum: 0 },
  ],
};

function duration(raw: unknown, check: Check): number | undefined {
  if (typeof raw !== 'string' && typeof raw !== 'number') return check.wrong(raw);
  try {
    return parseDuration(raw);
  } catch (e) {
    if (!(e instanceof DurationError)) throw e;
    return check.bad(
      `${e.message}: expected ${timeSpan}`,
      'units are us, ms, s, min, h, d, w, M, y, as in "1h 30min"; a bare number is seconds',
    );
  }
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envNameHint = 'names are letters, digits and _, not starting with a digit';

/** "NAME=VALUE" → [NAME, VALUE]. */
function assignment(text: string, bad: Bad): [string, string] | undefined {
  const eq = text.indexOf('=');
  if (eq < 0 || !envName.test(text.slice(0, eq)))
    return bad(`${JSON.stringify(text)} is not a "NAME=VALUE" assignment`, envNameHint);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

function absolute(path: string, bad: Bad): string | undefined {
  return path.startsWith('/')
    ? path
    : bad(`${JSON.stringify(path)} is not an absolute path`, 'write a path starting with "/"');
}

/** A path below the root its key names (RuntimeDirectory=): relative, never above it, simplified as systemd does. */
function relative(text: string, bad: Bad): string | undefined {
  const shown = JSON.stringify(text);
  if (text.startsWith('/'))
    return bad(`${shown} is an absolute path`, `write it relative to the key's root: RuntimeDirectory = "app" makes /run/app`);
  const parts = text.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return bad(`${shown} goes up with ".."`, 'write a path that stays below the root');
  if (!parts.length) return bad(`${shown} names no directory below the root`, 'write a name such as "app"');
  if (/\s/.test(text)) return bad(`${shown} holds whitespace`, 'one directory per string: write an array, ["a", "b"]');
  if (text.includes(':'))
    return bad(`${shown}: systemd's SOURCE:LINK form (a symlink to the directory) is not supported`, 'write the directory alone');
  return parts.join('/');
}

function condition(
  text: string,
  value: (text: string, bad: Bad) => string | undefined,
  bad: Bad,
): Condition | undefined {
  if (text.startsWith('|'))
    return bad(
      `the "|" (trigger) prefix of ${JSON.stringify(text)} is not supported`,
      'every condition must hold; drop the "|"',
    );
  const negate = text.startsWith('!');
  const v = value(negate ? text.slice(1) : text, bad);
  return v === undefined ? undefined : { value: v, negate };
}

const outputWords = ['journal', 'inherit', 'null'];
const outputExpect = '"journal", "inherit", "null", "file:PATH", "append:PATH" or "truncate:PATH"';
const outputFile = /^(file|append|truncate):(.*)$/s;

function output(raw: unknown, check: Check): OutputTarget | undefined {
  if (typeof raw !== 'string') return check.wrong(raw);
  if (outputWords.includes(raw)) return { kind: raw as 'journal' | 'inherit' | 'null' };
  const file = outputFile.exec(raw);
  if (file) {
    const path = absolute(file[2], check.bad);
    return path === undefined ? undefined : { kind: file[1] as 'file' | 'append' | 'truncate', path };
  }
  const close = suggest(raw, outputWords);
  return check.bad(
    `expected ${outputExpect}, got ${describe(raw)}`,
    close ? `did you mean "${close}"?` : 'kmsg, tty, socket and journal+console are not supported',
  );
}

function exitStatus(raw: unknown, check: Check): ExitStatusSet | undefined {
  const items = typeof raw === 'string' ? raw.split(/\s+/).filter(Boolean) : raw;
  if (!Array.isArray(items) || !items.every((x) => typeof x === 'string' || typeof x === 'number'))
    return check.wrong(raw);
  const set: ExitStatusSet = { codes: [], signals: [] };
  const ok = every(
    items.map(String),
    (item, bad) => {
      if (/^-?[\d.]+$/.test(item)) {
        const code = Number(item);
        if (!Number.isInteger(code) || code < 0 || code > 255)
          return bad(`exit status ${item} is out of range`, 'exit codes are 0-255');
        if (!set.codes.includes(code)) set.codes.push(code);
        return code;
      }
      const signal = signalName(item, bad);
      if (signal !== undefined && !set.signals.includes(signal)) set.signals.push(signal);
      return signal;
    },
    check.bad,
  );
  return ok && set;
}

function environment(raw: unknown, check: Check): Record<string, string> | undefined {
  const env: Record<string, string> = {};
  if (isTable(raw)) {
    const ok = every(
      Object.keys(raw),
      (name, bad) => {
        const v = raw[name];
        if (!envName.test(name)) return bad(`${JSON.stringify(name)} is not a variable name`, envNameHint);
        if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isInteger(v))) {
          return bad(`variable ${name}: expected a string, got ${describe(v)}`);
        }
        return (env[name] = String(v));
      },
      check.bad,
    );
    return ok && env;
  }
  let words: string[];
  if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) words = raw;
  else if (typeof raw !== 'string') return check.wrong(raw);
  else {
    try {
      words = splitCommand(raw);
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      return check.bad(e.message, e.hint);
    }
  }
  const ok = every(
    words,
    (word, bad) => {
      const kv = assignment(word, bad);
      return kv && (env[kv[0]] = kv[1]);
    },
    check.bad,
  );
  return ok && env;
}

const unset = (): undefined => undefined;
const asIs = (v: unknown): unknown => v;
const conditionsToml = (v: unknown): string[] => (v as Condition[]).map((c) => `${c.negate ? '!' : ''}${c.value}`);

export const kinds: Record<KeyKind, Kind> = {
  string: {
    label: () => 'string',
    expect: () => 'a string',
    schema: () => ({ type: 'string' }),
    normalise: (raw, def, check) => (typeof raw === 'string' ? raw : check.wrong(raw)),
    toml: (v) => (v === '' ? undefined : v),
  },
  name: {
    label: () => 'name',
    expect: () => 'a user or group name',
    schema: () => ({ type: 'string', pattern: '^[^\\s:/]+$' }),
    normalise: (raw, def, check) => {
      if (typeof raw === 'number') return check.bad(`expected a name, got ${raw}`, `write "${raw}" (a string)`);
      if (typeof raw !== 'string') return check.wrong(raw);
      return /^[^\s:/]+$/.test(raw) ? raw : check.bad(`${JSON.stringify(raw)} is not a user or group name`);
    },
    toml: unset,
  },
  path: {
    label: () => 'absolute path',
    expect: () => 'an absolute path',
    schema: () => ({ type: 'string', pattern: '^/' }),
    normalise: (raw, def, check) => (typeof raw === 'string' ? absolute(raw, check.bad) : check.wrong(raw)),
    toml: unset,
  },
  directory: {
    label: () => 'path',
    expect: () => 'a directory path',
    schema: () => ({ type: 'string', minLength: 1 }),
    normalise: (raw, def, check) => {
      if (typeof raw !== 'string' || raw === '') return check.wrong(raw);
      // "~" is User='s home, resolved at spawn time; a relative path is relative to the spec file (systemd refuses it).
      return /^(\/|~(\/|$))/.test(raw) ? raw : path.resolve(check.dir, raw);
    },
    toml: unset,
  },
  unit: {
    label: () => 'unit name',
    expect: () => 'a full unit name such as "multi-user.target"',
    schema: (def, types) => ({ type: 'string', pattern: unitNamePattern(types) }),
    normalise: (raw, def, check) => (typeof raw === 'string' ? unitName(raw, check, check.bad) : check.wrong(raw)),
    toml: asIs,
  },
  units: {
    label: () => 'unit names',
    expect: () => 'a unit name or an array of unit names, such as ["db.service"]',
    schema: (def, types) => {
      const one = { type: 'string', pattern: unitNamePattern(types) };
      return { anyOf: [one, { type: 'array', items: one }] };
    },
    normalise: (raw, def, check) => {
      const names = every(listOf(raw, check), (n, bad) => unitName(n, check, bad), check.bad);
      return names && [...new Set(names)];
    },
    toml: asIs,
  },
  pathConditions: {
    label: () => 'conditions',
    expect: () => 'an absolute path (prefix "!" to negate) or an array of those',
    schema: () => stringOrStrings,
    normalise: (raw, def, check) => every(listOf(raw, check), (x, bad) => condition(x, absolute, bad), check.bad),
    toml: conditionsToml,
  },
  envConditions: {
    label: () => 'conditions',
    expect: () => '"NAME" or "NAME=VALUE" (prefix "!" to negate) or an array of those',
    schema: () => stringOrStrings,
    normalise: (raw, def, check) => {
      const value = (text: string, bad: Bad): string | undefined =>
        envName.test(text.split('=')[0])
          ? text
          : bad(`${JSON.stringify(text)} is neither "NAME" nor "NAME=VALUE"`, envNameHint);
      return every(listOf(raw, check), (x, bad) => condition(x, value, bad), check.bad);
    },
    toml: conditionsToml,
  },
  enum: {
    label: (def) => (def.values ?? []).map((v) => `\`${v}\``).join(', '),
    expect: (def) => `one of ${quoted(def.values ?? [])}`,
    schema: (def) => ({ type: 'string', enum: def.values }),
    normalise: (raw, def, check) => {
      const values = def.values ?? [];
      if (typeof raw === 'string' && values.includes(raw)) return raw;
      const close = typeof raw === 'string' ? suggest(raw, values) : undefined;
      return check.bad(
        `expected one of ${quoted(values)}, got ${describe(raw)}`,
        close ? `did you mean "${close}"?` : undefined,
      );
    },
    toml: asIs,
  },
  commands: {
    label: () => 'commands',
    expect: () => expectCommands,
    schema: () => ({ anyOf: [{ type: 'string' }, { type: 'array', items: { anyOf: [{ type: 'string' }, strings] } }] }),
    normalise: (raw, def, check) => {
      try {
        return toCommands(raw);
      } catch (e) {
        if (!(e instanceof CommandError)) throw e;
        return e.message === expectCommands ? check.wrong(raw) : check.bad(e.message, e.hint);
      }
    },
    toml: asIs,
  },
  duration: {
    label: () => 'time span',
    expect: () => timeSpan,
    schema: () => durationSchema,
    normalise: (raw, def, check) => duration(raw, check),
    toml: (v) => formatDuration(v as number),
  },
  durations: {
    label: () => 'time spans',
    expect: () => `${timeSpan}, or an array of those`,
    schema: () => ({ anyOf: [...durationSchema.anyOf, { type: 'array', items: durationSchema }] }),
    normalise: (raw, def, check) => {
      const spans = (Array.isArray(raw) ? raw : [raw]).map((x) => duration(x, check));
      return spans.every((ms) => ms !== undefined) ? spans : undefined;
    },
    toml: (v) => (v as number[]).map(formatDuration),
  },
  limit: {
    label: () => 'cgroup limit',
    expect: (def) => `a value of ${def.key}= in systemd's syntax (docs/cgroups.md)`,
    schema: () => ({ anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string' }] }),
    normalise: (raw, def, check) => {
      if (typeof raw !== 'string' && typeof raw !== 'number') return check.wrong(raw);
      try {
        return parseLimit(def.key as LimitKey, raw);
      } catch (e) {
        if (!(e instanceof LimitError)) throw e;
        return check.bad(e.message.slice(`${def.key}: `.length));
      }
    },
    toml: () => undefined,
  },
  delegate: {
    label: () => 'boolean or controllers',
    expect: () => `true, false, or controller names (${DELEGATE_CONTROLLERS.join(', ')})`,
    schema: () => ({ anyOf: [{ type: 'boolean' }, { type: 'string' }, { type: 'array', items: { type: 'string', enum: [...DELEGATE_CONTROLLERS] } }] }),
    normalise: (raw, def, check) => {
      try {
        return parseDelegate(raw);
      } catch (e) {
        if (!(e instanceof DelegateError)) throw e;
        return check.bad(e.message, e.hint);
      }
    },
    toml: (v) => v,
  },
  calendar: {
    label: () => 'calendar events',
    expect: () => 'a calendar expression such as "daily" or "Mon..Fri *-*-* 02:00", or an array of those',
    schema: () => stringOrStrings,
    normalise: (raw, def, check) =>
      eachParsed(raw, check, (x) => formatCalendar(parseCalendar(x, localZone())), CalendarError, 'see systemd.time(7); `sysmaster calendar EXPR` checks one'),
    toml: asIs,
  },
  timeout: {
    label: () => 'time span, 0 = infinity',
    expect: () => timeSpan,
    schema: () => durationSchema,
    normalise: (raw, def, check) => {
      const ms = duration(raw, check);
      return ms === 0 ? Infinity : ms;
    },
    toml: (v) => formatDuration(v as number),
  },
  mode: {
    label: () => 'octal mode',
    expect: () => 'an octal file mode as a string, such as "0755"',
    schema: () => ({ type: 'string', pattern: '^[0-7]{1,4}$' }),
    normalise: (raw, def, check) => {
      // A TOML number cannot say it was written in octal (0o755 and 493 are the same value).
      if (typeof raw === 'number') return check.bad(`expected an octal mode as a string, got ${raw}`, `write "${raw.toString(8).padStart(4, '0')}" for the mode ${raw}, or the octal digits you meant as a string`);
      return typeof raw === 'string' && /^[0-7]{1,4}$/.test(raw) ? parseInt(raw, 8) : check.wrong(raw);
    },
    toml: (v) => (v as number).toString(8).padStart(4, '0'),
  },
  listens: {
    label: () => 'listen addresses',
    expect: () => `${expectListen}, or an array of those`,
    schema: () => stringOrStrings,
    normalise: (raw, def, check) =>
      eachParsed(
        raw,
        check,
        (x) => {
          parseListen(x);
          return x.trim();
        },
        ListenError,
      ),
    toml: asIs,
  },
  count: {
    label: () => 'integer ≥ 0',
    expect: () => 'a whole number ≥ 0',
    schema: () => ({ type: 'integer', minimum: 0 }),
    normalise: (raw, def, check) =>
      typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? raw : check.wrong(raw),
    toml: asIs,
  },
  bytes: {
    label: () => 'size',
    expect: () => 'a size such as "8M", "512K" or "1G" (powers of 1024), or a number of bytes',
    schema: () => ({ anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: bytesPattern }] }),
    normalise: (raw, def, check) =>
      (typeof raw === 'string' || typeof raw === 'number' ? parseBytes(raw) : null) ?? check.wrong(raw),
    toml: (v) => formatBytes(v as number),
  },
  bool: {
    label: () => 'boolean',
    expect: () => 'true or false',
    schema: () => ({ type: 'boolean' }),
    normalise: (raw, def, check) => {
      if (typeof raw === 'boolean') return raw;
      const word = String(raw).toLowerCase();
      const yes = ['yes', 'true', 'on', '1'].includes(word);
      const no = ['no', 'false', 'off', '0'].includes(word);
      if (!yes && !no) return check.wrong(raw);
      return check.bad(`expected true or false, got ${describe(raw)}`, `write ${yes}, without quotes: a TOML boolean`);
    },
    toml: asIs,
  },
  exitStatus: {
    label: () => 'exit statuses',
    expect: () => 'exit codes (0-255) and signal names, as an array or a space-separated string',
    schema: () => ({
      anyOf: [
        { type: 'string' },
        { type: 'array', items: { anyOf: [{ type: 'integer', minimum: 0, maximum: 255 }, { type: 'string' }] } },
      ],
    }),
    normalise: (raw, def, check) => exitStatus(raw, check),
    toml: (v) => [...(v as ExitStatusSet).codes, ...(v as ExitStatusSet).signals],
  },
  signal: {
    label: () => 'signal',
    expect: () => 'a signal name ("SIGTERM" or "TERM") or number',
    schema: () => ({
      anyOf: [
        { type: 'string', enum: [...signalNames, ...signalNames.map((s) => s.slice(3))] },
        { type: 'integer', minimum: 1, maximum: 64 },
      ],
    }),
    normalise: (raw, def, check) => {
      if (typeof raw === 'number')
        return signalByNumber.get(raw) ?? check.bad(`${raw} is not a signal number`, 'write a name such as "SIGTERM"');
      return typeof raw === 'string' ? signalName(raw, check.bad) : check.wrong(raw);
    },
    toml: asIs,
  },
  environment: {
    label: () => 'environment',
    expect: () => 'a table of variables ({ PORT = "8080" }) or "NAME=VALUE" strings',
    schema: () => ({
      anyOf: [
        {
          type: 'object',
          propertyNames: { pattern: envName.source },
          additionalProperties: { type: ['string', 'integer', 'boolean'] },
        },
        { type: 'array', items: { type: 'string', pattern: `${envName.source.slice(0, -1)}=` } },
        { type: 'string' },
      ],
    }),
    normalise: (raw, def, check) => environment(raw, check),
    toml: asIs,
  },
  environmentFiles: {
    label: () => 'paths',
    expect: () => 'an absolute path (prefix "-" if it may be missing) or an array of those',
    schema: () => stringOrStrings,
    normalise: (raw, def, check) =>
      every(
        listOf(raw, check),
        (x, bad) => {
          const optional = x.startsWith('-');
          const path = absolute(optional ? x.slice(1) : x, bad);
          return path === undefined ? undefined : { path, optional };
        },
        check.bad,
      ),
    toml: (v) => (v as { path: string; optional: boolean }[]).map((f) => `${f.optional ? '-' : ''}${f.path}`),
  },
  paths: {
    label: () => 'absolute paths',
    expect: () => 'an absolute path or an array of absolute paths',
    schema: () => stringOrStrings,
    normalise: (raw, def, check) => every(listOf(raw, check), absolute, check.bad),
    toml: asIs,
  },
  relativePaths: {
    label: () => 'relative paths',
    expect: () => 'a relative path or an array of relative paths, such as "app"',
    schema: () => {
      const one = { type: 'string', pattern: '^(?!/)(?!(.*/)?\\.\\.(/|$))[^\\s:]+$' };
      return { anyOf: [one, { type: 'array', items: one }] };
    },
    normalise: (raw, def, check) => {
      const paths = every(listOf(raw, check), relative, check.bad);
      return paths && [...new Set(paths)];
    },
    toml: asIs,
  },
  output: {
    label: () => 'output target',
    expect: () => outputExpect,
    schema: () => ({ type: 'string', anyOf: [{ enum: outputWords }, { pattern: '^(file|append|truncate):/' }] }),
    normalise: (raw, def, check) => output(raw, check),
    toml: (v) => {
      const t = v as OutputTarget;
      return 'path' in t ? `${t.kind}:${t.path}` : t.kind;
    },
  },
};
