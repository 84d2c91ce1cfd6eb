// Exec*= values → Command[]. A string is split the way systemd splits ExecStart= (extract_first_word with
// UNQUOTE|CUNESCAPE): whitespace separates words, single and double quotes group, C escapes work inside and outside
// quotes, and nothing else happens: no shell, `$VAR` stays literal for the runtime to expand.
import type { Command } from './types.js';

export class CommandError extends Error {
  readonly code = 'ECOMMAND';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export const expectCommands = 'a command line string, an argv array of strings, or a list of those';

const space = new Set([' ', '\t', '\n', '\r']);
const simpleEscapes: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  s: ' ',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Escapes with a fixed number of digits: letter → [digits, radix, what the digits must match]. */
const numericEscapes: Record<string, [number, number, RegExp]> = {
  x: [2, 16, /^[0-9a-fA-F]{2}$/],
  u: [4, 16, /^[0-9a-fA-F]{4}$/],
  U: [8, 16, /^[0-9a-fA-F]{8}$/],
};

/** Decodes the escape whose backslash is at text[i - 1]; returns the text it stands for and the index after it. */
function unescape(text: string, i: number): [string, number] {
  const c = text[i];
  if (c === undefined) throw new CommandError('trailing backslash', 'write \\\\ for a literal backslash');
  if (c in simpleEscapes) return [simpleEscapes[c], i + 1];
  const octal = c >= '0' && c <= '7';
  const numeric = numericEscapes[c];
  if (!octal && !numeric) throw new CommandError(`unknown escape \\${c}`, 'write \\\\ for a literal backslash');
  const [len, radix, shape] = octal ? [3, 8, /^[0-7]{3}$/] : numeric;
  const start = octal ? i : i + 1;
  const digits = text.slice(start, start + len);
  const escape = text.slice(i - 1, start + len);
  if (!shape.test(digits)) throw new CommandError(`bad escape ${escape}`);
  const code = parseInt(digits, radix);
  const valid = code > 0 && (octal ? code <= 255 : code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff));
  if (!valid) throw new CommandError(`bad escape ${escape}: not a valid character`);
  return [String.fromCodePoint(code), start + len];
}

/** Splits one command line into words like systemd's ExecStart=. Throws CommandError. */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && space.has(text[i])) i++;
    if (i >= text.length) return words;
    const atWordEnd = (j: number): boolean => j >= text.length || space.has(text[j]);
    // systemd's separator for several commands in one line; each command is a list element here instead.
    if (text[i] === ';' && atWordEnd(i + 1)) {
      throw new CommandError(
        'a lone ";" separating commands is not supported',
        'write a list of commands: [["a", "b"], ["c"]]; write \\; for a literal ";" word',
      );
    }
    if (text.startsWith('\\;', i) && atWordEnd(i + 2)) {
      words.push(';');
      i += 2;
      continue;
    }
    let word = '';
    let quote: string | null = null;
    while (i < text.length && (quote !== null || !space.has(text[i]))) {
      const c = text[i];
      if (c === '\\') {
        const [s, next] = unescape(text, i + 1);
        word += s;
        i = next;
      } else if (quote !== null && c === quote) {
        quote = null;
        i++;
      } else if (quote === null && (c === '"' || c === "'")) {
        quote = c;
        i++;
      } else {
        word += c;
        i++;
      }
    }
    if (quote !== null) throw new CommandError(`unterminated ${quote === '"' ? 'double' : 'single'} quote`);
    words.push(word);
  }
}

const unsupported: Record<string, string> = {
  '@': 'the "@" prefix (a separate argv[0])',
  '+': 'the "+" prefix (full privileges)',
  '!': 'the "!" prefix (ambient capabilities)',
  ':': 'the ":" prefix (no variable expansion)',
  '|': 'the "|" prefix (login shell)',
};

/** One argv (first word possibly prefixed) → Command. Throws CommandError. */
export function toCommand(argv: readonly string[]): Command {
  if (argv.length === 0 || argv[0] === '') throw new CommandError('empty command');
  let first = argv[0];
  let ignoreFailure = false;
  while (first && '-@+!:|'.includes(first[0])) {
    if (first[0] !== '-')
      throw new CommandError(`${unsupported[first[0]]} is not supported`, `remove "${first[0]}" from "${argv[0]}"`);
    ignoreFailure = true;
    first = first.slice(1);
  }
  if (first === '') throw new CommandError(`"${argv[0]}" names no program`);
  if (first.includes('/') && !first.startsWith('/')) {
    throw new CommandError(
      `"${first}" is neither an absolute path nor a bare name looked up in PATH`,
      'write the absolute path, as systemd requires',
    );
  }
  return { path: first, argv: [first, ...argv.slice(1)], ignoreFailure };
}

/**
 * An Exec*= value → its commands. A string is one command line; an array of strings is ONE argv; an array with an
 * array element is a list whose elements are commands (a string element is a command line). Throws CommandError.
 */
export function toCommands(value: unknown): Command[] {
  if (typeof value === 'string') return [toCommand(splitCommand(value))];
  if (!Array.isArray(value)) throw new CommandError(expectCommands);
  if (value.length === 0) return [];
  if (value.every((v) => typeof v === 'string')) {
    if (/\s/.test(value[0])) {
      throw new CommandError(
        `argv[0] ${JSON.stringify(value[0])} contains whitespace`,
        'an array of strings is one argv; for several commands write [[...], [...]], and for one argv whose program path has a space write [["/path with space", "arg"]]',
      );
    }
    return [toCommand(value)];
  }
  return value.map((v) => {
    if (typeof v === 'string') return toCommand(splitCommand(v));
    if (Array.isArray(v) && v.every((w) => typeof w === 'string')) return toCommand(v);
    throw new CommandError(expectCommands);
  });
}
