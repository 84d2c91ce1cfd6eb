import { DAYS, wall, type LocalZone } from '../specs/calendar.js';
import { parseDuration } from '../specs/duration.js';

/** --timeout: a systemd time span, in ms; 0 or infinity: none (0). */
export function parseTimeout(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new Error(`--timeout: cannot read "${text}" as a duration: use 90s, 5min, 1h, 0 or infinity`);
  }
  return Number.isFinite(ms) ? ms : 0;
}

/**
 * A point in time as journalctl --since/--until take it: `2026-11-27 10:00[:00]`, `10:00` (today), `today`,
 * `yesterday`, `now`, `-5min` / `5min ago` (relative, systemd time spans), `@1795749762` (epoch seconds), or ISO 8601.
 */
export function parseTime(text: string, now = Date.now()): number {
  const t = text.trim();
  const day = (offset: number) => {
    const d = new Date(now);
    d.setHours(0, 0, 0, 0);
    return d.getTime() + offset * 86_400_000;
  };
  if (t === 'now') return now;
  if (t === 'today') return day(0);
  if (t === 'yesterday') return day(-1);
  if (t === 'tomorrow') return day(1);
  if (t.startsWith('@')) return Number(t.slice(1)) * 1000;
  const ago = /^-(.+)$/.exec(t) ?? /^(.+)\s+ago$/.exec(t);
  if (ago) return now - parseDuration(ago[1]);
  if (t.startsWith('+')) return now + parseDuration(t.slice(1));
  if (/^\d{1,2}:\d{2}(:\d{2})?$/.test(t)) return Date.parse(`${new Date(day(0)).toDateString()} ${t}`);
  const local = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?$/.exec(t);
  const ms = local ? new Date(`${local[1]}T${local[2] ?? '00:00:00'}`).getTime() : Date.parse(t);
  if (Number.isNaN(ms)) {
    throw new Error(`cannot read "${text}" as a time: use "2026-11-27 10:00", "10:00", "today", "-5min" or "@EPOCH"`);
  }
  return ms;
}

const LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** journalctl -p: a name (`err`, `warning`) or a number 0–7. */
export function parsePriority(text: string): number {
  const n = /^[0-7]$/.test(text) ? Number(text) : LEVELS.indexOf(text === 'error' ? 'err' : text === 'warn' ? 'warning' : text);
  if (n < 0) throw new Error(`unknown priority "${text}": use ${LEVELS.join(', ')} or 0-7`);
  return n;
}

export const UTC: LocalZone = { name: 'UTC', std: { abbr: 'UTC', offset: 0 } };

/** Whether the zone is UTC all year, when systemd leaves out its "(in UTC)" lines. */
export function isUtc(zone: LocalZone): boolean {
  return zone.name === 'UTC' || (!zone.dst && zone.std?.offset === 0);
}

/** A timestamp as systemd prints one: "Sat 2026-11-28 00:00:00 CET", in the zone given (the local one). */
export function formatTimestamp(ms: number, zone: LocalZone): string {
  const w = wall(Math.floor(ms / 1000), isUtc(zone) ? null : zone.name);
  const p = (n: number) => String(n).padStart(2, '0');
  const abbr = [zone.std, zone.dst].find((z) => z?.offset === w.off)?.abbr ?? numericZone(w.off);
  return `${DAYS[(w.wday + 6) % 7]} ${w.year}-${p(w.mon + 1)}-${p(w.mday)} ${p(w.hour)}:${p(w.min)}:${p(w.sec)} ${abbr}`;
}

/** tzdata's name for an offset without letters: "+10", "-0330". */
function numericZone(off: number): string {
  const a = Math.abs(off);
  const hm = String(Math.floor(a / 3600)).padStart(2, '0') + (a % 3600 ? String(Math.floor((a % 3600) / 60)).padStart(2, '0') : '');
  return (off < 0 ? '-' : '+') + hm;
}

const [YEAR, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND] = ['1y', '1M', '1w', '1d', '1h', '1min', '1s'].map(parseDuration);

/** How far ms is from now, as systemd says it (format_timestamp_relative): "12h left", "3min 4s ago", "now". */
export function relative(ms: number, now = Date.now()): string {
  const d = Math.abs(now - ms);
  const f = Math.floor;
  const n = (x: number, unit: string) => `${x} ${unit}${x === 1 ? '' : 's'}`;
  const text =
    d >= YEAR ? `${n(f(d / YEAR), 'year')} ${n(f((d % YEAR) / MONTH), 'month')}`
    : d >= MONTH ? `${n(f(d / MONTH), 'month')} ${n(f((d % MONTH) / DAY), 'day')}`
    : d >= WEEK ? `${n(f(d / WEEK), 'week')} ${n(f((d % WEEK) / DAY), 'day')}`
    : d >= 2 * DAY ? `${f(d / DAY)} days`
    : d >= 25 * HOUR ? `1 day ${f((d - DAY) / HOUR)}h`
    : d >= 6 * HOUR ? `${f(d / HOUR)}h`
    : d >= HOUR ? `${f(d / HOUR)}h ${f((d % HOUR) / MINUTE)}min`
    : d >= 5 * MINUTE ? `${f(d / MINUTE)}min`
    : d >= MINUTE ? `${f(d / MINUTE)}min ${f((d % MINUTE) / SECOND)}s`
    : d >= SECOND ? `${f(d / SECOND)}s`
    : d > 0 ? `${f(d)}ms`
    : '';
  return text ? `${text} ${now > ms ? 'ago' : 'left'}` : 'now';
}
