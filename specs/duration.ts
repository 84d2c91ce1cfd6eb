// systemd time spans ("5s", "1h 30min", "infinity") → milliseconds. The grammar is one regular expression, built
// from the unit table below, so the editor schema (specs/schema.json) and the parser accept exactly the same text.

/** Milliseconds per unit; the first name of each row is the canonical one used when formatting. */
const units: readonly (readonly [names: readonly string[], ms: number])[] = [
  [['y', 'year', 'years'], 31_557_600_000], // 365.25 days, as systemd
  [['M', 'month', 'months'], 2_629_800_000], // 30.44 days, as systemd
  [['w', 'week', 'weeks'], 604_800_000],
  [['d', 'day', 'days'], 86_400_000],
  [['h', 'hr', 'hour', 'hours'], 3_600_000],
  [['min', 'm', 'minute', 'minutes'], 60_000],
  [['s', 'sec', 'second', 'seconds'], 1000],
  [['ms', 'msec'], 1],
  [['us', 'usec', 'µs'], 0.001],
];

const perUnit = new Map(units.flatMap(([names, ms]) => names.map((n) => [n, ms] as const)));

const num = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
// Longest names first: the regex takes the first alternative that lets the whole text match.
const unit = `(?:${[...perUnit.keys()].sort((a, b) => b.length - a.length).join('|')})`;

/**
 * The whole grammar: "infinity", or components "NUMBER[UNIT]" (a bare number is seconds). A unit-less number needs
 * whitespace before the next component, so every text splits one way only (and matching never backtracks badly).
 */
export const durationPattern = String.raw`^\s*(?:infinity|(?:${num}\s*${unit}\s*|${num}\s+)*${num}(?:\s*${unit})?)\s*$`;

const whole = new RegExp(durationPattern, 'u');
const component = new RegExp(String.raw`(${num})\s*(${unit})?`, 'gu');

export class DurationError extends Error {
  readonly code = 'EDURATION';
  constructor(readonly input: unknown) {
    super(`bad time span ${typeof input === 'string' ? JSON.stringify(input) : String(input)}`);
    this.name = 'DurationError';
  }
}

/** A systemd time span, or a number of seconds, in milliseconds (`Infinity` for "infinity"). Throws DurationError. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isNaN(text) || text < 0) throw new DurationError(text);
    return text * 1000;
  }
  if (!whole.test(text)) throw new DurationError(text);
  if (text.trim() === 'infinity') return Infinity;
  let ms = 0;
  for (const [, n, u] of text.matchAll(component)) ms += Number(n) * (u ? perUnit.get(u)! : 1000);
  return ms;
}

/** Milliseconds → systemd spelling: one unit when one fits exactly ("90s", "100ms"), else "1min 30.5s"-style parts. */
export function formatDuration(ms: number): string {
  if (ms === Infinity) return 'infinity';
  if (ms === 0) return '0';
  const exact = units.find(([, size]) => Number.isInteger(ms / size));
  if (exact) return `${ms / exact[1]}${exact[0][0]}`;
  const parts: string[] = [];
  let rest = ms;
  for (const [[name], size] of units) {
    const n = Math.floor(rest / size + 1e-9);
    if (n > 0) {
      parts.push(`${n}${name}`);
      rest -= n * size;
    }
  }
  return parts.join(' ');
}
