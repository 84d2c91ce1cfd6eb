// The udev rules evaluator: runs parsed rules (devmaster/rules.ts) on one event as systemd 252 does
// (src/udev/udev-rules.c udev_rules_apply_to_event and udev_rule_apply_token_to_event, src/udev/udev-event.c
// udev_event_apply_format, udev_event_spawn and udev_event_execute_rules, sd-device's property bookkeeping).
//
// compileRules() does once per rules load what udev does at load: each line's tokens are sorted by udev's token
// type (matches before assignments, parent matches together, PROGRAM before RESULT, OPTIONS string_escape before
// the keys it affects), match values become matchers (`|` alternatives, fnmatch globs, "" and "?*"), values become
// parsed formats, OWNER=/GROUP= names are resolved (udev's resolve_names=early). evaluate() then walks the lines for
// one event: only lines that can change something for this device run (udev's line mask), the first key that
// fails ends a line, GOTO jumps, `:=` makes a key final.
//
// What the event starts from is udev's: the event's properties (a device made from a sysfs path gets them in the
// order sd-device learns them, as `udevadm test` shows), the old database's tags (not its properties or links:
// udev's event device is sealed and reads no db, so rules carry values over with IMPORT{db}); on `remove` the whole
// old record, which udev reads into the removed device. Programs (PROGRAM, IMPORT{program}) run synchronously
// without a shell, with the device's properties as their whole environment and the event's time left as timeout.
import fs from 'node:fs';
import path from 'node:path';
import { resolveUser } from '../reconciler/users.js';
import { builtinTable, type Builtin } from './builtins/index.js';
import { deviceId, type DbRecord, type DeviceDb } from './db.js';
import { fnmatch, globBody } from './fnmatch.js';
import { deviceProperties } from './info.js';
import type { Outcome, RunItem } from './outcome.js';
import type { Op, Rule, Token } from './rules.js';
import { isSpace, LINE_SIZE, programDirs, runProgram, splitCommand, type ProgramResult } from './spawn.js';
import { Device } from './sysfs.js';
import { architecture, cmdlineValue, detectVirtualization, kernelCmdline } from './virt.js';

/** devmaster/run.ts splits RUN commands with it. */

// ---- token types, in udev 252's UdevRuleTokenType order: sorting a line by them is udev's sort_tokens()

const M_ACTION = 0, M_DEVPATH = 1, M_KERNEL = 2, M_DEVLINK = 3, M_NAME = 4, M_ENV = 5, M_CONST = 6, M_TAG = 7,
  M_SUBSYSTEM = 8, M_DRIVER = 9, M_ATTR = 10, M_SYSCTL = 11, P_KERNEL = 12, P_SUBSYSTEM = 13, P_DRIVER = 14,
  P_ATTR = 15, P_TAG = 16, M_TEST = 17, M_PROGRAM = 18, M_IMPORT_FILE = 19, M_IMPORT_PROGRAM = 20,
  M_IMPORT_BUILTIN = 21, M_IMPORT_DB = 22, M_IMPORT_CMDLINE = 23, M_IMPORT_PARENT = 24, M_RESULT = 25,
  A_ESCAPE_NONE = 26, A_ESCAPE_REPLACE = 27, A_DB_PERSIST = 28, A_WATCH = 29, A_LINK_PRIORITY = 30,
  A_LOG_LEVEL = 31, A_OWNER = 32, A_GROUP = 33, A_MODE = 34, A_OWNER_ID = 35, A_GROUP_ID = 36, A_MODE_ID = 37,
  A_TAG = 38, A_STATIC_NODE = 39, A_SECLABEL = 40, A_ENV = 41, A_NAME = 42, A_DEVLINK = 43, A_ATTR = 44,
  A_SYSCTL = 45, A_RUN_BUILTIN = 46, A_RUN_PROGRAM = 47;
const FIRST_ASSIGN = A_ESCAPE_NONE;

// udev's UdevRuleLineType bits: which lines can do something for a given device
const HAS_NAME = 1, HAS_DEVLINK = 2, HAS_STATIC_NODE = 4, HAS_GOTO = 8, UPDATE_SOMETHING = 32;

// udev's buffer sizes: a value that does not fit is refused, as udev refuses a truncated one
const NAME_SIZE = 512, PATH_SIZE = 1024;

/** udev-builtin.c's run_once builtins: their result is kept for the rest of the event; the others run each time. */
const RUN_ONCE = new Set(['blkid', 'path_id', 'usb_id']);

// ---- match values (rule_line_add_token, token_match_string)

type Matcher = (s: string) => boolean;

/** udev's match types: "subsystem"/"bus"/"class" for SUBSYSTEM, empty, plain or glob alternatives split at `|`. */
function matcher(key: string, value: string): Matcher {
  if (key === 'SUBSYSTEM' && (value === 'subsystem' || value === 'bus' || value === 'class'))
    return (s) => s === 'subsystem' || s === 'class' || s === 'bus';
  if (value === '') return (s) => s === '';
  const alts = value.split('|');
  const empty = alts.includes('');
  const words = alts.filter((a) => a !== '');
  // whether the value is a glob is decided on the whole value: then every alternative goes through fnmatch
  if (/[*?[]/.test(value)) {
    const re = new RegExp(`^(?:${words.map(globBody).join('|')})$`);
    return empty ? (s) => s === '' || re.test(s) : (s) => re.test(s);
  }
  if (words.length === 1 && !empty) {
    const w = words[0];
    return (s) => s === w;
  }
  const set = new Set(words);
  return empty ? (s) => s === '' || set.has(s) : (s) => set.has(s);
}

// ---- formats (udev_event_apply_format); the parser is udev's non-strict one: an unknown `$foo` stays literal

/** udev-event.c's substitution map, in its lookup order (`$devnode` is tried before `$devpath`, `$sysfs` before `$sys`). */
const SUBSTS: [string, string, string][] = [
  ['devnode', 'N', 'devnode'], ['tempnode', 'N', 'devnode'], ['attr', 's', 'attr'], ['sysfs', 's', 'attr'],
  ['env', 'E', 'env'], ['kernel', 'k', 'kernel'], ['number', 'n', 'number'], ['driver', 'd', 'driver'],
  ['devpath', 'p', 'devpath'], ['id', 'b', 'id'], ['major', 'M', 'major'], ['minor', 'm', 'minor'],
  ['result', 'c', 'result'], ['parent', 'P', 'parent'], ['name', 'D', 'name'], ['links', 'L', 'links'],
  ['root', 'r', 'root'], ['sys', 'S', 'sys'],
];

interface Subst {
  s: string;
  arg?: string;
  /** $result{N} / $result{N+}. */
  index?: number;
  plus?: boolean;
}

interface Format {
  /** The whole value when it has no substitution (the common case: nothing to do per event). */
  lit?: string;
  parts: (string | Subst)[];
  /** Where udev stops with "Invalid format string": the text so far is the value. */
  bad?: string;
}

/** A value's literal text and substitutions, parsed once at load. */
export function parseFormat(value: string): Format {
  const parts: (string | Subst)[] = [];
  let text = '';
  let bad: string | undefined;
  for (let i = 0; i < value.length; ) {
    const c = value[i];
    if (c !== '$' && c !== '%') {
      text += c;
      i++;
      continue;
    }
    if (value[i + 1] === c) {
      text += c;
      i += 2;
      continue;
    }
    const hit = c === '$' ? SUBSTS.find(([n]) => value.startsWith(n, i + 1)) : SUBSTS.find(([, f]) => value[i + 1] === f);
    if (!hit) {
      text += c;
      i++;
      continue;
    }
    let q = i + (c === '$' ? 1 + hit[0].length : 2);
    const sub: Subst = { s: hit[2] };
    if (value[q] === '{') {
      const end = value.indexOf('}', q + 1);
      if (end < 0 || end === q + 1 || end - q - 1 >= PATH_SIZE) {
        bad = `invalid substitution at char ${i + 1}`;
        break;
      }
      sub.arg = value.slice(q + 1, end);
      q = end + 1;
    }
    if ((sub.s === 'attr' || sub.s === 'env') && !sub.arg) {
      bad = `$${sub.s} needs {name} at char ${i + 1}`;
      break;
    }
    if (sub.s === 'result' && sub.arg !== undefined) {
      const m = /^(\d+)(\+?)$/.exec(sub.arg);
      if (!m) {
        bad = `$result{${sub.arg}} is not N or N+ at char ${i + 1}`;
        break;
      }
      sub.index = Number(m[1]);
      sub.plus = m[2] === '+';
    }
    if (text) parts.push(text);
    text = '';
    parts.push(sub);
    i = q;
  }
  if (text) parts.push(text);
  if (bad !== undefined) return { parts, bad };
  return parts.some((p) => typeof p !== 'string') ? { parts } : { lit: (parts[0] as string | undefined) ?? '', parts };
}

// ---- character replacement (shared/udev-util.c)

/** udev_replace_chars: keeps alphanumerics, `#+-.:=@_`, `allow`, `\x` escapes and non-ASCII; whitespace becomes ' ' when ' ' is allowed; the rest '_'. */
export function replaceChars(s: string, allow = ''): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const code = c.charCodeAt(0);
    const alnum = (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
    if (alnum || code > 127 || '#+-.:=@_'.includes(c) || allow.includes(c)) out += c;
    else if (c === '\\' && s[i + 1] === 'x') {
      out += '\\x';
      i++;
    } else if (isSpace(c) && allow.includes(' ')) out += ' ';
    else out += '_';
  }
  return out;
}

/** udev_replace_whitespace: leading and trailing whitespace dropped, each inner run becomes one '_'. */
const replaceWhitespace = (s: string) => s.trim().replace(/[ \t\n\v\f\r]+/g, '_');

/** ifname_valid_char: what udev_replace_ifname keeps in NAME= (naming scheme v252 replaces strictly). */
const replaceIfname = (s: string) => s.replace(/[\x00-\x20\x7f-\uffff:/%]/g, '_');

/** delete_trailing_chars(s, WHITESPACE). */
const trimEnd = (s: string) => s.replace(/[ \t\n\r]+$/, '');

/** Whether a C string of this text fits a udev buffer of `size` bytes (with its NUL). */
const fits = (s: string, size: number) => s.length * 3 < size || Buffer.byteLength(s) < size;

/**
 * get_property_from_string: `KEY=VALUE` with blanks around both stripped and one level of matching quotes removed;
 * undefined for a blank or comment line, null for a line that is not a property.
 */
function propertyLine(line: string): [string, string] | null | undefined {
  const s = line.replace(/^[ \t\n\r]+/, '');
  if (s === '' || s.startsWith('#')) return undefined;
  const eq = s.indexOf('=');
  if (eq < 0) return null;
  const key = s.slice(0, eq).trim();
  let val = s.slice(eq + 1).trim();
  if (!key || !val) return null;
  if (val[0] === '"' || val[0] === "'") {
    if (val.length === 1 || val[val.length - 1] !== val[0]) return null;
    val = val.slice(1, -1);
  }
  return [key, val];
}

// ---- compiled rules

/** A compiled key; one shape for all of them, so the evaluator's property reads stay fast. */
class Tok {
  /** The token as written, for logs: `KEY{attr}=="value"`. */
  readonly text: string;
  op: Op;
  value: string;
  readonly attr?: string;
  match?: Matcher = undefined;
  fmt?: Format = undefined;
  /** ATTR/ATTRS names: 0 plain, 1 with substitutions (nameFmt), 2 `[subsystem/sysname]attr`. */
  attrKind?: 0 | 1 | 2 = undefined;
  nameFmt?: Format = undefined;
  /** ATTR/ATTRS: strip trailing whitespace from the attribute before matching (the value does not end in one). */
  strip?: boolean = undefined;
  /** TEST{mode}, MODE, link_priority, log_level (-1 for reset), uid/gid (null: unknown name). */
  num?: number | null = undefined;
  /** OWNER=/GROUP= as written, for the outcome. */
  given?: string = undefined;
  builtin?: string = undefined;
  watch?: boolean = undefined;
  constructor(
    /** The token type: udev's order. */
    readonly k: number,
    t: Token,
  ) {
    this.text = tokenText(t);
    this.op = t.op;
    this.value = t.value;
    this.attr = t.attr;
  }
}

interface Line {
  file: string;
  line: number;
  type: number;
  toks: Tok[];
  target?: number;
}

export interface Compiled {
  lines: Line[];
  /** What udev logs while loading: unknown users and groups (the key is then ignored). */
  diagnostics: string[];
}

export type ResolveNames = 'early' | 'late' | 'never';

/** User and group names → ids, as get_user_creds()/get_group_creds() find them; undefined when unknown. */
export interface Resolver {
  user(name: string): number | undefined;
  group(name: string): number | undefined;
}

/** /etc/passwd and /etc/group, read once per name (reconciler/users.ts reads them). */
export function fileResolver(): Resolver {
  const users = new Map<string, number | undefined>();
  const groups = new Map<string, number | undefined>();
  const attempt = (f: () => number) => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  return {
    user: (n) => (users.has(n) ? users.get(n) : users.set(n, attempt(() => resolveUser(n).uid)).get(n)),
    group: (n) => (groups.has(n) ? groups.get(n) : groups.set(n, attempt(() => resolveUser('0', n).gid)).get(n)),
  };
}

const LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
const isId = (s: string) => /^\d+$/.test(s) && Number(s) < 0xffffffff && Number(s) !== 0xffff;
const hasSubst = (s: string) => s.includes('%') || s.includes('$');

function tokenText(t: Token): string {
  const attr = t.option !== undefined || t.attr === undefined || (t.key === 'RUN' && t.attr === 'program') ? '' : `{${t.attr}}`;
  return `${t.key}${attr}${t.op}"${t.value}"`;
}

/** One parsed token as udev's rule_line_add_token() makes it; null when udev drops it at load. */
function compileToken(t: Token, names: ResolveNames, resolver: Resolver, say: (msg: string) => void): Tok | null {
  const isMatch = t.op === '==' || t.op === '!=';
  const tok = (k: number, set: Partial<Tok> = {}) => Object.assign(new Tok(k, t), set);
  const m = (k: number): Tok => {
    // KEY=="?*" becomes KEY!="" and the reverse
    if (t.value === '?*') return tok(k, { op: t.op === '==' ? '!=' : '==', match: (s: string) => s === '' });
    return tok(k, { match: matcher(t.key, t.value) });
  };
  const f = (k: number): Tok => tok(k, { fmt: parseFormat(t.value) });
  switch (t.key) {
    case 'ACTION':
      return m(M_ACTION);
    case 'DEVPATH':
      return m(M_DEVPATH);
    case 'KERNEL':
      return m(M_KERNEL);
    case 'KERNELS':
      return m(P_KERNEL);
    case 'SUBSYSTEM':
      return m(M_SUBSYSTEM);
    case 'SUBSYSTEMS':
      return m(P_SUBSYSTEM);
    case 'DRIVER':
      return m(M_DRIVER);
    case 'DRIVERS':
      return m(P_DRIVER);
    case 'TAGS':
      return m(P_TAG);
    case 'RESULT':
      return m(M_RESULT);
    case 'CONST':
      return m(M_CONST);
    case 'SYMLINK':
      return isMatch ? m(M_DEVLINK) : f(A_DEVLINK);
    case 'NAME':
      return isMatch ? m(M_NAME) : f(A_NAME);
    case 'ENV':
      return isMatch ? m(M_ENV) : f(A_ENV);
    case 'TAG':
      return isMatch ? m(M_TAG) : f(A_TAG);
    case 'ATTR':
    case 'ATTRS': {
      if (!isMatch) return f(A_ATTR);
      const a = m(t.key === 'ATTR' ? M_ATTR : P_ATTR);
      const name = t.attr!;
      a.attrKind = name.startsWith('[') ? 2 : hasSubst(name) ? 1 : 0;
      if (a.attrKind === 1) a.nameFmt = parseFormat(name);
      // udev looks at the first alternative's end: "foo " asks to match the trailing blank
      const first = t.value.split('|').find((v) => v !== '') ?? '';
      a.strip = first !== '' && !/[ \t\n\v\f\r]$/.test(first);
      return a;
    }
    case 'SYSCTL': {
      const c = isMatch ? m(M_SYSCTL) : f(A_SYSCTL);
      c.nameFmt = parseFormat(t.attr!);
      return c;
    }
    case 'TEST':
      return Object.assign(f(M_TEST), { num: t.attr ? parseInt(t.attr, 8) : undefined });
    case 'PROGRAM':
      return f(M_PROGRAM);
    case 'IMPORT': {
      const kinds: Record<string, number> = {
        file: M_IMPORT_FILE, program: M_IMPORT_PROGRAM, builtin: M_IMPORT_BUILTIN, db: M_IMPORT_DB,
        cmdline: M_IMPORT_CMDLINE, parent: M_IMPORT_PARENT,
      };
      const c = f(kinds[t.attr!]);
      if (t.attr === 'builtin') c.builtin = t.value.trim().split(/\s+/)[0];
      return c;
    }
    case 'RUN': {
      const c = f(t.attr === 'builtin' ? A_RUN_BUILTIN : A_RUN_PROGRAM);
      if (t.attr === 'builtin') c.builtin = t.value.trim().split(/\s+/)[0];
      return c;
    }
    case 'SECLABEL':
      return f(A_SECLABEL);
    case 'OPTIONS': {
      const { name, value } = t.option!;
      switch (name) {
        case 'string_escape':
          return tok(value === 'none' ? A_ESCAPE_NONE : A_ESCAPE_REPLACE);
        case 'db_persist':
          return tok(A_DB_PERSIST);
        case 'watch':
        case 'nowatch':
          return tok(A_WATCH, { watch: name === 'watch' });
        case 'static_node':
          return tok(A_STATIC_NODE, { value: value! });
        case 'link_priority':
          return tok(A_LINK_PRIORITY, { num: Number.parseInt(value!.trim(), 10) });
        case 'log_level': {
          const n = value === 'reset' ? -1 : LOG_LEVELS.includes(value!) ? LOG_LEVELS.indexOf(value!) : Number(value);
          return tok(A_LOG_LEVEL, { num: n });
        }
      }
      return null;
    }
    case 'OWNER':
    case 'GROUP': {
      const user = t.key === 'OWNER';
      const byId = user ? A_OWNER_ID : A_GROUP_ID;
      if (isId(t.value)) return tok(byId, { num: Number(t.value), given: t.value });
      if (names === 'early' && !hasSubst(t.value)) {
        const id = user ? resolver.user(t.value) : resolver.group(t.value);
        if (id === undefined) say(`Unknown ${user ? 'user' : 'group'} '${t.value}', ignoring`);
        return tok(byId, { num: id ?? null, given: t.value });
      }
      if (names === 'never') {
        say(`${user ? 'User' : 'Group'} name resolution is disabled, ignoring ${t.key}="${t.value}"`);
        return null;
      }
      return f(user ? A_OWNER : A_GROUP);
    }
    case 'MODE':
      if (/^[0-7]+$/.test(t.value) && parseInt(t.value, 8) <= 0o7777) return tok(A_MODE_ID, { num: parseInt(t.value, 8) });
      return f(A_MODE);
  }
  return null;
}

/** udev's line type: which kinds of device a line can change something for. */
function lineType(toks: Tok[], hasGoto: boolean): number {
  let type = hasGoto ? HAS_GOTO : 0;
  for (const t of toks) {
    if (t.k === A_NAME) type |= HAS_NAME;
    else if (t.k === A_DEVLINK || (t.k >= A_OWNER && t.k <= A_MODE_ID)) type |= HAS_DEVLINK;
    else if (t.k === A_STATIC_NODE) type |= HAS_STATIC_NODE;
    else if (t.k >= FIRST_ASSIGN || t.k === M_PROGRAM || (t.k >= M_IMPORT_FILE && t.k <= M_IMPORT_PARENT)) type |= UPDATE_SOMETHING;
  }
  return type;
}

/**
 * Compiles a rules list (rulesfiles.ts loadRules(): GOTO targets index it) for evaluate(). `resolveNames` is udev's
 * --resolve-names: early (the default) resolves plain OWNER=/GROUP= names now, late at each event, never ignores them.
 */
export function compileRules(rules: readonly Rule[], resolveNames: ResolveNames = 'early', resolver: Resolver = fileResolver()): Compiled {
  const diagnostics: string[] = [];
  const lines = rules.map((r): Line => {
    const toks: Tok[] = [];
    for (const t of r.tokens) {
      const c = compileToken(t, resolveNames, resolver, (msg) => diagnostics.push(`${r.file}:${r.line} ${msg}`));
      if (c) toks.push(c);
    }
    // Array.prototype.sort is stable, as udev's selection sort keeps equal types in source order
    toks.sort((a, b) => a.k - b.k);
    const line: Line = { file: r.file, line: r.line, type: lineType(toks, r.target !== undefined), toks };
    if (r.target !== undefined) line.target = r.target;
    return line;
  });
  return { lines, diagnostics };
}

// ---- one event

/** The kernel's uevent actions, in sd-device's order. */
export const actions = ['add', 'remove', 'change', 'move', 'online', 'offline', 'bind', 'unbind'];

export interface EvaluateOptions {
  /**
   * The device database: the device's old record (IMPORT{db}, its tags carried over, USEC_INITIALIZED, everything
   * on remove) and its parents' (TAGS, IMPORT{parent}), as sd-device reads them. None: every device is new.
   */
  db?: DeviceDb;
  /** Where a program named without a path is looked for, in order (udev: /lib/udev). */
  programDirs?: readonly string[];
  /** The event's timeout in seconds (udev's event_timeout: 180); each program gets what is left of it. */
  timeout?: number;
  /** Builtins by name (default builtins/index.ts builtinTable); a name of rules.ts's list missing here is unsupported. */
  builtins?: Record<string, Builtin>;
  /** ATTR{}= and SYSCTL{}= write through this (default: the file itself); a dry run passes one that only tells. */
  write?: (file: string, value: string) => void;
  /** udevadm test's debug lines: what each applied key did, with file:line; programs' output. */
  log?: (msg: string) => void;
  /** CONST{arch}/CONST{virt} and the kernel command line; default: this machine's. */
  arch?: string;
  virt?: string;
  cmdline?: string;
  /** CLOCK_MONOTONIC µs for USEC_INITIALIZED of a device seen for the first time (default: now). */
  usecNow?: number;
  /** Resolves OWNER=/GROUP= names at event time (--resolve-names=late, names with substitutions); default /etc/passwd, /etc/group. */
  resolver?: Resolver;
}

// the machine's constants, found once per process as udev caches them
let machineArch: string | undefined;
let machineVirt: string | undefined;
let machineCmdline: string | undefined;
let machineInitrd: boolean | undefined;
const machine = () => (machineVirt ??= detectVirtualization());

/** A device of the parent walk with what the rules ask of it, read once per event. */
class Node {
  private sub?: string | null;
  private drv?: string | null;
  private tagSet?: Set<string>;
  /** The device's database record, once read (null: none). */
  record?: DbRecord | null;
  constructor(readonly dev: Device) {}
  get subsystem(): string {
    if (this.sub === undefined) this.sub = this.dev.subsystem ?? null;
    return this.sub ?? '';
  }
  get driver(): string {
    if (this.drv === undefined) this.drv = this.dev.driver ?? null;
    return this.drv ?? '';
  }
  attr(name: string): string | undefined {
    const v = this.dev.attr(name);
    // sd-device returns a C string: an attribute with a NUL ends there
    return v !== undefined && v.includes('\0') ? v.slice(0, v.indexOf('\0')) : v;
  }
  tags(db: DbRecord | undefined): Set<string> {
    return (this.tagSet ??= new Set(db?.currentTags ?? []));
  }
}

class Abort extends Error {}

/** The keys `:=` can make final for the rest of the event. */
type Final = 'owner' | 'group' | 'mode' | 'name' | 'devlink' | 'run' | 'watch';

/** One event through the rules. run() once; format() afterwards gives what udevadm test prints for RUN items. */
export class Event {
  private readonly props = new Map<string, string>();
  private readonly dbProps = new Map<string, string>();
  private readonly links = new Set<string>();
  private readonly allTags = new Set<string>();
  private readonly currentTags = new Set<string>();
  private linksOutdated = false;
  private tagsOutdated = false;
  private readonly nodes: (Node | null)[];
  private devParent?: Node;
  private programResult?: string;
  private esc: 'unset' | 'none' | 'replace' = 'unset';
  private readonly builtinRan = new Map<string, boolean>();
  private readonly runs = new Map<string, RunItem>();
  /** What the outcome gets as the keys run; the rest is read off the state at the end. */
  private readonly out: Pick<Outcome, 'warnings' | 'matched' | 'staticNodes'> & Partial<Outcome> = {
    warnings: [],
    matched: [],
    staticNodes: [],
  };
  private linkPriority = 0;
  private readonly final: Record<Final, boolean> = {
    owner: false, group: false, mode: false, name: false, devlink: false, run: false, watch: false,
  };
  private readonly birth = performance.now();
  private current?: Line;
  private resolver?: Resolver;
  /** The old database record (udev's dev_db_clone). */
  private readonly old?: DbRecord;

  constructor(
    private readonly rules: Compiled,
    readonly device: Device,
    readonly action: string,
    private readonly o: EvaluateOptions = {},
  ) {
    if (!actions.includes(action)) throw new Error(`unknown action '${action}': expected one of ${actions.join(', ')}`);
    this.nodes = [new Node(device)];
    this.old = o.db ? readRecord(o.db, device) : undefined;
    this.start();
  }

  /** sd-device's properties at the start (device_new_from_nulstr, or find_device_with_action for a sysfs path), then udev_event_execute_rules' set-up. */
  private start(): void {
    const d = this.device;
    const fromEvent = d.properties.has('DEVPATH'); // a uevent carries DEVPATH, the sysfs uevent file never does
    if (fromEvent) {
      const late: [string, string][] = [];
      for (const [k, v] of d.properties) {
        if (k === 'MAJOR' || k === 'MINOR') late.push([k, v]);
        else this.props.set(k, k === 'DEVNAME' ? d.devname! : k === 'ACTION' ? this.action : v);
      }
      for (const [k, v] of late) this.props.set(k, v);
      if (!this.props.has('ACTION')) this.props.set('ACTION', this.action);
    } else {
      // DEVPATH, the uevent file's keys, ACTION (device_set_action), then SUBSYSTEM when udev first asks for it
      for (const [k, v] of deviceProperties(d)) if (k !== 'SUBSYSTEM') this.props.set(k, v);
      this.props.set('ACTION', this.action);
      if (d.subsystem !== undefined) this.props.set('SUBSYSTEM', d.subsystem);
    }
    const db = this.old;
    if (this.action === 'remove') {
      // event_execute_rules_on_remove: device_read_db_internal(dev, force)
      if (db) {
        for (const l of db.links) this.addLink(`/dev/${l}`);
        this.linkPriority = db.linkPriority;
        if (db.usecInitialized) this.props.set('USEC_INITIALIZED', String(db.usecInitialized));
        for (const [k, v] of db.properties) this.setProperty(k, v);
        for (const t of db.tags) this.addTag(t, false);
        for (const t of db.currentTags) this.addTag(t, true);
      }
    } else {
      // copy_all_tags(dev, dev_db_clone): every old tag, none of them current
      for (const t of db?.tags ?? []) this.addTag(t, false);
      if (this.action === 'move') this.setProperty('ID_RENAMING', undefined);
    }
  }

  // -- sd-device's property bookkeeping

  /** device_properties_prepare: DEVLINKS/TAGS/CURRENT_TAGS are (re)computed when read after a change; an empty set leaves the old value. */
  private prepare(): void {
    if (this.linksOutdated) {
      if (this.links.size) this.props.set('DEVLINKS', [...this.links].join(' '));
      this.linksOutdated = false;
    }
    if (this.tagsOutdated) {
      if (this.allTags.size) this.props.set('TAGS', `:${[...this.allTags].join(':')}:`);
      if (this.currentTags.size) this.props.set('CURRENT_TAGS', `:${[...this.currentTags].join(':')}:`);
      this.tagsOutdated = false;
    }
  }

  private property(key: string): string | undefined {
    this.prepare();
    return this.props.get(key);
  }

  /** device_add_property: the event's properties and, unless the name starts with '.', the database's. */
  private setProperty(key: string, value: string | undefined): void {
    for (const m of key.startsWith('.') ? [this.props] : [this.props, this.dbProps]) {
      if (value === undefined) m.delete(key);
      else m.set(key, value);
    }
  }

  private addLink(link: string): void {
    this.links.add(link);
    this.linksOutdated = true;
  }

  private addTag(tag: string, current: boolean): void {
    this.allTags.add(tag);
    if (current) this.currentTags.add(tag);
    this.tagsOutdated = true;
  }

  private env(): Record<string, string> {
    this.prepare();
    return Object.fromEntries(this.props);
  }

  // -- logging

  private debug(msg: string): void {
    if (!this.o.log) return;
    const l = this.current;
    this.o.log(l ? `${l.file}:${l.line} ${msg}` : msg);
  }

  private warn(msg: string): void {
    const l = this.current;
    const text = l ? `${l.file}:${l.line}: ${msg}` : msg;
    this.out.warnings.push(text);
    this.o.log?.(text);
  }

  // -- the parent walk

  private node(level: number): Node | undefined {
    while (this.nodes.length <= level) {
      const last = this.nodes[this.nodes.length - 1];
      const p = last ? last.dev.parent() : undefined;
      this.nodes.push(p ? new Node(p) : null);
    }
    return this.nodes[level] ?? undefined;
  }

  private dbOf(node: Node): DbRecord | undefined {
    if (node === this.nodes[0]) return undefined;
    if (node.record === undefined) node.record = (this.o.db && readRecord(this.o.db, node.dev)) ?? null;
    return node.record ?? undefined;
  }

  // -- formats

  format(text: string, replaceWs = false): string {
    return this.apply(parseFormat(text), replaceWs);
  }

  private apply(f: Format, replaceWs = false): string {
    if (f.lit !== undefined) return f.lit;
    let out = '';
    for (const p of f.parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = this.subst(p);
        out += replaceWs && p.s !== 'result' ? replaceWhitespace(v) : v;
      }
    }
    if (f.bad) this.debug(`Invalid format string, ignoring the rest: ${f.bad}`);
    return out;
  }

  private subst(p: Subst): string {
    const d = this.device;
    switch (p.s) {
      case 'devpath':
        return d.devpath;
      case 'kernel':
        return d.sysname;
      case 'number':
        return d.sysnum ?? '';
      case 'id':
        return this.devParent?.dev.sysname ?? '';
      case 'driver':
        return this.devParent?.driver ?? '';
      case 'major':
        return String(d.devnum?.major ?? 0);
      case 'minor':
        return String(d.devnum?.minor ?? 0);
      case 'result':
        return this.resultPart(p);
      case 'attr': {
        const name = p.arg!;
        let v: string | undefined;
        if (name.startsWith('[')) v = this.subsysKernel(name, true);
        if (v === undefined) v = this.nodes[0]!.attr(name);
        if (v === undefined && this.devParent && this.devParent !== this.nodes[0]) v = this.devParent.attr(name);
        return v === undefined ? '' : replaceChars(trimEnd(v), '/ $%?,');
      }
      case 'parent': {
        const parent = this.node(1);
        return parent?.dev.devname?.slice('/dev/'.length) ?? '';
      }
      case 'devnode':
        return d.devname ?? '';
      case 'name':
        return this.out.name ?? d.devname?.slice('/dev/'.length) ?? d.sysname;
      case 'links':
        return [...this.links].map((l) => l.slice('/dev/'.length)).join(' ');
      case 'root':
        return '/dev';
      case 'sys':
        return d.root;
      case 'env':
        return this.property(p.arg!) ?? '';
    }
    return '';
  }

  /** $result, $result{N} (the Nth word), $result{N+} (from the Nth word on). */
  private resultPart(p: Subst): string {
    const r = this.programResult;
    if (r === undefined) return '';
    if (!p.index) return r;
    const words = r.replace(/^[ \t\n\r]+/, '');
    const re = /[^ \t\n\r]+[ \t\n\r]*/g;
    let m: RegExpExecArray | null = null;
    for (let i = 0; i < p.index; i++) if (!(m = re.exec(words))) return '';
    return p.plus ? words.slice(m!.index) : m![0].replace(/[ \t\n\r]+$/, '');
  }

  /** udev_resolve_subsys_kernel: `[subsystem/sysname]attr` → the attribute's value (read) or path. */
  private subsysKernel(spec: string, read: boolean): string | undefined {
    const m = /^\[([^/\]]*)\/([^\]]*)\]\/?(.*)$/s.exec(spec);
    if (!m || (read && !m[3])) return undefined;
    const [, subsystem, sysname, attr] = m;
    const root = this.device.root;
    const name = sysname.replaceAll('/', '!');
    const candidates: string[] = [];
    if (subsystem === 'subsystem') candidates.push(`bus/${name}`, `class/${name}`);
    else if (subsystem === 'module') candidates.push(`module/${name}`);
    else if (subsystem === 'drivers') {
      const sep = name.indexOf(':');
      if (sep > 0 && name[sep + 1]) {
        const drv = name.slice(sep + 1);
        candidates.push(drv === 'drivers' ? `bus/${name.slice(0, sep)}/drivers` : `bus/${name.slice(0, sep)}/drivers/${drv}`);
      }
    }
    candidates.push(`bus/${subsystem}/devices/${name}`, `class/${subsystem}/${name}`, `firmware/${subsystem}/${name}`);
    for (const c of candidates) {
      const p = path.join(root, c);
      if (!fs.existsSync(p)) continue;
      let dev: Device;
      try {
        dev = Device.fromSyspath(p, root);
      } catch {
        return undefined;
      }
      if (!read) return attr ? `${dev.syspath}/${attr}` : dev.syspath;
      return new Node(dev).attr(attr) ?? '';
    }
    return undefined;
  }

  /** attr_subst_subdir: the first entry of the directory before "/*\/" under which the rest exists. */
  private static subdir(p: string): string | undefined {
    const at = p.indexOf('/*/');
    if (at < 0) return p;
    const dir = p.slice(0, at + 1);
    const tail = p.slice(at + 2);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return undefined;
    }
    for (const n of names) if (!n.startsWith('.') && fs.existsSync(dir + n + tail)) return dir + n + tail;
    return undefined;
  }

  /** A formatted value, or undefined (with udev's log) when it does not fit udev's buffer. */
  private sized(t: Tok, f: Format, size: number, what: string): string | undefined {
    const v = this.apply(f, t.k === A_DEVLINK && this.esc !== 'none');
    if (fits(v, size)) return v;
    this.warn(`${t.text}: the ${what} '${v.slice(0, 64)}...' is too long after substitutions, ignoring the key`);
    return undefined;
  }

  // -- programs and builtins

  private spawn(t: Tok, cmd: string): ProgramResult {
    const left = (this.o.timeout ?? 180) * 1000 - (performance.now() - this.birth);
    const r = runProgram(cmd, this.env(), this.o.programDirs ?? programDirs, left);
    if (this.o.log) {
      for (const l of r.stdout.split('\n').filter(Boolean)) this.debug(`'${cmd}'(out) '${l}'`);
      for (const l of r.stderr.split('\n').filter(Boolean)) this.debug(`'${cmd}'(err) '${l}'`);
    }
    if (r.error) this.warn(`${t.text}: '${cmd}' ${r.error}`);
    else if (r.status !== 0) this.debug(`Command "${cmd}" returned ${r.status} (error)`);
    return r;
  }

  /** IMPORT{builtin}: run_once builtins keep their first result for the event; an unsupported one fails, with a warning. */
  private importBuiltin(t: Tok): boolean {
    const name = t.builtin!;
    const once = RUN_ONCE.has(name);
    if (once && this.builtinRan.has(name)) {
      this.debug(`Skipping builtin '${name}' in IMPORT key`);
      return this.builtinRan.get(name)!;
    }
    const cmd = this.sized(t, t.fmt!, LINE_SIZE, 'builtin command');
    if (cmd === undefined) return false;
    this.debug(`Importing properties from results of builtin command '${cmd}'`);
    const ok = this.callBuiltin(t, name, cmd);
    if (once) this.builtinRan.set(name, ok);
    return ok;
  }

  private callBuiltin(t: Tok, name: string, cmd: string): boolean {
    const fn = (this.o.builtins ?? builtinTable)[name];
    if (!fn) {
      this.warn(`${t.text}: builtin '${name}' is not supported by devmaster; the key does not match`);
      return false;
    }
    let props: [string, string][] | null;
    try {
      props = fn(this.device, splitCommand(cmd));
    } catch (e) {
      this.warn(`${t.text}: builtin '${name}' failed: ${(e as Error).message}`);
      return false;
    }
    if (!props) {
      this.debug(`Failed to run builtin '${cmd}'`);
      return false;
    }
    for (const [k, v] of props) this.setProperty(k, v);
    return true;
  }

  // -- keys

  /** One key of the line on the event device: whether the line goes on. */
  private key(t: Tok, line: Line): boolean {
    const ok = (m: boolean) => (t.op === '==' ? m : !m);
    const d = this.device;
    const n0 = this.nodes[0]!;
    switch (t.k) {
      case M_ACTION:
        return ok(t.match!(this.action));
      case M_DEVPATH:
        return ok(t.match!(d.devpath));
      case M_KERNEL:
        return ok(t.match!(d.sysname));
      case M_DEVLINK:
        for (const l of this.links) if (t.match!(l.slice('/dev/'.length))) return t.op === '==';
        return t.op === '!=';
      case M_NAME:
        return ok(t.match!(this.out.name ?? ''));
      case M_ENV:
        return ok(t.match!(this.property(t.attr!) ?? ''));
      case M_CONST:
        return ok(t.match!(t.attr === 'arch' ? (this.o.arch ?? (machineArch ??= architecture())) : (this.o.virt ?? machine())));
      case M_TAG:
        for (const tag of this.currentTags) if (t.match!(tag)) return t.op === '==';
        return t.op === '!=';
      case M_SUBSYSTEM:
        return ok(t.match!(n0.subsystem));
      case M_DRIVER:
        return ok(t.match!(n0.driver));
      case M_ATTR:
        return this.attrMatch(t, n0);
      case M_SYSCTL: {
        const name = this.sized(t, t.nameFmt!, PATH_SIZE, 'sysctl name');
        if (name === undefined) return false;
        let v = '';
        try {
          v = fs.readFileSync(path.join('/proc/sys', sysctlPath(name)), 'utf8').trim();
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Abort(`Failed to read sysctl '${name}': ${(e as Error).message}`);
        }
        return ok(t.match!(v));
      }
      case M_TEST:
        return this.test(t);
      case M_PROGRAM: {
        this.programResult = undefined;
        const cmd = this.sized(t, t.fmt!, LINE_SIZE, 'command');
        if (cmd === undefined) return false;
        this.debug(`Running PROGRAM '${cmd}'`);
        const r = this.spawn(t, cmd);
        if (r.error || r.status !== 0) return t.op === '!=';
        this.programResult = replaceChars(r.stdout.replace(/\n+$/, ''), '/ $%?,');
        return t.op === '==';
      }
      case M_IMPORT_FILE: {
        const file = this.sized(t, t.fmt!, PATH_SIZE, 'file name');
        if (file === undefined) return false;
        this.debug(`Importing properties from '${file}'`);
        let text: string;
        try {
          text = fs.readFileSync(file, 'utf8');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return t.op === '!=';
          throw new Abort(`Failed to open '${file}': ${(e as Error).message}`);
        }
        this.importLines(text.split('\n'));
        return t.op === '==';
      }
      case M_IMPORT_PROGRAM: {
        const cmd = this.sized(t, t.fmt!, LINE_SIZE, 'command');
        if (cmd === undefined) return false;
        this.debug(`Importing properties from results of '${cmd}'`);
        const r = this.spawn(t, cmd);
        if (r.error || r.status !== 0) return t.op === '!=';
        this.importLines(r.stdout.split(/[\n\r]+/));
        return t.op === '==';
      }
      case M_IMPORT_BUILTIN:
        return this.importBuiltin(t) === (t.op === '==');
      case M_IMPORT_DB: {
        // the removed device has no db clone: IMPORT{db} never matches on remove
        const v = this.action === 'remove' ? undefined : this.old?.properties.find(([k]) => k === t.value)?.[1];
        if (v === undefined) return t.op === '!=';
        this.setProperty(t.value, v);
        return t.op === '==';
      }
      case M_IMPORT_CMDLINE: {
        machineCmdline ??= kernelCmdline(machine());
        machineInitrd ??= fs.existsSync('/etc/initrd-release');
        const v = cmdlineValue(this.o.cmdline ?? machineCmdline, t.value, machineInitrd);
        if (v === undefined) return t.op === '!=';
        this.setProperty(t.value, v);
        return t.op === '==';
      }
      case M_IMPORT_PARENT: {
        const filter = this.sized(t, t.fmt!, PATH_SIZE, 'property name');
        if (filter === undefined) return false;
        const parent = this.node(1);
        if (!parent) return t.op === '!=';
        const re = fnmatch(filter);
        for (const [k, v] of this.parentProperties(parent)) if (re.test(k)) this.setProperty(k, v);
        return t.op === '==';
      }
      case M_RESULT:
        return ok(t.match!(this.programResult ?? ''));
    }
    this.assign(t, line);
    return true;
  }

  /** IMPORT{file} and IMPORT{program}: KEY=VALUE lines become properties; others are skipped (logged as udev logs them). */
  private importLines(lines: string[]): void {
    for (const l of lines) {
      const kv = propertyLine(l);
      if (kv === undefined) continue;
      if (kv) this.setProperty(kv[0], kv[1]);
      // udev logs the line as its parser left it: cut at the '=' and the blanks before it
      else if (this.o.log) {
        const eq = l.indexOf('=');
        this.debug(`Failed to parse key and value from '${eq < 0 ? l : l.slice(0, eq).replace(/[ \t\n\r]+$/, '')}', ignoring: Invalid argument`);
      }
    }
  }

  /** A parent's properties as sd-device lists them: the uevent's, then its db's (I:, E:, then DEVLINKS and the tags). */
  private parentProperties(parent: Node): [string, string][] {
    const db = this.dbOf(parent);
    const list = deviceProperties(parent.dev, db);
    if (db?.usecInitialized) list.push(['USEC_INITIALIZED', String(db.usecInitialized)]);
    if (db?.links.length) list.push(['DEVLINKS', db.links.map((l) => `/dev/${l}`).join(' ')]);
    if (db?.tags.length) list.push(['TAGS', `:${db.tags.join(':')}:`]);
    if (db?.currentTags.length) list.push(['CURRENT_TAGS', `:${db.currentTags.join(':')}:`]);
    return list;
  }

  /** token_match_attr: an attribute that cannot be read fails the key, whatever the operator. */
  private attrMatch(t: Tok, node: Node): boolean {
    let v: string | undefined;
    if (t.attrKind === 2) v = this.subsysKernel(t.attr!, true);
    else {
      const name = t.attrKind === 1 ? this.apply(t.nameFmt!) : t.attr!;
      if (!fits(name, NAME_SIZE)) return false;
      v = node.attr(name);
    }
    if (v === undefined) return false;
    if (t.strip) v = trimEnd(v);
    return t.op === '==' ? t.match!(v) : !t.match!(v);
  }

  /** KERNELS/SUBSYSTEMS/DRIVERS/ATTRS/TAGS of a parent (the device itself at level 0). */
  private parentKey(t: Tok, node: Node): boolean {
    const ok = (m: boolean) => (t.op === '==' ? m : !m);
    switch (t.k) {
      case P_KERNEL:
        return ok(t.match!(node.dev.sysname));
      case P_SUBSYSTEM:
        return ok(t.match!(node.subsystem));
      case P_DRIVER:
        return ok(t.match!(node.driver));
      case P_ATTR:
        return this.attrMatch(t, node);
    }
    const tags = node === this.nodes[0] ? this.currentTags : node.tags(this.dbOf(node));
    for (const tag of tags) if (t.match!(tag)) return t.op === '==';
    return t.op === '!=';
  }

  /** udev_rule_apply_parent_token_to_event: the line's parent keys must all match one device, the first up from the device itself. */
  private parents(toks: Tok[], from: number): boolean {
    for (let level = 0; ; level++) {
      const node = this.node(level);
      if (!node) {
        this.devParent = undefined;
        return false;
      }
      this.devParent = node;
      let all = true;
      for (let i = from; i < toks.length && toks[i].k >= P_KERNEL && toks[i].k <= P_TAG; i++) {
        if (!this.parentKey(toks[i], node)) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
  }

  private test(t: Tok): boolean {
    let p = this.sized(t, t.fmt!, PATH_SIZE, 'file name');
    if (p === undefined) return false;
    if (!path.isAbsolute(p)) p = this.subsysKernel(p, false) ?? `${this.device.syspath}/${p}`;
    const found = Event.subdir(p);
    if (found === undefined) return t.op === '!=';
    let st: fs.Stats;
    try {
      st = fs.statSync(found);
    } catch {
      return t.op === '!=';
    }
    if (t.num === undefined) return t.op === '==';
    return (st.mode & t.num!) > 0 ? t.op === '==' : t.op === '!=';
  }

  /** The assignments: each returns nothing, the line goes on. */
  private assign(t: Tok, line: Line): void {
    const finalOnce = (key: Final): boolean => {
      if (this.final[key]) return false;
      if (t.op === ':=') this.final[key] = true;
      return true;
    };
    switch (t.k) {
      case A_ESCAPE_NONE:
        this.esc = 'none';
        return;
      case A_ESCAPE_REPLACE:
        this.esc = 'replace';
        return;
      case A_DB_PERSIST:
        this.out.dbPersist = true;
        return;
      case A_WATCH:
        if (finalOnce('watch')) this.out.watch = t.watch;
        return;
      case A_LINK_PRIORITY:
        this.linkPriority = t.num!;
        return;
      case A_LOG_LEVEL:
        this.out.logLevel = t.num! < 0 ? undefined : t.num!;
        return;
      case A_OWNER:
      case A_GROUP:
      case A_OWNER_ID:
      case A_GROUP_ID: {
        const user = t.k === A_OWNER || t.k === A_OWNER_ID;
        if (!finalOnce(user ? 'owner' : 'group')) return;
        let given = t.given;
        let id = t.num;
        if (t.k === A_OWNER || t.k === A_GROUP) {
          given = this.sized(t, t.fmt!, NAME_SIZE, `${user ? 'user' : 'group'} name`);
          if (given === undefined) return;
          const r = this.o.resolver ?? (this.resolver ??= fileResolver());
          id = isId(given) ? Number(given) : user ? r.user(given) : r.group(given);
          if (id === undefined) {
            this.warn(`Unknown ${user ? 'user' : 'group'} '${given}', ignoring`);
            return;
          }
        }
        if (id === null || id === undefined) return;
        if (user) {
          this.out.owner = given;
          this.out.uid = id;
        } else {
          this.out.group = given;
          this.out.gid = id;
        }
        this.debug(`${user ? 'OWNER' : 'GROUP'} ${t.k === A_OWNER || t.k === A_GROUP ? `${given}(${id})` : id}`);
        return;
      }
      case A_MODE:
      case A_MODE_ID: {
        if (!finalOnce('mode')) return;
        let mode = t.num ?? undefined;
        if (t.k === A_MODE) {
          const s = this.sized(t, t.fmt!, NAME_SIZE, 'mode');
          if (s === undefined) return;
          if (!/^[0-7]+$/.test(s) || parseInt(s, 8) > 0o7777) {
            this.warn(`Failed to parse mode '${s}', ignoring`);
            return;
          }
          mode = parseInt(s, 8);
        }
        this.out.mode = mode ? `0${mode!.toString(8)}` : '0';
        this.debug(`MODE ${this.out.mode}`);
        return;
      }
      case A_TAG: {
        const tag = this.sized(t, t.fmt!, PATH_SIZE, 'tag name');
        if (tag === undefined) return;
        if (t.op === '=') {
          this.allTags.clear();
          this.currentTags.clear();
          this.tagsOutdated = true;
        }
        if (!/^[A-Za-z0-9_-]*$/.test(tag)) {
          this.warn(`Invalid tag name '${tag}', ignoring`);
          return;
        }
        if (tag === '') return;
        if (t.op === '-=') {
          this.currentTags.delete(tag);
          this.tagsOutdated = true;
        } else this.addTag(tag, true);
        return;
      }
      case A_STATIC_NODE:
        this.out.staticNodes.push(t.value);
        return;
      case A_SECLABEL:
        this.warn(`${t.text}: security labels are not supported by devmaster, ignoring`);
        return;
      case A_ENV: {
        const name = t.attr!;
        if (t.value === '') {
          if (t.op !== '+=') this.setProperty(name, undefined);
          return;
        }
        const old = t.op === '+=' ? this.property(name) : undefined;
        let v = this.apply(t.fmt!);
        if (this.esc === 'replace') v = replaceChars(v);
        const full = old === undefined ? v : `${old} ${v}`;
        if (!fits(full, NAME_SIZE)) {
          this.warn(`${t.text}: the value is too long after substitutions, refusing to set ${name}`);
          return;
        }
        this.setProperty(name, full);
        return;
      }
      case A_NAME: {
        if (!finalOnce('name')) return;
        if (this.device.ifindex === undefined) {
          this.warn(`Only network interfaces can be renamed, ignoring NAME="${t.value}".`);
          return;
        }
        let v = this.sized(t, t.fmt!, PATH_SIZE, 'interface name');
        if (v === undefined) return;
        if (this.esc !== 'none') v = replaceIfname(v);
        this.out.name = v;
        this.debug(`NAME '${v}'`);
        return;
      }
      case A_DEVLINK: {
        if (this.final.devlink || !this.device.devnum) return;
        if (t.op === ':=') this.final.devlink = true;
        if (t.op === '=' || t.op === ':=') {
          this.links.clear();
          this.linksOutdated = true;
        }
        let v = this.sized(t, t.fmt!, PATH_SIZE, 'symlink path');
        if (v === undefined) return;
        v = this.esc === 'unset' ? replaceChars(v, '/ ') : this.esc === 'replace' ? replaceChars(v, '/') : v;
        for (const link of v.split(' ')) {
          if (!link) continue;
          this.addLink(`/dev/${link}`);
          this.debug(`LINK '${link}'`);
        }
        return;
      }
      case A_ATTR: {
        const name = t.attr!;
        const at = (name.startsWith('[') ? this.subsysKernel(name, false) : undefined) ?? `${this.device.syspath}/${name}`;
        const file = Event.subdir(at);
        if (file === undefined) {
          this.warn(`Could not find file matches '${name}', ignoring`);
          return;
        }
        const v = this.sized(t, t.fmt!, NAME_SIZE, 'attribute value');
        if (v === undefined) return;
        this.debug(`ATTR '${file}' writing '${v}'`);
        this.write(file, v, `ATTR{${file}}`);
        return;
      }
      case A_SYSCTL: {
        const name = this.sized(t, t.nameFmt!, PATH_SIZE, 'sysctl name');
        const v = this.sized(t, t.fmt!, NAME_SIZE, 'sysctl value');
        if (name === undefined || v === undefined) return;
        const key = sysctlPath(name);
        this.debug(`SYSCTL '${key}' writing '${v}'`);
        this.write(path.join('/proc/sys', key), v, `SYSCTL{${key}}='${v}'`);
        return;
      }
      case A_RUN_BUILTIN:
      case A_RUN_PROGRAM: {
        if (!finalOnce('run')) return;
        if (t.op === '=' || t.op === ':=') this.runs.clear();
        const cmd = this.sized(t, t.fmt!, LINE_SIZE, 'command');
        if (cmd === undefined) return;
        const builtin = t.k === A_RUN_BUILTIN;
        if (builtin && !(this.o.builtins ?? builtinTable)[t.builtin!])
          this.warn(`${t.text}: builtin '${t.builtin}' is not supported by devmaster; it will not run`);
        if (!this.runs.has(cmd)) this.runs.set(cmd, { command: cmd, builtin, file: line.file, line: line.line });
        this.debug(`RUN '${t.value}'`);
        return;
      }
    }
  }

  private write(file: string, value: string, what: string): void {
    try {
      (this.o.write ?? ((f, v) => fs.writeFileSync(f, v)))(file, value);
    } catch (e) {
      this.warn(`Failed to write ${what}, ignoring: ${(e as Error).message}`);
    }
  }

  /** udev_rule_apply_line_to_event: the keys in order; the first that fails ends the line. */
  private line(line: Line): boolean {
    this.esc = 'unset';
    let parentsDone = false;
    const toks = line.toks;
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i];
      if (t.k >= P_KERNEL && t.k <= P_TAG) {
        if (parentsDone) continue;
        if (!this.parents(toks, i)) return false;
        parentsDone = true;
        continue;
      }
      if (!this.key(t, line)) return false;
    }
    return true;
  }

  /** udev_rules_apply_to_event, then what udev_event_execute_rules adds (USEC_INITIALIZED). */
  run(): Outcome {
    const d = this.device;
    let mask = HAS_GOTO | UPDATE_SOMETHING;
    if (this.action !== 'remove') {
      if (d.devnum) mask |= HAS_DEVLINK;
      if (d.ifindex !== undefined) mask |= HAS_NAME;
    }
    const lines = this.rules.lines;
    try {
      for (let i = 0; i < lines.length; ) {
        const line = lines[i];
        if (!(line.type & mask)) {
          i++;
          continue;
        }
        this.current = line;
        if (this.line(line)) {
          this.out.matched.push({ file: line.file, line: line.line });
          if (this.o.log) this.o.log(`${line.file}:${line.line} matched`);
          if (line.target !== undefined) {
            i = line.target;
            continue;
          }
        }
        i++;
      }
    } catch (e) {
      if (!(e instanceof Abort)) throw e;
      this.warn(`rules processing stopped: ${e.message}`);
    }
    this.current = undefined;
    if (this.action !== 'remove' && !this.props.has('USEC_INITIALIZED')) {
      const usec = this.old?.usecInitialized || this.o.usecNow || Number(process.hrtime.bigint() / 1000n);
      this.props.set('USEC_INITIALIZED', String(usec));
    }
    this.prepare();
    return {
      ...this.out,
      properties: new Map(this.props),
      dbProperties: new Map(this.dbProps),
      links: [...this.links].map((l) => l.slice('/dev/'.length)),
      linkPriority: this.linkPriority,
      tags: [...this.currentTags],
      allTags: [...this.allTags],
      run: [...this.runs.values()],
      dbPersist: this.out.dbPersist ?? false,
    };
  }
}

/** sysctl_normalize: `net.ipv4.conf.eth0/1.rp_filter` → `net/ipv4/conf/eth0.1/rp_filter` (dots and slashes swap when a dot comes first). */
export function sysctlPath(name: string): string {
  const first = /[./]/.exec(name);
  const s = first && first[0] === '.' ? name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.')) : name;
  return path.posix.normalize(s).replace(/^\/(?=.)/, '');
}

/** A device's record; none for a device that has no database id (no devnum, ifindex or subsystem). */
function readRecord(db: DeviceDb, d: Device): DbRecord | undefined {
  let id: string;
  try {
    id = deviceId(d);
  } catch {
    return undefined;
  }
  return db.read(id);
}

/** Runs the rules on one event (`action`: one of `actions`). */
export function evaluate(rules: Compiled, device: Device, action: string, o: EvaluateOptions = {}): Outcome {
  return new Event(rules, device, action, o).run();
}
