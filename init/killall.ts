// The end of the line: every process still under init is SIGKILLed and reaped before init exits, so nothing
// outlives it (as a subreaper, survivors would otherwise be adopted by the real PID 1 and run on unmanaged).
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every descendant of `pid`: children are listed per thread, in /proc/PID/task/TID/children. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of children(queue.pop()!)) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function children(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // it is gone already
  }
  for (const tid of tasks) {
    try {
      const listed = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const c of listed.split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // the thread ended while we looked
    }
  }
  return out;
}

const PASS_MS = 10;

/**
 * SIGKILLs every descendant until none is left (zombies included: `reap` must collect ours, libuv its own), and
 * returns those still there after `timeoutMs`: stuck in the kernel (D state), nothing more to do about them.
 * As PID 1 of a namespace, kill(-1) reaches every process in it but us, even ones that escaped our tree.
 */
export async function killAll(pid1: boolean, reap: () => void, timeoutMs = 5000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = descendants(process.pid);
    if (pid1) signal(-1); // even when /proc is not mounted and `left` is empty
    else left.forEach(signal);
    reap();
    if (!left.length || Date.now() > deadline) return left;
    await sleep(PASS_MS);
  }
}

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ESRCH: it exited since we listed it, or (kill(-1)) nothing is left to signal
  }
}
