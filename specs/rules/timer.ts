// What a timer's keys cannot say one by one (systemd's timer_verify()), with its message.
import type { SpecProblem } from '../errors.js';
import type { TimerConfig, UnitSpec } from '../types.js';

/** The keys that make a timer elapse. */
export const ELAPSE_KEYS = ['OnActiveSec', 'OnBootSec', 'OnStartupSec', 'OnUnitActiveSec', 'OnUnitInactiveSec', 'OnCalendar'] as const;

/** Problems of one timer; a rule is skipped when a key it reads was itself wrong (`failed`). */
export function timerRules(unit: UnitSpec, failed: ReadonlySet<string>): SpecProblem[] {
  const c = unit.config as TimerConfig;
  const problems: SpecProblem[] = [];
  if (ELAPSE_KEYS.every((k) => c[k].length === 0) && !ELAPSE_KEYS.some((k) => failed.has(k))) {
    problems.push({
      where: unit.where,
      unit: unit.name,
      message: 'Timer unit lacks value setting. Refusing.',
      hint: 'add OnCalendar = "daily", OnBootSec = "15min" or another On*= setting',
    });
  }
  if (c.WakeSystem) {
    problems.push({
      where: unit.keys.WakeSystem ?? unit.where,
      unit: unit.name,
      key: 'WakeSystem',
      message: 'WakeSystem=true is not supported: sysmaster cannot resume the machine from suspend for an elapse',
      hint: 'remove it; docs/timer.md says what happens to timers across a suspend',
    });
  }
  return problems;
}
