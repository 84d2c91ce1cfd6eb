// Starting one service process: systemd's command-line expansion, an executable looked up and checked up front
// (so the error names the path), its own session, exactly the environment given, and output wired as the spec says.
// The manager's `journal` output is a FIFO the process holds read-write (output.ts): it outlives the manager.
//
// Two ways, one contract (test/os/spawn.test.ts runs the same suite over each):
// - posix_spawn (sys.ts), whenever a Reaper runs. glibc's clone(CLONE_VM | CLONE_VFORK) copies no page tables, so
//   it blocks the main thread well under a millisecond, where libuv's fork blocks it for several, more the bigger
//   our RSS. libuv knows nothing of these pids: the Reaper reaps them and hands each exit back (expectExit in
//   reaper.ts). Without a started Reaper nobody would reap them, which is the one reason to fall back. The
//   attributes give a new session, every signal at SIG_DFL (Node ignores SIGPIPE and SIGXFSZ) and an empty mask;
//   the child gets fds 0–2 and nothing else. spawnOffThread moves the call to a pool thread.
// - child_process.spawn, for User=/Group= (posix_spawn cannot switch ids) and when no Reaper runs. libuv owns and
//   reaps these pids (importing reaper.ts first registers them) and, checked here (Node 20.20, libuv 1.46), resets
//   every signal to SIG_DFL and unblocks the mask before exec. Fds of ours without close-on-exec do leak here.
import { expectExit, reaperRunning } from './reaper.js';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, closeSync, constants as fsc, openSync, statSync } from 'node:fs';
import { Socket } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { ExitInfo } from '../machines/types.js';
import type { OutputTarget } from '../specs/types.js';
import { LineSplitter, type Fifo, type Stream } from './output.js';
import { enterScript } from './cgroups.js';
import { pipe, posixSpawn, posixSpawnAsync, type SpawnRequest } from './sys.js';

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
  E2BIG: 'argument list too long',
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
  /**
   * `journal` outputs through FIFOs that outlive us (output.ts): the process holds its FIFO open read-write, so
   * it never gets SIGPIPE when our reader goes, and the FIFO's reader gets its lines. The manager's way.
   */
  fifos?: Partial<Record<Stream, Fifo>>;
  /** Lines of `journal` outputs that have no FIFO: those go through a pipe only we read. */
  onLine?(stream: Stream, line: string): void;
  /** Exported as NOTIFY_SOCKET. */
  notifySocket?: string;
  /**
   * Descriptors the process gets as fds 3, 4, ... with systemd's LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (a
   * socket unit's listening sockets, or an accepted connection). They stay ours: the child gets copies.
   */
  passFds?: { fd: number; name: string }[];
  /**
   * NotifyFd=: the process gets this FIFO at fd `fd` (above the passed ones), held read-write like a journal FIFO,
   * so a write never raises SIGPIPE when our reader goes, and the FIFO's reader gets its lines.
   */
  notifyFd?: { fd: number; fifo: Fifo };
  /**
   * The cgroup.procs files of the unit's cgroups (Cgroups.procsFiles): a shell writes its own pid there before it
   * execs the command, so the process is in its cgroups before it can fork. With uid, that shell runs as root and
   * drops the ids itself through setpriv(1): as the user it could not write cgroup.procs.
   */
  cgroup?: string[];
}

export interface SpawnHandle {
  /**
   * Set as soon as the process exists: synchronously when spawnProcess returns, except with spawnOffThread, where
   * it is set just before `spawned` resolves. Undefined when it failed.
   */
  pid: number | undefined;
  /** The pid, once exec succeeded; rejects with a SpawnError. Never an unhandled rejection if ignored. */
  spawned: Promise<number>;
  /**
   * How the process ended. `core` is always false on the child_process path: libuv does not pass WCOREDUMP on.
   * Rejects like `spawned` when the process never ran.
   */
  exited: Promise<ExitInfo>;
  /**
   * Every `journal` line has been delivered: its pipes or FIFOs reached EOF, which can be long after `exited` when
   * a child of the process still holds them (a FIFO: or another process given the same FIFO). Resolves at once
   * without journal outputs, and also on failure.
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

/**
 * Where fd 1 or 2 goes, as child_process spells it; a number is a file we opened; `fifo` is a journal FIFO the
 * process is given read-write.
 */
type Wiring = 'pipe' | 'inherit' | 'ignore' | number | { fifo: string };

/** Wiring for stdout and stderr, and what to release once the child has its copies (or never will). */
interface Outputs {
  stdio: [Wiring, Wiring];
  /** Files we opened: closed. */
  opened: number[];
  /** FIFOs whose reader waits for this process: told it has opened them. */
  fifos: ReturnType<Fifo['attach']>[];
  /** The NotifyFd= FIFO, released like `fifos`; not journal output, so `drained` does not wait for it. */
  notify?: { fd: number; path: string; attached: ReturnType<Fifo['attach']> };
}

function fifosDrained(out: Outputs): Promise<void> {
  return Promise.all(out.fifos.map((f) => f.drained)).then(() => {});
}

function releaseOutputs(out: Outputs): void {
  for (const fd of out.opened) closeSync(fd);
  for (const f of out.fifos) f.opened();
  out.notify?.attached.opened();
}

function openOutputs(opts: SpawnOptions): Outputs {
  const out: Outputs = { stdio: ['ignore', 'ignore'], opened: [], fifos: [] };
  const one = (t: OutputTarget, stream: Stream): Wiring => {
    const name = stream === 'stdout' ? 'StandardOutput' : 'StandardError';
    switch (t.kind) {
      case 'journal': {
        const fifo = opts.fifos?.[stream];
        if (!fifo) return 'pipe';
        try {
          out.fifos.push(fifo.attach());
        } catch (e) {
          throw spawnError(e, `${name}=journal: cannot open ${fifo.path}`);
        }
        return { fifo: fifo.path };
      }
      case 'inherit':
        return 'inherit';
      case 'null':
        return 'ignore';
      default:
        try {
          const fd = openSync(t.path, openFlags[t.kind], 0o644);
          out.opened.push(fd);
          return fd;
        } catch (e) {
          throw spawnError(e, `${name}=${t.kind}:${t.path}: cannot open`);
        }
    }
  };
  try {
    const { stdout, stderr } = opts;
    const o = one(stdout, 'stdout');
    // The same file for both shares one open file description, as systemd does: two would overwrite each other.
    const sameFile = stdout.kind === stderr.kind && 'path' in stdout && 'path' in stderr && stdout.path === stderr.path;
    out.stdio = [o, sameFile ? o : one(stderr, 'stderr')];
    const n = opts.notifyFd;
    if (n) {
      try {
        out.notify = { fd: n.fd, path: n.fifo.path, attached: n.fifo.attach() };
      } catch (e) {
        throw spawnError(e, `NotifyFd=${n.fd}: cannot open ${n.fifo.path}`);
      }
    }
  } catch (err) {
    releaseOutputs(out);
    throw err;
  }
  return out;
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


/** Journal pipes to onLine, line by line; resolves once every pipe has closed. */
function capture(streams: [Stream, Readable | null][], opts: SpawnOptions): Promise<void> {
  const ends: Promise<void>[] = [];
  for (const [stream, readable] of streams) {
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

/** What either path starts, checked up front. */
interface Command {
  file: string;
  argv0: string;
  args: string[];
  env: Record<string, string>;
  /** The command drops to uid/gid itself (the cgroup wrapper): the spawn must not switch ids. */
  dropsIds?: boolean;
}

function prepare(opts: SpawnOptions): Command {
  const env: Record<string, string> = { ...opts.env, ...opts.extraEnv };
  if (opts.notifySocket) env.NOTIFY_SOCKET = opts.notifySocket;
  const passed = opts.passFds ?? [];
  if (passed.length) {
    env.LISTEN_FDS = String(passed.length);
    env.LISTEN_FDNAMES = passed.map((f) => f.name).join(':');
  }
  if (opts.argv.length === 0) throw new SpawnError('EINVAL', 'empty command line (EINVAL)');
  if (opts.uid !== undefined && opts.gid === undefined) {
    throw new SpawnError('EINVAL', `uid ${opts.uid} given without a gid (EINVAL)`);
  }
  const notifyFd = opts.notifyFd?.fd;
  if (notifyFd !== undefined && notifyFd < 3 + passed.length) {
    const taken = passed.length > 1 ? `fds 3 to ${2 + passed.length} are its LISTEN_FDS sockets` : passed.length ? 'fd 3 is its LISTEN_FDS socket' : 'fds 0 to 2 are stdio';
    throw new SpawnError('EINVAL', `NotifyFd=${notifyFd} is taken: ${taken}; set NotifyFd = ${3 + passed.length} or more (EINVAL)`);
  }
  if (opts.cwd) checkCwd(opts.cwd);
  const file = resolveExecutable(opts.argv[0], env.PATH, opts.cwd);
  const args = expandArgv(opts.argv.slice(1), env);
  // C strings end at a NUL: the process would get something else than what was asked.
  for (const s of [opts.argv[0], ...args, ...Object.entries(env).flat()]) {
    if (s.includes('\0')) {
      throw new SpawnError('EINVAL', `${JSON.stringify(s)}: NUL byte in an argument or variable (EINVAL)`);
    }
  }
  // sd_listen_fds() wants LISTEN_PID to be the process's own pid, which is known only in the child: a shell sets
  // it and execs the command in the same process (no word of the command passes through the shell). The cgroup
  // wrapper is the same shell, after expansion (it would turn `$$` into `$`).
  const cg = opts.cgroup?.length ? enterScript(opts.cgroup) : '';
  const listen = passed.length ? 'LISTEN_PID=$$; export LISTEN_PID; ' : '';
  if (!cg && !listen) return { file, argv0: opts.argv[0], args, env };
  const drop = cg && opts.uid !== undefined ? setprivArgs(opts) : [];
  const script = `${cg}${listen}exec ${drop.length ? `${SETPRIV} ${drop.join(' ')} -- ` : ''}"$0" "$@"`;
  return { file: SH, argv0: SH, args: ['-c', script, file, ...args], env, dropsIds: drop.length > 0 };
}

/** setpriv(1)'s switch to the process's ids, supplementary groups included (none: cleared, as libuv does). */
function setprivArgs(opts: SpawnOptions): string[] {
  const extra = (opts.groups ?? []).filter((g) => g !== opts.gid);
  return [`--reuid=${opts.uid}`, `--regid=${opts.gid}`, extra.length ? `--groups=${[opts.gid, ...extra].join(',')}` : '--clear-groups'];
}

const SH = '/bin/sh';

/**
 * Start a process in its own session and process group (pgid = pid, so kill(-pid) reaches its children).
 * Never throws: every failure arrives as a rejected `spawned`/`exited`.
 */
export function spawnProcess(opts: SpawnOptions): SpawnHandle {
  let cmd: Command;
  try {
    cmd = prepare(opts);
  } catch (err) {
    return failed(err instanceof SpawnError ? err : spawnError(err, opts.argv[0] ?? ''));
  }
  const fast = opts.uid === undefined && opts.gid === undefined && reaperRunning();
  return fast ? viaPosixSpawn(cmd, opts) : viaChildProcess(cmd, opts);
}

function viaChildProcess(cmd: Command, opts: SpawnOptions): SpawnHandle {
  let out: Outputs;
  let stdio: StdioOptions;
  try {
    out = openOutputs(opts);
  } catch (err) {
    return failed(err as SpawnError);
  }
  try {
    // libuv cannot open a file in the child: the process gets a copy of our read-write fd, closed after the spawn.
    const fds: (Wiring | number)[] = ['ignore', ...out.stdio.map((w) => (typeof w === 'object' ? openFifo(w.fifo, out) : w)), ...(opts.passFds ?? []).map((f) => f.fd)];
    // Up to the NotifyFd= number: fds past 2 given as 'ignore' stay closed in the child.
    if (out.notify) fds.push(...Array<'ignore'>(out.notify.fd - fds.length).fill('ignore'), openFifo(out.notify.path, out, `NotifyFd=${out.notify.fd}`));
    stdio = fds as StdioOptions;
  } catch (err) {
    releaseOutputs(out);
    return failed(err as SpawnError);
  }
  let { file, argv0, args } = cmd;
  let ids: { uid?: number; gid?: number } = cmd.dropsIds ? {} : { uid: opts.uid, gid: opts.gid };
  const extraGroups = (opts.groups ?? []).filter((g) => g !== opts.gid);
  if (!cmd.dropsIds && opts.uid !== undefined && extraGroups.length > 0) {
    // libuv can only clear supplementary groups; setpriv sets them, then execs the command in the same process.
    // The price: a failed exec of the command shows up as exit status 127/126 instead of a spawn error.
    args = [...setprivArgs(opts), '--', file, ...args];
    argv0 = SETPRIV;
    file = SETPRIV;
    ids = {};
  }

  let child: ChildProcess;
  try {
    child = spawn(file, args, { argv0, env: cmd.env, cwd: opts.cwd, ...ids, stdio, detached: true });
  } catch (err) {
    return failed(spawnError(err, `cannot start ${file}${opts.uid !== undefined ? ` as uid ${opts.uid}` : ''}`));
  } finally {
    releaseOutputs(out);
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
  const piped = capture(
    [
      ['stdout', child.stdout],
      ['stderr', child.stderr],
    ],
    opts,
  );
  // A process that never ran never held its FIFOs: their EOF is not its business.
  const drained = Promise.all([piped, spawned.promise.then(() => fifosDrained(out), () => {})]).then(() => {});
  return { pid: child.pid, spawned: spawned.promise, exited: exited.promise, drained };
}

/** A FIFO opened read-write here, for the child_process path. */
function openFifo(path: string, out: Outputs, what = 'journal'): number {
  try {
    const fd = openSync(path, fsc.O_RDWR);
    out.opened.push(fd);
    return fd;
  } catch (e) {
    throw spawnError(e, `${what}: cannot open ${path}`);
  }
}

/** Off the main thread: see spawnOffThread. */
let offThread = false;

/**
 * Run posix_spawn on a libuv pool thread: the main thread then spends about 0.1 ms per spawn instead of about
 * 0.7 ms (bench/spawn.ts). The price, and why it is off by default: the child runs, and may send sd_notify
 * messages, before its `spawned` resolves and `pid` is set, so a message from a pid nobody knows yet may come from
 * a child of ours. Turn it on only where such messages are retried through afterSpawns.
 */
export function spawnOffThread(on: boolean): void {
  offThread = on;
}

/**
 * At most this many spawns on pool threads at once; more wait their turn. Each holds one of libuv's 4 pool
 * threads (fs calls need them too) until its exec, koffi refuses more than 256 queued async calls, and a waiting
 * spawn holds no fd yet. bench/spawn.ts: 2 beat 1 and matched 4 and 8.
 */
const MAX_IN_FLIGHT = 2;
let inFlight = 0;
const waiting: (() => void)[] = [];
/** Off-thread spawns, numbered as asked for; those whose `spawned` has not resolved or rejected yet. */
let asked = 0;
const unsettled = new Set<number>();
const retries: { after: number; retry: () => void }[] = [];

function settled(id: number): void {
  unsettled.delete(id);
  const first = unsettled.size ? Math.min(...unsettled) : Infinity;
  for (let i = retries.length - 1; i >= 0; i--) {
    if (retries[i].after < first) {
      // After the `spawned` reactions (microtasks) of callers: they record the pid there.
      setImmediate(retries[i].retry);
      retries.splice(i, 1);
    }
  }
}

/**
 * For a message from a pid nobody knows: when spawns asked for so far are still under way off the main thread
 * (one of them may be its sender), calls `retry` once they have all settled and the callers' `spawned` handlers
 * have run, and returns true. Returns false when there are none.
 */
export function afterSpawns(retry: () => void): boolean {
  if (unsettled.size === 0) return false;
  retries.push({ after: asked, retry });
  return true;
}

function schedule(job: (done: () => void) => void): void {
  const run = () => {
    inFlight++;
    job(() => {
      inFlight--;
      waiting.shift()?.();
    });
  };
  if (inFlight < MAX_IN_FLIGHT) run();
  else waiting.push(run);
}

/** fds 0–2 for posix_spawn: our journal pipes' read ends, and what to release once the child has its copies. */
interface PosixStdio {
  stdio: SpawnRequest['stdio'];
  reads: [Stream, number][];
  out: Outputs;
}

function posixStdio(opts: SpawnOptions): PosixStdio {
  const out = openOutputs(opts);
  const io: PosixStdio = { stdio: [null, null, null], reads: [], out };
  try {
    for (const fd of [1, 2] as const) {
      const w = out.stdio[fd - 1];
      if (w === 'pipe') {
        const [read, write] = pipe();
        io.reads.push([fd === 1 ? 'stdout' : 'stderr', read]);
        out.opened.push(write);
        io.stdio[fd] = write;
      } else if (typeof w === 'object') {
        // Opened by the child itself: no copy of a writer stays here, even for a moment.
        io.stdio[fd] = { open: w.fifo, flags: fsc.O_RDWR };
      } else {
        io.stdio[fd] = w === 'inherit' ? fd : w === 'ignore' ? null : w;
      }
    }
  } catch (err) {
    releaseOutputs(out);
    for (const [, r] of io.reads) closeSync(r);
    throw spawnError(err, 'output pipe');
  }
  return io;
}

/** A failed posix_spawn: the working directory if it has gone since it was checked, else the executable. */
function launchError(err: unknown, file: string, cwd: string | undefined): SpawnError {
  if (cwd) {
    try {
      checkCwd(cwd);
    } catch (e) {
      return e as SpawnError;
    }
  }
  return spawnError(err, file);
}

/**
 * Children of ours that have not exited keep the event loop alive, as a ChildProcess does: their exits come from
 * the Reaper's SIGCHLD handler, which does not.
 */
let living = 0;
let keepAlive: NodeJS.Timeout | undefined;
function hold(): void {
  if (living++ === 0) keepAlive = setInterval(() => {}, 0x7fffffff);
}
function release(): void {
  if (--living === 0) clearInterval(keepAlive);
}

function viaPosixSpawn(cmd: Command, opts: SpawnOptions): SpawnHandle {
  const spawned = deferred<number>();
  const exited = deferred<ExitInfo>();
  hold();
  exited.promise.then(release, release);
  let drain!: () => void;
  const handle: SpawnHandle = {
    pid: undefined,
    spawned: spawned.promise,
    exited: exited.promise,
    drained: new Promise((res) => (drain = res)),
  };
  const fail = (err: SpawnError) => {
    spawned.reject(err);
    exited.reject(err);
    drain();
  };
  const off = offThread;
  // The fds are made only when the spawn's turn comes: 300 waiting spawns would hold 1,200.
  const start = (next: () => void) => {
    let io: PosixStdio;
    try {
      io = posixStdio(opts);
    } catch (err) {
      fail(err as SpawnError);
      return next();
    }
    const req: SpawnRequest = {
      path: cmd.file,
      argv: [cmd.argv0, ...cmd.args],
      env: Object.entries(cmd.env).map(([k, v]) => `${k}=${v}`),
      cwd: opts.cwd,
      stdio: io.stdio,
      passFds: opts.passFds?.map((f) => f.fd),
      files: io.out.notify && [{ fd: io.out.notify.fd, open: io.out.notify.path, flags: fsc.O_RDWR }],
    };
    const expected = expectExit();
    const finish = (err: Error | null, pid: number) => {
      releaseOutputs(io.out);
      next();
      if (err) {
        expected.cancel();
        for (const [, fd] of io.reads) closeSync(fd);
        return fail(launchError(err, cmd.file, opts.cwd));
      }
      handle.pid = pid;
      const streams = io.reads.map(([stream, fd]): [Stream, Readable] => [
        stream,
        new Socket({ fd, readable: true, writable: false }),
      ]);
      void Promise.all([capture(streams, opts), fifosDrained(io.out)]).then(drain);
      spawned.resolve(pid);
      expected.watch(pid, (info) => exited.resolve(info));
    };
    if (off) {
      try {
        posixSpawnAsync(req, finish);
      } catch (err) {
        finish(err as Error, 0);
      }
      return;
    }
    let pid: number;
    try {
      pid = posixSpawn(req);
    } catch (err) {
      return finish(err as Error, 0);
    }
    finish(null, pid);
  };
  if (!off) {
    start(() => {});
  } else {
    const id = ++asked;
    unsettled.add(id);
    spawned.promise.then(
      () => settled(id),
      () => settled(id),
    );
    schedule(start);
  }
  return handle;
}
