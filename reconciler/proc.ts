// Facts about a process from /proc/PID/stat. A pid alone is not an identity (pids are reused): pid plus start
// time is, which is how a core that restarts recognises the processes it had started.
import fs, { readFileSync } from 'node:fs';

/** The fields of /proc/PID/stat from field 3 (state) on, or null when the process is gone. */
function stat(pid: number): string[] | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2, the command name, is in parentheses and may itself contain ") " or spaces: cut after the last ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

// Index in stat()'s array = field number (proc(5), 1-based) - 3.
const STATE = 0;
const PPID = 1;
const PGRP = 2;
const SESSION = 3;
const STARTTIME = 19;

/** Field 22, the start time in clock ticks since boot, as a string (it is opaque, and may exceed 2^53). */
export function startTime(pid: number): string | null {
  return stat(pid)?.[STARTTIME] ?? null;
}

/**
 * Whether `pid` runs and, when `start` is given, is still the process that had that start time. A zombie has
 * exited: it is not alive, even while nobody has reaped it yet.
 */
export function isAlive(pid: number, start?: string | null): boolean {
  const f = stat(pid);
  if (!f || f[STATE] === 'Z' || f[STATE] === 'X') return false;
  return start == null || f[STARTTIME] === start;
}

function field(pid: number, i: number): number | null {
  const v = stat(pid)?.[i];
  return v === undefined ? null : Number(v);
}

export function sessionOf(pid: number): number | null {
  return field(pid, SESSION);
}

export function pgidOf(pid: number): number | null {
  return field(pid, PGRP);
}

export function parentOf(pid: number): number | null {
  return field(pid, PPID);
}

/** Live processes that lead their own session and carry SYSMASTER_UNIT=`unit` in their environment. */
export function processesOf(unit: string): number[] {
  const tag = Buffer.from(`SYSMASTER_UNIT=${unit}\0`);
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    try {
      if (sessionOf(pid) !== pid || !isAlive(pid)) continue;
      if (fs.readFileSync(`/proc/${d}/environ`).includes(tag)) out.push(pid);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}
