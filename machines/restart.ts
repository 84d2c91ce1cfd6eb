// Restart=: systemd.service(5)'s table of exit causes against policies, as data.
import type { RestartPolicy } from '../specs/types.js';
import type { UnitResult } from './types.js';

/** The columns of systemd's table. `other` is a failure the table does not name (protocol, resources, oom-kill). */
export type RestartCause = 'clean' | 'exit-code' | 'signal' | 'timeout' | 'watchdog' | 'other';

export const RESTART_TABLE: Record<RestartPolicy, readonly RestartCause[]> = {
  no: [],
  always: ['clean', 'exit-code', 'signal', 'timeout', 'watchdog', 'other'],
  'on-success': ['clean'],
  'on-failure': ['exit-code', 'signal', 'timeout', 'watchdog', 'other'],
  'on-abnormal': ['signal', 'timeout', 'watchdog', 'other'],
  'on-abort': ['signal'],
  'on-watchdog': ['watchdog'],
};

/** The cause a run's result stands for; null for start-limit-hit, after which systemd never restarts. */
export function restartCause(result: UnitResult): RestartCause | null {
  switch (result) {
    case 'success':
      return 'clean';
    case 'exit-code':
      return 'exit-code';
    case 'signal':
    case 'core-dump':
      return 'signal';
    case 'timeout':
      return 'timeout';
    case 'watchdog':
      return 'watchdog';
    case 'start-limit-hit':
    case 'trigger-limit-hit':
      return null;
    case 'oom-kill':
    case 'resources':
    case 'protocol':
      return 'other';
  }
}

export function restartAllowed(policy: RestartPolicy, result: UnitResult): boolean {
  const cause = restartCause(result);
  return cause !== null && RESTART_TABLE[policy].includes(cause);
}
