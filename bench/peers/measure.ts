// What every manager's adapter measures with (bench/peers/, issue 9): the manager's process tree read from /proc,
// its memory (RSS and PSS from smaps_rollup) and CPU summed over that tree without the payloads, the payloads found
// by the marker their sleep carries, waiting with timeouts, and median/min/max of the samples.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { descendants } from '../../init/killall.js';
import { median } from '../stats.js';

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** `pid` and every process below it, from the /proc children files (init/killall.ts). */
export function processTree(pid: number): number[] {
  return [pid, ...descendants(pid)];
}

/** The command line of a process, arguments joined by spaces; '' once it is gone or a zombie. */
export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/** The processes whose command line carries `marker` (the payloads: `sh -c '...; exec sleep MARKER'`, then `sleep`). */
export function payloadPids(marker: string, except: number[] = []): number[] {
  const skip = new Set([process.pid, ...except]);
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || skip.has(Number(d))) continue;
    if (cmdline(Number(d)).includes(marker)) out.push(Number(d));
  }
  return out;
}

/**
 * The manager's own processes: `root` and its descendants, less every payload (a process whose command line
 * carries the marker) and everything below a payload (a readiness helper it runs, such as systemd-notify).
 */
export function managerPids(root: number, marker: string): number[] {
  const tree = processTree(root);
  const payload = new Set<number>();
  for (const pid of tree) {
    if (payload.has(pid) || !cmdline(pid).includes(marker)) continue;
    payload.add(pid);
    for (const d of descendants(pid)) payload.add(d);
  }
  return tree.filter((pid) => !payload.has(pid));
}

/** The direct children of `pid` (every thread's children file). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // the thread ended while we looked
    }
  }
  return out;
}

/** Rss and Pss summed over `pids`, kB, from /proc/PID/smaps_rollup (a process gone meanwhile counts 0). */
export function memoryKb(pids: number[]): { rssKb: number; pssKb: number } {
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of pids) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    } catch {
      continue;
    }
    rssKb += Number(/^Rss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
    pssKb += Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
  }
  return { rssKb, pssKb };
}

/**
 * CPU (user + system) the live processes `pids` have used so far, ms. Children they reaped (cutime, cstime) are not
 * counted: those are payloads or short-lived helpers, not the manager. Read per thread from
 * /proc/PID/task/TID/schedstat (ns on CPU), not from utime + stime of /proc/PID/stat: those are whole 10 ms clock ticks
 * per process, so 300 supervisors that used 3 ms each would read 0. The ticks are the fallback where schedstat is
 * missing.
 */
export function cpuMs(pids: number[]): number {
  let ms = 0;
  for (const pid of pids) ms += threadsCpuMs(pid) ?? ticksCpuMs(pid);
  return ms;
}

/** ns on CPU of every live thread of `pid`, as ms; null if schedstat cannot be read. */
function threadsCpuMs(pid: number): number | null {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0; // gone
  }
  let ns = 0;
  for (const tid of tasks) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(`/proc/${pid}/task/${tid}`)) return null;
      // the thread ended while we looked
    }
  }
  return ns / 1e6;
}

/** utime + stime of /proc/PID/stat (all threads), ms. */
function ticksCpuMs(pid: number): number {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / USER_HZ; // fields 14 and 15: utime, stime
}

/** Memory and CPU of the manager's tree under `root` (payloads excluded), in RunResult's units. */
export function managerUsage(root: number, marker: string): { rssKb: number; pssKb: number; cpuMs: number; pids: number[] } {
  const pids = managerPids(root, marker);
  const usage = { ...memoryKb(pids), cpuMs: cpuMs(pids), pids };
  // BENCH_PEER_DEBUG=1: which processes were counted as the manager's, to check an adapter.
  if (process.env.BENCH_PEER_DEBUG) {
    for (const pid of pids) process.stderr.write(`\n  manager process ${pid}: ${JSON.stringify(memoryKb([pid]))} ${cmdline(pid).slice(0, 120)}`);
    process.stderr.write('\n');
  }
  return usage;
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Polls `check` every `intervalMs` until it returns a value other than false/undefined/null; throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  timeoutMs: number,
  intervalMs = 20,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== false && v !== null && v !== undefined) return v;
    if (performance.now() > deadline) {
      const more = detail();
      throw new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${more ? `: ${more}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Waits until no process carries `marker` any more (every payload gone); returns when that was seen. `except`: the
 * launcher's processes whose arguments carry the marker too (not payloads).
 */
export function payloadsGone(marker: string, timeoutMs = 60_000, except: number[] = []): Promise<number> {
  return waitFor(
    'every payload to be gone',
    () => (payloadPids(marker, except).length === 0 ? performance.now() : null),
    timeoutMs,
    10,
    () => `${payloadPids(marker, except).length} left`,
  );
}

/** SIGKILLs every payload still there (after a failed run), by pid. */
export function killPayloads(marker: string): number {
  const left = payloadPids(marker);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return left.length;
}

/** A plain environment, as PID 1 gets from the kernel: PATH (with this Node's directory) and nothing else. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, ...extra };
}

/** A manager launched as PID 1 of a new PID namespace, `unshare --pid --fork --mount-proc CMD ARGS`. */
export interface Namespaced {
  /** The unshare process (outside the namespace). */
  child: ChildProcess;
  /** Resolves with the host's pid of the namespace's PID 1, once it has exec'd (no longer unshare). */
  pid1: Promise<number>;
  /** Resolves when unshare has exited (the namespace's PID 1 is gone, and with it every process in it). */
  exited: Promise<number | null>;
  /** Everything the manager wrote to stdout and stderr, for error messages. */
  output(): string;
  /** Resolves with performance.now() when the output first matches `re`; rejects if unshare exits first or on timeout. */
  untilOutput(re: RegExp, timeoutMs: number): Promise<number>;
}

export function unshareAvailable(): string | null {
  return findProgram('unshare') ? null : 'unshare (util-linux) is not installed';
}

/** What running the workload with `systemd-notify --ready` in a PID namespace needs here: why not, or null. */
export function notifyPrerequisites(): string | null {
  return unshareAvailable() ?? (findProgram('systemd-notify') ? null : 'systemd-notify is not installed (Debian package systemd)');
}

/** Starts `command args` as PID 1 of its own PID namespace, with /proc remounted for it. */
export function startNamespaced(command: string, args: string[], env: Record<string, string> = cleanEnv(), cwd?: string): Namespaced {
  const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', command, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const watchers = new Set<() => void>();
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 64_000) out = out.slice(-32_000);
    for (const w of watchers) w();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.on('error', (err) => (out += `\n${err.message}`));
  const base = path.basename(command);
  const pid1 = waitFor(
    `${base} to start as PID 1 of its namespace`,
    () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`unshare ${base} exited early:\n${out.slice(-2000)}`);
      const [pid] = childrenOf(child.pid!);
      // Until it has exec'd, the forked child is still unshare.
      return pid && !cmdline(pid).startsWith('unshare') && cmdline(pid) !== '' ? pid : null;
    },
    10_000,
    2,
  );
  const untilOutput = (re: RegExp, timeoutMs: number) =>
    new Promise<number>((resolve, reject) => {
      const done = () => {
        watchers.delete(check);
        clearTimeout(timer);
      };
      const check = () => {
        if (re.test(out)) {
          done();
          resolve(performance.now());
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${re} from ${base}:\n${out.slice(-2000)}`));
      }, timeoutMs);
      watchers.add(check);
      void exited.then(() => {
        if (!watchers.has(check)) return;
        done();
        reject(new Error(`${base} exited before printing ${re}:\n${out.slice(-2000)}`));
      });
      check();
    });
  // Suppress unhandled rejections of pid1 when nobody waits for it (the caller awaits it in the normal case).
  pid1.catch(() => {});
  return { child, pid1, exited, output: () => out, untilOutput };
}

/** Sends `signal` to `pid`, ignoring a process already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: gone already
  }
}

export interface Summary {
  median: number;
  min: number;
  max: number;
}

/** Median, min and max of the samples (NaN each for none). */
export function summarize(xs: number[]): Summary {
  if (!xs.length) return { median: NaN, min: NaN, max: NaN };
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** ms since `t0` (performance.now()). */
export const since = (t0: number): number => performance.now() - t0;

/** The full path of a program found on cleanEnv()'s PATH, or null. */
export function findProgram(name: string): string | null {
  for (const dir of cleanEnv().PATH.split(':')) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}
