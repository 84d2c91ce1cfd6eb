// The udev rules language, parsed as systemd 252's src/udev/udev-rules.c parses it: physical lines joined by a
// trailing `\` (a line starting with `#` is skipped even inside a continuation), logical lines of
// `KEY[{attr}]OP"value"` tokens separated by commas and blanks, values in double quotes (`\"` inside; an `e` prefix
// decodes C escapes). Each key allows only the operators udev allows; a line with a bad token is dropped whole and
// reported, as udev logs and ignores it, and diagnostics are collected instead of thrown. Tokens stay in source
// order (udev sorts them by type before running a line: matches first, PROGRAM before RESULT; the evaluator must
// do the same). GOTO is resolved to the index of the next rule in the same file carrying its LABEL.
// udev 252 has no `i` (case-insensitive) value prefix, no DEVTYPE key (use ENV{DEVTYPE}) and no WAIT_FOR key
// (removed in udev 217): all three are errors here, as there.

export type Op = '==' | '!=' | '=' | '+=' | '-=' | ':=';

export interface Token {
  key: string;
  attr?: string;
  op: Op;
  value: string;
  /** IMPORT{program} naming a builtin becomes IMPORT{builtin}, as udev does; OPTIONS are split into name and value. */
  option?: { name: string; value?: string };
}

export interface Rule {
  file: string;
  line: number;
  tokens: Token[];
  label?: string;
  goto?: string;
  /** Index (in the same rules array) of the rule carrying the GOTO's label. */
  target?: number;
}

export interface Diagnostic {
  file: string;
  line: number;
  /** error: the line (or the GOTO) is ignored; warning: kept, possibly with the operator udev assumes. */
  level: 'error' | 'warning';
  message: string;
}

export const show = (d: Diagnostic) => `${d.file}:${d.line}: ${d.message}`;

/** udev 252's builtins (src/udev/udev-builtin.c); a command names one by its first word. */
export const builtins = [
  'blkid', 'btrfs', 'hwdb', 'input_id', 'keyboard', 'kmod', 'net_id', 'net_setup_link', 'path_id', 'uaccess',
  'usb_id',
];
const builtinOf = (cmd: string) => builtins.includes(cmd.trim().split(/\s+/)[0]);

/** Properties udev manages itself; ENV{} may match them but not set them. */
const readOnlyEnv = new Set([
  'ACTION', 'DEVLINKS', 'DEVNAME', 'DEVPATH', 'DEVTYPE', 'DRIVER', 'IFINDEX', 'MAJOR', 'MINOR', 'SEQNUM',
  'SUBSYSTEM', 'TAGS',
]);
const logLevels = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
const lineMax = 16384; // UDEV_LINE_SIZE

// ---- substitutions

export type Part = { text: string } | { subst: string; arg?: string };

/** Long names with their one-letter forms (udev-event.c's map; tempnode and sysfs are deprecated aliases). */
const substs: [string, string][] = [
  ['devnode', 'N'], ['tempnode', 'N'], ['attr', 's'], ['sysfs', 's'], ['env', 'E'], ['kernel', 'k'],
  ['number', 'n'], ['driver', 'd'], ['devpath', 'p'], ['id', 'b'], ['major', 'M'], ['minor', 'm'], ['result', 'c'],
  ['parent', 'P'], ['name', 'D'], ['links', 'L'], ['root', 'r'], ['sys', 'S'],
];
const canonical = (name: string) => (name === 'tempnode' ? 'devnode' : name === 'sysfs' ? 'attr' : name);

/**
 * A value split into literal text and substitutions (`$kernel`, `%k`, `$attr{size}`, ...), by their long name.
 * `$$` and `%%` are literal. Throws the offending offset (1-based, as udev reports it) and a hint otherwise.
 */
export function parseFormat(value: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  const fail = (at: number, hint: string): never => {
    throw new FormatError(at + 1, hint);
  };
  while (i < value.length) {
    const c = value[i];
    if (c !== '$' && c !== '%') {
      text += c;
      i++;
      continue;
    }
    const at = i;
    i++;
    if (value[i] === c) {
      text += c;
      i++;
      continue;
    }
    const hit =
      c === '$' ? substs.find(([n]) => value.startsWith(n, i)) : substs.find(([, f]) => value[i] === f);
    if (!hit) fail(at, 'invalid substitution type');
    i += c === '$' ? hit![0].length : 1;
    let arg: string | undefined;
    if (value[i] === '{') {
      const end = value.indexOf('}', i + 1);
      if (end < 0 || end === i + 1) fail(at, 'invalid substitution type');
      arg = value.slice(i + 1, end);
      i = end + 1;
    }
    const subst = canonical(hit![0]);
    if ((subst === 'attr' || subst === 'env') && arg === undefined) fail(at, 'attribute value missing');
    if (subst === 'result' && arg !== undefined && !/^\d+\+?$/.test(arg))
      fail(at, 'attribute value is not a valid number');
    if (text) parts.push({ text });
    text = '';
    parts.push(arg === undefined ? { subst } : { subst, arg });
  }
  if (text) parts.push({ text });
  return parts;
}

export class FormatError extends Error {
  constructor(
    readonly offset: number,
    readonly hint: string,
  ) {
    super(`char ${offset}: ${hint}`);
  }
}

// ---- values and tokens

/** C escapes as systemd's cunescape() decodes them. */
function unescape(s: string): string | undefined {
  const simple: Record<string, string> = {
    a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'", s: ' ',
  };
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out += s[i];
      continue;
    }
    const c = s[++i];
    if (c === undefined) return undefined;
    if (c in simple) out += simple[c];
    else if (c === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/^[0-3][0-7]{2}$/.test(s.slice(i, i + 3))) {
      out += String.fromCharCode(parseInt(s.slice(i, i + 3), 8));
      i += 2;
    } else if (c === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) {
      out += String.fromCodePoint(parseInt(s.slice(i + 1, i + 5), 16));
      i += 4;
    } else if (c === 'U' && /^[0-9a-fA-F]{8}$/.test(s.slice(i + 1, i + 9))) {
      out += String.fromCodePoint(parseInt(s.slice(i + 1, i + 9), 16));
      i += 8;
    } else return undefined;
  }
  // cunescape() refuses an escaped NUL: a value is a C string
  return out.includes('\0') ? undefined : out;
}

const blank = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const ops: Op[] = ['==', '!=', '+=', '-=', ':=', '='];

interface Raw {
  key: string;
  attr?: string;
  op: Op;
  value: string;
}

/** The next token of a logical line from `i`: null at the end, a string saying what is wrong when invalid. */
function lex(s: string, i: number): [Raw, number] | null | string {
  while (blank(s[i]) || s[i] === ',') i++;
  if (i >= s.length) return null;
  const start = i;
  for (; ; i++) {
    if (i >= s.length) return 'expected an operator (== != = += -= :=) after the key';
    if (blank(s[i]) || s[i] === '=' || s[i] === '{') break;
    if ('+-!:'.includes(s[i]) && s[i + 1] === '=') break;
  }
  const key = s.slice(start, i);
  let attr: string | undefined;
  if (s[i] === '{') {
    const end = s.indexOf('}', i + 1);
    if (end < 0) return `expected '}' closing ${key}{`;
    attr = s.slice(i + 1, end);
    i = end + 1;
  }
  while (blank(s[i])) i++;
  const op = ops.find((o) => s.startsWith(o, i));
  if (!op) return `expected an operator (== != = += -= :=) after ${key}`;
  i += op.length;
  while (blank(s[i])) i++;
  const escaped = s[i] === 'e';
  if (escaped) i++;
  if (s[i] !== '"') return `expected a value in double quotes after ${key}${op}`;
  let j = i + 1;
  let value = '';
  for (; ; j++) {
    if (j >= s.length) return `expected '"' closing the value of ${key}`;
    if (s[j] === '"') break;
    if (s[j] === '\\' && (escaped || s[j + 1] === '"')) {
      if (!escaped) j++;
      else {
        value += s[j++];
        if (j >= s.length) return `expected '"' closing the value of ${key}`;
      }
    }
    value += s[j];
  }
  if (escaped) {
    const u = unescape(value);
    if (u === undefined) return `invalid escape sequence in e"${value}"`;
    value = u;
  }
  return [{ key, attr, op, value }, j + 1];
}

type Say = (level: Diagnostic['level'], message: string) => void;

const isMatch = (op: Op) => op === '==' || op === '!=';

/** Keys that only match, with whether they take an {attr}. */
const matchOnly: Record<string, boolean> = {
  ACTION: false, DEVPATH: false, KERNEL: false, SUBSYSTEM: false, DRIVER: false, KERNELS: false,
  SUBSYSTEMS: false, DRIVERS: false, ATTRS: true, TAGS: false, RESULT: false, CONST: true,
};

/** Checks one token as udev's parse_token() does; returns the token (op possibly corrected) or undefined to drop the line. */
function check(t: Raw, say: Say): Token | undefined | 'ignore' {
  const { key } = t;
  let { op } = t;
  const bad = (what: string, expected: string) => {
    say('error', `Invalid ${what} for ${key}: ${expected}`);
    return undefined;
  };
  const assume = (allowed: string) => {
    say('warning', `${key} key takes ${allowed} operator, assuming '='.`);
    op = '=';
  };
  const format = (nonempty: boolean) => {
    if (nonempty && t.value === '') say('warning', `Invalid value "" for ${key} (char 0: empty value), ignoring.`);
    else
      try {
        parseFormat(t.value);
      } catch (e) {
        const f = e as FormatError;
        say('warning', `Invalid value "${t.value}" for ${key} (char ${f.offset}: ${f.hint}), ignoring.`);
      }
  };
  const attrFormat = () => {
    try {
      parseFormat(t.attr!);
    } catch (e) {
      const f = e as FormatError;
      say('warning', `Invalid attribute "${t.attr}" for ${key} (char ${f.offset}: ${f.hint}), ignoring.`);
    }
  };
  const noAttr = 'no {attribute}';
  const tok = (extra: Partial<Token> = {}): Token => ({
    key,
    ...(t.attr !== undefined ? { attr: t.attr } : {}),
    op,
    value: t.value,
    ...extra,
  });

  if (key in matchOnly) {
    if (matchOnly[key] ? !t.attr : t.attr !== undefined)
      return bad('attribute', matchOnly[key] ? `${key}{name} needs a name` : noAttr);
    if (key === 'CONST' && !['arch', 'virt'].includes(t.attr!)) return bad('attribute', 'CONST{arch} or CONST{virt}');
    if (!isMatch(op)) return bad('operator', `a match key takes '==' or '!='`);
    if (key === 'SUBSYSTEM' && ['bus', 'class'].includes(t.value))
      say('warning', `"${t.value}" must be specified as "subsystem".`);
    if (key === 'ATTRS') {
      attrFormat();
      if (t.attr!.startsWith('device/')) say('warning', `'device' link may not be available in future kernels.`);
      if (t.attr!.includes('../'))
        say('warning', 'Direct reference to parent sysfs directory, may break in future kernels.');
    }
    return tok();
  }
  switch (key) {
    case 'SYMLINK':
    case 'NAME':
    case 'TAG':
      if (t.attr !== undefined) return bad('attribute', noAttr);
      if (key === 'NAME' && op === '-=') return bad('operator', `'==', '!=', '=' or ':='`);
      if (key === 'NAME' && op === '+=') assume(`'==', '!=', '=', or ':='`);
      if (key === 'TAG' && op === ':=') assume(`'==', '!=', '=', or '+='`);
      if (!isMatch(op)) {
        if (key === 'NAME' && t.value === '%k') {
          say('error', 'Ignoring NAME="%k", as it will take no effect.');
          return undefined;
        }
        if (key === 'NAME' && t.value === '') {
          say('error', 'Ignoring NAME="", as udev will not delete any network interfaces.');
          return undefined;
        }
        format(key === 'TAG');
      }
      return tok();
    case 'ENV':
      if (!t.attr) return bad('attribute', 'ENV{name} needs a name');
      if (op === '-=') return bad('operator', `'==', '!=', '=' or '+='`);
      if (op === ':=') assume(`'==', '!=', '=', or '+='`);
      if (!isMatch(op)) {
        if (readOnlyEnv.has(t.attr)) {
          say('error', `Invalid ENV attribute. '${t.attr}' cannot be set (udev sets it itself).`);
          return undefined;
        }
        format(false);
      }
      return tok();
    case 'ATTR':
    case 'SYSCTL':
      if (!t.attr) return bad('attribute', `${key}{name} needs a name`);
      attrFormat();
      if (op === '-=') return bad('operator', `'==', '!=' or '='`);
      if (op === '+=' || op === ':=') assume(`'==', '!=', or '='`);
      if (!isMatch(op)) format(false);
      return tok();
    case 'TEST':
      if (t.attr && !/^[0-7]{1,4}$/.test(t.attr)) return bad('attribute', 'TEST{mode} takes an octal mode');
      format(true);
      if (!isMatch(op)) return bad('operator', `'==' or '!='`);
      return tok();
    case 'PROGRAM':
    case 'IMPORT': {
      if (key === 'PROGRAM' ? t.attr !== undefined : !t.attr)
        return bad('attribute', key === 'PROGRAM' ? noAttr : 'IMPORT{program|builtin|file|db|cmdline|parent}');
      format(true);
      if (op === '-=') return bad('operator', `'==', '!=', '=', '+=' or ':='`);
      if (!isMatch(op)) op = '==';
      if (key === 'PROGRAM') return tok();
      const kinds = ['program', 'builtin', 'file', 'db', 'cmdline', 'parent'];
      if (!kinds.includes(t.attr!)) return bad('attribute', 'IMPORT{program|builtin|file|db|cmdline|parent}');
      if (t.attr === 'builtin' && !builtinOf(t.value)) {
        say('error', `Unknown builtin command: ${t.value}`);
        return undefined;
      }
      return tok(t.attr === 'program' && builtinOf(t.value) ? { attr: 'builtin' } : {});
    }
    case 'OPTIONS': {
      if (t.attr !== undefined) return bad('attribute', noAttr);
      if (isMatch(op) || op === '-=') return bad('operator', `'=', '+=' or ':='`);
      if (op === '+=') op = '=';
      const v = t.value;
      const eq = v.indexOf('=');
      const name = eq < 0 ? v : v.slice(0, eq);
      const arg = eq < 0 ? undefined : v.slice(eq + 1);
      const ok =
        (arg === undefined && ['db_persist', 'watch', 'nowatch'].includes(name)) ||
        (name === 'string_escape' && (arg === 'none' || arg === 'replace')) ||
        (name === 'static_node' && arg !== undefined);
      if (name === 'link_priority' && arg !== undefined) {
        if (!/^[+-]?\d+$/.test(arg.trim())) {
          say('error', `Failed to parse link priority '${arg}': expected an integer`);
          return undefined;
        }
      } else if (name === 'log_level' && arg !== undefined) {
        if (arg !== 'reset' && !logLevels.includes(arg) && !/^[0-7]$/.test(arg)) {
          say('error', `Failed to parse log level '${arg}': expected ${logLevels.join(', ')}, 0-7 or reset`);
          return undefined;
        }
      } else if (!ok) {
        say('warning', `Invalid value for OPTIONS key, ignoring: '${v}'`);
        return 'ignore';
      }
      return tok({ option: arg === undefined ? { name } : { name, value: arg } });
    }
    case 'OWNER':
    case 'GROUP':
    case 'MODE':
      if (t.attr !== undefined) return bad('attribute', noAttr);
      if (isMatch(op) || op === '-=') return bad('operator', `'=' or ':='`);
      if (op === '+=') assume(`'=' or ':='`);
      if (!/^\d+$/.test(t.value)) format(true);
      return tok();
    case 'SECLABEL':
      if (!t.attr) return bad('attribute', 'SECLABEL{module} needs a module');
      format(true);
      if (isMatch(op) || op === '-=') return bad('operator', `'=' or '+='`);
      if (op === ':=') assume(`'=' or '+='`);
      return tok();
    case 'RUN':
      if (isMatch(op) || op === '-=') return bad('operator', `'=', '+=' or ':='`);
      format(true);
      if (t.attr === undefined || t.attr === 'program') return tok({ attr: 'program' });
      if (t.attr !== 'builtin') return bad('attribute', 'RUN{program} or RUN{builtin}');
      if (!builtinOf(t.value)) {
        say('error', `Unknown builtin command '${t.value}', ignoring.`);
        return undefined;
      }
      return tok();
    case 'GOTO':
    case 'LABEL':
      if (t.attr !== undefined) return bad('attribute', noAttr);
      if (op !== '=') return bad('operator', `'='`);
      return tok();
    default:
      say('error', `Invalid key '${key}'.`);
      return undefined;
  }
}

/** Parses one logical line; undefined when udev would ignore it. */
function parseLine(text: string, say: Say): Omit<Rule, 'file' | 'line'> | undefined {
  const tokens: Token[] = [];
  let label: string | undefined;
  let jump: string | undefined;
  for (let i = 0; ; ) {
    const r = lex(text, i);
    if (r === null) break;
    if (typeof r === 'string') {
      say('error', `Invalid key/value pair, ignoring: ${r}.`);
      return undefined;
    }
    const [raw, next] = r;
    i = next;
    const t = check(raw, say);
    if (t === undefined) return undefined;
    if (t === 'ignore') continue;
    if (t.key === 'GOTO') {
      if (jump !== undefined) say('warning', `Contains multiple GOTO keys, ignoring GOTO="${t.value}".`);
      else jump = t.value;
    } else if (t.key === 'LABEL') {
      if (label !== undefined) say('warning', `Contains multiple LABEL keys, ignoring LABEL="${label}".`);
      label = t.value;
    } else tokens.push(t);
  }
  // udev keeps a line only when it does something: a LABEL, a GOTO, or any assignment or program
  const effective = (t: Token) => !isMatch(t.op) || t.key === 'PROGRAM' || t.key === 'IMPORT';
  if (label === undefined && jump === undefined && !tokens.some(effective)) {
    say('warning', 'The line takes no effect, ignoring.');
    return undefined;
  }
  return { tokens, ...(label !== undefined ? { label } : {}), ...(jump !== undefined ? { goto: jump } : {}) };
}

/** Parses a rules file's text. GOTO targets are indexes into the returned rules. */
export function parseRules(text: string, file: string): { rules: Rule[]; diagnostics: Diagnostic[] } {
  const rules: Rule[] = [];
  const diagnostics: Diagnostic[] = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let cont: string | undefined;
  let tooLong = false;
  lines.forEach((physical, n) => {
    const line = n + 1;
    const say: Say = (level, message) => diagnostics.push({ file, line, level, message });
    let s = physical.replace(/^[ \t\n\r]+/, '').replace(/\r$/, '');
    if (s.startsWith('#')) return;
    if (cont !== undefined && !tooLong) {
      if (cont.length + s.length >= lineMax) tooLong = true;
      cont += s;
      if (!tooLong) s = cont;
    }
    if (s.endsWith('\\')) {
      // s is the first physical line or the continuation so far: either way it is what continues
      if (!tooLong) cont = s.slice(0, -1);
      return;
    }
    if (tooLong) say('error', 'Line is too long, ignored.');
    else if (s) {
      const r = parseLine(s, say);
      if (r) rules.push({ file, line, ...r });
    }
    cont = undefined;
    tooLong = false;
  });
  if (cont !== undefined)
    diagnostics.push({
      file,
      line: lines.length,
      level: 'error',
      message: 'Unexpected EOF after line continuation, line ignored.',
    });
  rules.forEach((r, i) => {
    if (r.goto === undefined) return;
    const target = rules.findIndex((x, j) => j > i && x.label === r.goto);
    if (target >= 0) r.target = target;
    else {
      diagnostics.push({
        file,
        line: r.line,
        level: 'error',
        message: `GOTO="${r.goto}" has no matching label, ignoring.`,
      });
      delete r.goto;
    }
  });
  return { rules, diagnostics };
}
