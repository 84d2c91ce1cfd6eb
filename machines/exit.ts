// How systemd judges a process's end (is_clean_exit() and exit_status_set_test() in systemd).
import type { ExitStatusSet } from '../specs/types.js';
import type { ExitInfo, UnitResult } from './types.js';

export type ExitResult = Extract<UnitResult, 'success' | 'exit-code' | 'signal' | 'core-dump'>;

/** A daemon that has no handler for these signals has not crashed when they kill it. */
const DAEMON_CLEAN_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE'];

/** Exit status 203 (EXIT_EXEC): what systemd reports when exec() itself failed. */
export const EXIT_EXEC = 203;

/**
 * The result a process's end stands for. `daemon` is true for long-running processes (the main process of every
 * Type but oneshot, and forking's ExecStart), which may be stopped by the four clean signals. A core dump is never
 * clean.
 */
export function exitResult(exit: Omit<ExitInfo, 'pid'>, success: ExitStatusSet, daemon: boolean): ExitResult {
  if (exit.signal === null) {
    return exit.code === 0 || success.codes.includes(exit.code ?? -1) ? 'success' : 'exit-code';
  }
  if (exit.core) return 'core-dump';
  const clean = (daemon && DAEMON_CLEAN_SIGNALS.includes(exit.signal)) || success.signals.includes(exit.signal);
  return clean ? 'success' : 'signal';
}

/** Whether an exit is listed in a set such as RestartPreventExitStatus=. */
export function exitListed(exit: Omit<ExitInfo, 'pid'> | null, set: ExitStatusSet): boolean {
  if (!exit) return false;
  return exit.signal === null ? set.codes.includes(exit.code ?? -1) : set.signals.includes(exit.signal);
}
