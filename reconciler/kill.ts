// Signalling a unit's processes as KillMode= says, by process groups: the way without cgroups (not root), and for
// a kill a new core re-sends. Every process spawnProcess starts leads its own session and group, so kill(-pid)
// reaches its children and their children. A process that leaves the group (setsid, a daemon's double fork, or a
// setpgid) is NOT reached here; with cgroups, effects.ts uses Cgroups.killAll, which reaches it.
import type { KillMode } from '../specs/types.js';

/** kill(2) failed for another reason than the process being gone (ESRCH is not an error here). */
export class KillError extends Error {
  constructor(
    readonly code: string,
    readonly target: number,
    readonly signal: Signal,
    options?: { cause?: unknown },
  ) {
    super(`kill(${target}, ${signal}): ${code}`, options);
    this.name = 'KillError';
  }
}

/** A name ('SIGTERM', as the spec writes it) or a number. */
export type Signal = string | number;

/** A pid that may be signalled: never 0, -1 or 1, which would reach our own group, everything, or init. */
function valid(pid: number | null | undefined): pid is number {
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 1;
}

function send(target: number, signal: Signal): boolean {
  try {
    process.kill(target, signal);
  } catch (err) {
    // ESRCH: gone. An unknown signal name arrives as ERR_UNKNOWN_SIGNAL.
    const code = (err as NodeJS.ErrnoException).code ?? 'EINVAL';
    if (code === 'ESRCH') return false;
    throw new KillError(code, target, signal, { cause: err });
  }
  // As systemd does: a stopped process acts on the signal only once continued. (0 only probes.)
  if (![0, 9, 18, 'SIGKILL', 'SIGCONT'].includes(signal)) {
    try {
      process.kill(target, 'SIGCONT');
    } catch {
      // gone already, from the first signal
    }
  }
  return true;
}

/** Signal every process of group `pgid`. False when the group is gone. */
export function signalGroup(pgid: number, signal: Signal): boolean {
  return valid(pgid) && send(-pgid, signal);
}

/** Signal one process. False when it is gone. */
export function signalProcess(pid: number, signal: Signal): boolean {
  return valid(pid) && send(pid, signal);
}

/** The group `pid` leads, or the process alone when it leads none (a PIDFile= daemon, say). */
function signalGroupOrProcess(pid: number, signal: Signal): boolean {
  return signalGroup(pid, signal) || signalProcess(pid, signal);
}

/**
 * A unit's processes. A dead leader's pid still names its group while any member lives (and the id cannot be
 * reused before), so killRest after the main process exited reaches what it left behind. But when no such group
 * exists the pid is signalled alone: pass only pids known to be ours (pid plus start time, see proc.ts), since a
 * reaped pid may have been reused.
 */
export interface UnitProcesses {
  mainPid?: number | null;
  controlPid?: number | null;
  /** Other process groups started for the unit, e.g. the group of a Type=forking ExecStart that has exited. */
  groups?: number[];
}

/** Every group of the unit: what KillMode=control-group signals, and what `mixed` SIGKILLs at the end. */
export function killRest(unit: UnitProcesses, signal: Signal = 'SIGKILL'): boolean {
  let any = false;
  for (const pid of [unit.mainPid, unit.controlPid]) if (valid(pid)) any = signalGroupOrProcess(pid, signal) || any;
  for (const pgid of unit.groups ?? []) any = signalGroup(pgid, signal) || any;
  return any;
}

/**
 * systemd's unit kill: `control-group` signals all of the unit's groups; `mixed` and `process` the main and
 * control processes only (with `mixed`, the caller later SIGKILLs the rest with killRest); `none` nothing.
 * Returns whether any process was signalled, i.e. whether there is something to wait for.
 */
export function killUnit(unit: UnitProcesses & { mode: KillMode; signal: Signal }): boolean {
  switch (unit.mode) {
    case 'none':
      return false;
    case 'control-group':
      return killRest(unit, unit.signal);
    case 'mixed':
    case 'process': {
      let any = false;
      for (const pid of [unit.mainPid, unit.controlPid]) if (valid(pid)) any = signalProcess(pid, unit.signal) || any;
      return any;
    }
  }
}
