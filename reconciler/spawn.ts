// Starting one service process: systemd's command-line expansion, an executable looked up and checked up front
// (so the error names the path), its own session, exactly the environment given, and output wired as the spec says.
//
// child_process.spawn, so libuv owns (and reaps) these pids; importing reaper.ts first registers them.
//
// Signal dispositions, checked on this machine (Node 20.20, libuv 1.46): Node ignores SIGPIPE and SIGXFSZ, but
// libuv resets every signal to SIG_DFL and unblocks the mask in the child before exec, so a service sees
// SigIgn: 0 in /proc/self/status (test/os/spawn.test.ts asserts it). Nothing to fix here.
import './reaper.js';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, closeSync, constants as fsc, openSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ExitInfo } from '../machines/types.js';
import type { OutputTarget } from '../specs/types.js';
import { LineSplitter } from './output.js';

/** A process could not be started. `code` is the errno name (ENOENT, EACCES, EPERM, ...). */
export class SpawnError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SpawnError';
  }
}

const reasons: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symbolic links',
  ENOEXEC: 'exec format error',
};
function spawnError(err: unknown, what: string): SpawnError {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'EINVAL';
  return new SpawnError(code, `${what}: ${reasons[code] ?? code} (${code})`, { cause: err });
}

/** systemd's search path for bare command names when the environment has no PATH. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function checkExecutable(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw spawnError(err, path);
  }
  if (!st.isFile()) throw new SpawnError('EACCES', `${path}: not a regular file (EACCES)`);
  try {
    accessSync(path, fsc.X_OK);
  } catch (err) {
    throw new SpawnError('EACCES', `${path}: not executable (EACCES)`, { cause: err });
  }
}

/**
 * The file a command runs: a path with a slash is checked as is (relative to `cwd`), a bare name is looked up in
 * `envPATH` like execvp. Throws SpawnError ENOENT/EACCES naming the path.
 */
export function resolveExecutable(file: string, envPATH?: string, cwd?: string): string {
  if (file.includes('/')) {
    const path = isAbsolute(file) ? file : resolve(cwd ?? process.cwd(), file);
    checkExecutable(path);
    return path;
  }
  const search = envPATH || DEFAULT_PATH;
  let denied: SpawnError | null = null;
  for (const dir of search.split(':')) {
    if (!isAbsolute(dir)) continue;
    try {
      const path = join(dir, file);
      checkExecutable(path);
      return path;
    } catch (err) {
      if (err instanceof SpawnError && err.code === 'EACCES') denied ??= err;
    }
  }
  throw denied ?? new SpawnError('ENOENT', `${file}: command not found in PATH ${search} (ENOENT)`);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const WHITESPACE = ' \t\n\r';

function lookup(env: Record<string, string>, name: string): string | undefined {
  return NAME.test(name) && Object.hasOwn(env, name) ? env[name] : undefined;
}

/** A value split into words as systemd does for a lone `$VAR`: on whitespace, quotes removed, `\x` is x. */
function splitWords(s: string): string[] {
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && WHITESPACE.includes(s[i])) i++;
    if (i >= s.length) return words;
    let word = '';
    let quote = '';
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\' && i + 1 < s.length) word += s[++i];
      else if (quote) {
        if (c === quote) quote = '';
        else word += c;
      } else if (WHITESPACE.includes(c)) break;
      else if (c === '"' || c === "'") quote = c;
      else word += c;
    }
    words.push(word);
  }
}

/** `${VAR}` substitutes inside a word (unset: empty), `$$` is `$`; anything else, `$VAR` included, stays literal. */
function expandWord(w: string, env: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < w.length; i++) {
    if (w[i] !== '$') {
      out += w[i];
    } else if (w[i + 1] === '$') {
      out += '$';
      i++;
    } else if (w[i + 1] === '{') {
      const close = w.indexOf('}', i + 2);
      const colon = w.indexOf(':', i + 2);
      // No closing brace, or systemd's `${VAR:-...}` forms, which it does not expand in command lines: literal.
      if (close < 0 || (colon >= 0 && colon < close)) {
        out += '$';
      } else {
        out += lookup(env, w.slice(i + 2, close)) ?? '';
        i = close;
      }
    } else {
      out += '$';
    }
  }
  return out;
}

/**
 * systemd's expansion of Exec*= arguments (not of the executable path): a word that is exactly `$VAR` becomes
 * the value split into words (none when unset); otherwise `${VAR}` substitutes in place and `$$` is `$`.
 */
export function expandArgv(words: string[], env: Record<string, string>): string[] {
  const out: string[] = [];
  for (const w of words) {
    if (w[0] === '$' && w[1] !== '{' && w[1] !== '$') {
      const value = lookup(env, w.slice(1));
      if (value !== undefined) out.push(...splitWords(value));
    } else {
      out.push(expandWord(w, env));
    }
  }
  return out;
}

export interface SpawnOptions {
  /** argv[0] is the command as written: an absolute path or a bare name looked up in env.PATH. */
  argv: string[];
  /** The whole environment of the process: nothing of the manager's own is added. */
  env: Record<string, string>;
  /** Manager-set variables (MAINPID, SERVICE_RESULT, ...): exported and expandable like env, winning over it. */
  extraEnv?: Record<string, string>;
  cwd?: string;
  uid?: number;
  /** Required with uid: without it the process would keep the manager's group. */
  gid?: number;
  /** Supplementary groups. libuv clears them when switching user; others than gid are set through setpriv(1). */
  groups?: number[];
  stdout: OutputTarget;
  stderr: OutputTarget;
  /** Lines of `journal` outputs. */
  onLine?(stream: 'stdout' | 'stderr', line: string): void;
  /** Exported as NOTIFY_SOCKET. */
  notifySocket?: string;
}

export interface SpawnHandle {
  /** Set as soon as the process exists (synchronously when spawnProcess returns, unless it failed). */
  pid: number | undefined;
  /** The pid, once exec succeeded; rejects with a SpawnError. Never an unhandled rejection if ignored. */
  spawned: Promise<number>;
  /**
   * How the process ended. `core` is always false: libuv does not pass WCOREDUMP on. Rejects like `spawned`
   * when the process never ran.
   */
  exited: Promise<ExitInfo>;
  /**
   * Every `journal` line has been delivered: its pipes reached EOF, which can be long after `exited` when a
   * child of the process still holds them. Resolves at once without journal outputs, and also on failure.
   */
  drained: Promise<void>;
}

const SETPRIV = '/usr/bin/setpriv';

const openFlags: Record<'file' | 'append' | 'truncate', number> = {
  // systemd's file: neither truncates nor appends: writes start at offset 0 over old contents.
  file: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_NOCTTY,
  truncate: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_NOCTTY,
  append: fsc.O_WRONLY | fsc.O_CREAT | fsc.O_APPEND | fsc.O_NOCTTY,
};

/** stdio for stdout and stderr; opened files are returned to be closed once the child has its copies. */
function openOutputs(out: OutputTarget, err: OutputTarget): { stdio: StdioOptions; opened: number[] } {
  const opened: number[] = [];
  const one = (t: OutputTarget, name: string): 'pipe' | 'inherit' | 'ignore' | number => {
    switch (t.kind) {
      case 'journal':
        return 'pipe';
      case 'inherit':
        return 'inherit';
      case 'null':
        return 'ignore';
      default:
        try {
          const fd = openSync(t.path, openFlags[t.kind], 0o644);
          opened.push(fd);
          return fd;
        } catch (e) {
          for (const fd of opened) closeSync(fd);
          throw spawnError(e, `${name}=${t.kind}:${t.path}: cannot open`);
        }
    }
  };
  const o = one(out, 'StandardOutput');
  // The same file for both shares one open file description, as systemd does: two would overwrite each other.
  const sameFile = out.kind === err.kind && 'path' in out && 'path' in err && out.path === err.path;
  const e = sameFile ? o : one(err, 'StandardError');
  return { stdio: ['ignore', o, e], opened };
}

function checkCwd(cwd: string): void {
  let st;
  try {
    st = statSync(cwd);
  } catch (err) {
    throw spawnError(err, `working directory ${cwd}`);
  }
  if (!st.isDirectory()) throw new SpawnError('ENOTDIR', `working directory ${cwd}: not a directory (ENOTDIR)`);
}

/** A promise settled from outside; marked handled, so a caller that ignores a rejection does not crash the process. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function failed(err: SpawnError): SpawnHandle {
  const spawned = deferred<number>();
  const exited = deferred<ExitInfo>();
  spawned.reject(err);
  exited.reject(err);
  return { pid: undefined, spawned: spawned.promise, exited: exited.promise, drained: Promise.resolve() };
}

function capture(child: ChildProcess, opts: SpawnOptions): Promise<void> {
  const ends: Promise<void>[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    const readable = child[stream];
    if (!readable) continue;
    const lines = new LineSplitter((line) => opts.onLine?.(stream, line));
    readable.on('data', (chunk: Buffer) => lines.push(chunk));
    ends.push(
      new Promise((res) => {
        // 'close' also comes after an 'error', when 'end' never does.
        readable.once('close', () => {
          lines.end();
          res();
        });
      }),
    );
    readable.on('error', () => {});
  }
  return Promise.all(ends).then(() => {});
}

/**
 * Start a process in its own session and process group (pgid = pid, so kill(-pid) reaches its children).
 * Never throws: every failure arrives as a rejected `spawned`/`exited`.
 */
export function spawnProcess(opts: SpawnOptions): SpawnHandle {
  const env: Record<string, string> = { ...opts.env, ...opts.extraEnv };
  if (opts.notifySocket) env.NOTIFY_SOCKET = opts.notifySocket;
  let file: string;
  let args: string[];
  let stdio: StdioOptions;
  let opened: number[];
  try {
    if (opts.argv.length === 0) throw new SpawnError('EINVAL', 'empty command line (EINVAL)');
    if (opts.uid !== undefined && opts.gid === undefined) {
      throw new SpawnError('EINVAL', `uid ${opts.uid} given without a gid (EINVAL)`);
    }
    if (opts.cwd) checkCwd(opts.cwd);
    file = resolveExecutable(opts.argv[0], env.PATH, opts.cwd);
    args = expandArgv(opts.argv.slice(1), env);
    ({ stdio, opened } = openOutputs(opts.stdout, opts.stderr));
  } catch (err) {
    return failed(err instanceof SpawnError ? err : spawnError(err, opts.argv[0] ?? ''));
  }

  let argv0 = opts.argv[0];
  let ids: { uid?: number; gid?: number } = { uid: opts.uid, gid: opts.gid };
  const extraGroups = (opts.groups ?? []).filter((g) => g !== opts.gid);
  if (opts.uid !== undefined && extraGroups.length > 0) {
    // libuv can only clear supplementary groups; setpriv sets them, then execs the command in the same process.
    // The price: a failed exec of the command shows up as exit status 127/126 instead of a spawn error.
    const groups = [opts.gid, ...extraGroups].join(',');
    args = [`--reuid=${opts.uid}`, `--regid=${opts.gid}`, `--groups=${groups}`, '--', file, ...args];
    argv0 = SETPRIV;
    file = SETPRIV;
    ids = {};
  }

  let child: ChildProcess;
  try {
    child = spawn(file, args, { argv0, env, cwd: opts.cwd, ...ids, stdio, detached: true });
  } catch (err) {
    return failed(spawnError(err, `cannot start ${file}${opts.uid !== undefined ? ` as uid ${opts.uid}` : ''}`));
  } finally {
    for (const fd of opened) closeSync(fd);
  }

  const spawned = deferred<number>();
  const exited = deferred<ExitInfo>();
  child.once('spawn', () => spawned.resolve(child.pid!));
  child.once('exit', (code, signal) => exited.resolve({ pid: child.pid!, code, signal, core: false }));
  // A persistent listener: an 'error' nobody listens to would throw. Only one before 'spawn' means the process
  // never ran; later ones can only come from ChildProcess.kill(), which nothing calls.
  child.on('error', (err) => {
    if (child.pid !== undefined) return;
    const e = spawnError(err, file);
    spawned.reject(e);
    exited.reject(e);
  });
  return { pid: child.pid, spawned: spawned.promise, exited: exited.promise, drained: capture(child, opts) };
}
