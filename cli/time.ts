import { parseDuration } from '../specs/duration.js';

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
