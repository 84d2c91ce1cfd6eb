// EnvironmentFile= as systemd reads it (src/basic/env-file.c): KEY=VALUE lines, shell-like quoting, comments.
// Not a shell: no `export` (`export FOO=1` has the invalid name "export FOO" and is dropped, as systemd drops
// it), no expansion of $VAR in values.
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';

/** An environment file that cannot be read. `code` is the errno name (ENOENT, EACCES, ...) or EINVAL. */
export class EnvFileError extends Error {
  constructor(
    readonly code: string,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EnvFileError';
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const WHITESPACE = ' \t\n\r';
const NEWLINE = '\n\r';
/** Inside double quotes a backslash escapes only these; before anything else it stays, as in sh. */
const SHELL_NEED_ESCAPE = '"\\`$';

type State = 'preKey' | 'key' | 'preValue' | 'value' | 'valueEscape' | 'single' | 'double' | 'doubleEscape' | 'comment';

/**
 * Parse an environment file. Lines with invalid names or no '=' are dropped; a later assignment wins.
 * Unquoted values lose surrounding whitespace; `\` escapes the next character and joins lines; single quotes are
 * literal; double quotes may span lines. A line starting with '#' or ';' is a comment.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  let state: State = 'preKey';
  let key = '';
  let value = '';
  let keyEnd = -1; // where trailing whitespace of the key starts
  let valueEnd = -1; // where trailing unquoted whitespace of the value starts
  const push = () => {
    const k = keyEnd >= 0 ? key.slice(0, keyEnd) : key;
    if (NAME.test(k)) env[k] = state === 'value' && valueEnd >= 0 ? value.slice(0, valueEnd) : value;
    key = '';
    value = '';
  };

  for (const c of text) {
    switch (state) {
      case 'preKey':
        if (c === '#' || c === ';') state = 'comment';
        else if (!WHITESPACE.includes(c)) {
          state = 'key';
          key = c;
          keyEnd = -1;
        }
        break;
      case 'key':
        if (NEWLINE.includes(c)) {
          state = 'preKey'; // no '=': not an assignment
          key = '';
        } else if (c === '=') {
          state = 'preValue';
          valueEnd = -1;
        } else {
          if (!WHITESPACE.includes(c)) keyEnd = -1;
          else if (keyEnd < 0) keyEnd = key.length;
          key += c;
        }
        break;
      case 'preValue':
        if (NEWLINE.includes(c)) {
          push();
          state = 'preKey';
        } else if (c === "'") state = 'single';
        else if (c === '"') state = 'double';
        else if (c === '\\') state = 'valueEscape';
        else if (!WHITESPACE.includes(c)) {
          state = 'value';
          value += c;
        }
        break;
      case 'value':
        if (NEWLINE.includes(c)) {
          push();
          state = 'preKey';
        } else if (c === '\\') {
          state = 'valueEscape';
          valueEnd = -1;
        } else {
          if (!WHITESPACE.includes(c)) valueEnd = -1;
          else if (valueEnd < 0) valueEnd = value.length;
          value += c;
        }
        break;
      case 'valueEscape':
        state = 'value';
        if (!NEWLINE.includes(c)) value += c; // an escaped newline joins the lines
        break;
      case 'single':
        if (c === "'") state = 'preValue';
        else value += c;
        break;
      case 'double':
        if (c === '"') state = 'preValue';
        else if (c === '\\') state = 'doubleEscape';
        else value += c;
        break;
      case 'doubleEscape':
        state = 'double';
        if (SHELL_NEED_ESCAPE.includes(c)) value += c;
        else if (c !== '\n') value += '\\' + c;
        break;
      case 'comment':
        if (NEWLINE.includes(c)) state = 'preKey';
        break;
    }
  }
  if (state !== 'preKey' && state !== 'key' && state !== 'comment') push();
  return env;
}

/**
 * Read one EnvironmentFile= entry. A missing `optional` file (systemd's `-` prefix) gives nothing; any other
 * failure is an EnvFileError naming the file. With several files, later ones win: merge in order.
 */
export function readEnvironmentFile(path: string, optional = false): Record<string, string> {
  if (!isAbsolute(path)) throw new EnvFileError('EINVAL', path, `EnvironmentFile=${path}: not an absolute path`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (optional && code === 'ENOENT') return {};
    throw new EnvFileError(code, path, `EnvironmentFile=${path}: cannot read (${code})`, { cause: err });
  }
  return parseEnvFile(text);
}
