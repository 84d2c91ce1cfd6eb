// What every unit statechart shares with the engine. Machines import nothing from node:* and do no I/O:
// the runtime (reconciler/) injects effects with machine.provide() and feeds results back as events.

/** systemd's public states. Each machine maps its private states onto these with a total Record. */
export type ActiveState = 'inactive' | 'activating' | 'active' | 'reloading' | 'deactivating' | 'failed';

/** systemd's Result= values. */
export type UnitResult =
  | 'success'
  | 'exit-code'
  | 'signal'
  | 'core-dump'
  | 'timeout'
  | 'watchdog'
  | 'start-limit-hit'
  | 'oom-kill'
  | 'resources'
  | 'protocol'
  /** A socket or path unit triggered its unit more often than TriggerLimitBurst= within TriggerLimitIntervalSec=. */
  | 'trigger-limit-hit';

/**
 * Fields every machine's context carries, so the engine reads any unit the same way.
 * Times are absolute milliseconds (the runtime's clock; a simulated one in tests).
 */
export interface UnitContextBase {
  result: UnitResult;
  /** Failed start attempts so far; it rises once per failure, also when the unit goes on to auto-restart. */
  failures: number;
  /** When the public state last changed. */
  since: number;
  /** The one pending timer of the machine, or null. The runtime arms it and sends TIMEOUT when due. */
  deadline: number | null;
}

/** The UnitContextBase of a unit made at `now`: inactive since then, nothing failed, no timer. */
export function freshContext(now: number): UnitContextBase {
  return { result: 'success', failures: 0, since: now, deadline: null };
}

/** Events every machine accepts. `now` is the time of the event: machines never read a clock. */
export type CommonEvent =
  | { type: 'START'; now: number }
  | { type: 'STOP'; now: number }
  | { type: 'RELOAD'; now: number }
  | { type: 'RESET_FAILED'; now: number }
  | { type: 'TIMEOUT'; now: number };

export type ProcRole = 'main' | 'control';

/** A process's end as the reaper decodes it. */
export interface ExitInfo {
  pid: number;
  /** Exit code, or null when a signal killed it. */
  code: number | null;
  /** 'SIGKILL', or null when it exited. */
  signal: string | null;
  core: boolean;
  /** The kernel's OOM killer killed it: its unit's memory cgroup counted an OOM kill meanwhile. */
  oom?: boolean;
}

/** Events that process-owning machines (service) accept on top of CommonEvent. */
export type ProcessEvent =
  /** The runtime started the process (exec succeeded). */
  | { type: 'SPAWNED'; role: ProcRole; pid: number; now: number }
  /**
   * exec failed (missing binary, permission denied, bad user...). Like systemd, treated as exit status `code`, 203
   * (EXIT_EXEC) when absent; what failed before exec has its own (233: a RuntimeDirectory= that could not be made).
   */
  | { type: 'SPAWN_FAILED'; role: ProcRole; error: string; code?: number; now: number }
  | ({ type: 'EXIT'; now: number } & ExitInfo)
  /** An sd_notify datagram the runtime already checked against NotifyAccess. */
  | { type: 'NOTIFY'; pid: number; fields: Record<string, string>; now: number }
  /** Answer to the readPidFile effect: the pid in PIDFile=, checked alive, or null. */
  | { type: 'PIDFILE'; pid: number | null; now: number }
  /** The kernel's OOM killer killed a process of the unit's cgroup (its memory cgroup counted one more). */
  | { type: 'OOM'; now: number };
