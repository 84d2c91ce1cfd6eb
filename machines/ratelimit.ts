// StartLimitIntervalSec=/StartLimitBurst=: systemd's ratelimit_below(), a window that opens at the first start
// and lets `burst` starts through until `interval` has passed since it opened.

export interface StartCheck {
  ok: boolean;
  /** The start times of the current window, this attempt included when it was let through. */
  times: number[];
}

/** An interval or burst of 0 turns the limit off, as in systemd. */
export function checkStart(times: readonly number[], now: number, interval: number, burst: number): StartCheck {
  if (interval <= 0 || burst <= 0) return { ok: true, times: [] };
  if (times.length === 0 || now - times[0] > interval) return { ok: true, times: [now] };
  if (times.length < burst) return { ok: true, times: [...times, now] };
  return { ok: false, times: [...times] };
}

/** TriggerLimitIntervalSec=/TriggerLimitBurst= of socket and path units: the same window, over the triggers so far. */
export function checkTrigger(
  c: { triggers: readonly number[]; config: { TriggerLimitIntervalSec: number; TriggerLimitBurst: number } },
  now: number,
): StartCheck {
  return checkStart(c.triggers, now, c.config.TriggerLimitIntervalSec, c.config.TriggerLimitBurst);
}
