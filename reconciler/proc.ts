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

/** A process's parent and session, from one read. */
export function lineageOf(pid: number): { parent: number; session: number } | null {
  const f = stat(pid);
  return f ? { parent: Number(f[PPID]), session: Number(f[SESSION]) } : null;
}

/** A live process that carries SYSMASTER_UNIT in its environment, as every process a core spawns does. */
export interface UnitProcess {
  pid: number;
  session: number;
  group: number;
  /** Field 22: of two processes, the one that started first has the lower value. */
  start: bigint;
  unit: string;
  /** SYSMASTER_SPAWN: which spawn started it or its first ancestor (null from a core that gave none). */
  spawn: string | null;
}

/**
 * Every live process below `root` that carries SYSMASTER_UNIT, in one pass over /proc. A unit's processes are all
 * below our init (orphans reparent to it), so a process of another manager with a unit of the same name is not
 * taken; environments are read only below `root`, and never ours (`self`, which may carry an outer manager's).
 */
export function unitProcesses(root: number, self = process.pid): UnitProcess[] {
  const stats = new Map<number, string[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = stat(Number(d));
    if (f && f[STATE] !== 'Z' && f[STATE] !== 'X') stats.set(Number(d), f);
  }
  const below = new Map<number, boolean>([[root, true]]);
  const isBelow = (pid: number): boolean => {
    const path: number[] = [];
    let p = pid;
    let known = below.get(p);
    while (known === undefined) {
      path.push(p);
      const f = stats.get(p);
      p = f ? Number(f[PPID]) : 0;
      known = p === 0 ? false : below.get(p);
    }
    for (const q of path) below.set(q, known);
    return known;
  };
  const out: UnitProcess[] = [];
  for (const [pid, f] of stats) {
    if (pid === root || pid === self || !isBelow(pid)) continue;
    let env: string;
    try {
      env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    const unit = variable(env, 'SYSMASTER_UNIT');
    if (unit === null) continue;
    const [session, group, start] = [Number(f[SESSION]), Number(f[PGRP]), BigInt(f[STARTTIME])];
    out.push({ pid, session, group, start, unit, spawn: variable(env, 'SYSMASTER_SPAWN') });
  }
  return out;
}

/**
 * A unit's processes after a takeover, by its cgroup when it has one (docs/cgroups.md, Recovery): every member is
 * the unit's, also one that cleared its environment (`env -i`), and a process that carries the unit's variable but
 * lives outside the cgroup is not. `members` null: the unit has no cgroup, the /proc scan's `found` stands.
 */
export function unitMembers(unit: string, found: UnitProcess[], members: number[] | null): UnitProcess[] {
  if (members === null) return found;
  const byPid = new Map(found.map((p) => [p.pid, p]));
  return members.flatMap((pid) => {
    const known = byPid.get(pid);
    if (known) return [known];
    const f = stat(pid);
    if (!f || f[STATE] === 'Z' || f[STATE] === 'X') return [];
    return [{ pid, session: Number(f[SESSION]), group: Number(f[PGRP]), start: BigInt(f[STARTTIME]), unit, spawn: null }];
  });
}

/** The value of `name` in a NUL-separated environment block, or null. */
function variable(environ: string, name: string): string | null {
  const key = `\0${name}=`;
  const at = `\0${environ}`.indexOf(key);
  if (at < 0) return null;
  const end = environ.indexOf('\0', at + key.length - 1);
  return environ.slice(at + key.length - 1, end < 0 ? undefined : end);
}
