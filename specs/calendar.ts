// systemd calendar events (systemd.time(7), OnCalendar=): parse an expression into a spec, print systemd's normalised
// form, and compute the next elapse. The grammar, the normalisation and the search are systemd's calendarspec.c, so
// `systemd-analyze calendar` and this module agree on every expression and every elapse, time-zone changes included.
// Pure: time zones come from Intl; the caller passes the local zone (specs/zone.ts reads it from the system).

/** One list element: a value, a range `start..stop` (stop -1: none), a repetition `/repeat` (0: none). */
export interface CalendarComponent {
  start: number;
  stop: number;
  repeat: number;
}

/** A parsed expression. A null list is `*`; seconds are in microseconds; weekdays bit 0 is Monday, 0 any day. */
export interface CalendarSpec {
  weekdays: number;
  year: CalendarComponent[] | null;
  month: CalendarComponent[] | null;
  day: CalendarComponent[] | null;
  endOfMonth: boolean; // `~`: days count back from the end of the month
  hour: CalendarComponent[] | null;
  minute: CalendarComponent[] | null;
  second: CalendarComponent[] | null;
  utc: boolean;
  /** An IANA zone, or (dst 0 or 1) the local zone's standard or daylight abbreviation as given. */
  timezone: string | null;
  dst: -1 | 0 | 1;
}

/** The zone of expressions without one; std/dst are its current rule's abbreviations, offsets in seconds east. */
export interface LocalZone {
  name: string;
  std?: { abbr: string; offset: number };
  dst?: { abbr: string; offset: number };
}

export class CalendarError extends Error {
  readonly code = 'ECALENDAR';
  constructor(
    readonly input: string,
    readonly pos: number, // 0-based index into input
    readonly problem: string,
  ) {
    super(`bad calendar expression "${input}" at column ${pos + 1}: ${problem}`);
    this.name = 'CalendarError';
  }
}

const USEC = 1_000_000;
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;
const MAX_LIST = 240; // systemd's limit on one list
const MAX_ITERATIONS = 1000; // systemd's safety valve against a search that never settles
export const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const SHORTHANDS: Record<string, string> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  monthly: '*-*-01 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
  yearly: '*-01-01 00:00:00',
  annually: '*-01-01 00:00:00',
  anually: '*-01-01 00:00:00', // systemd keeps the misspelling for old units
  quarterly: '*-01,04,07,10-01 00:00:00',
  semiannually: '*-01,07-01 00:00:00',
  'semi-annually': '*-01,07-01 00:00:00',
  biannually: '*-01,07-01 00:00:00',
  'bi-annually': '*-01,07-01 00:00:00',
};

/** The zone Intl takes as local ($TZ, else /etc/localtime), without abbreviations. */
export function intlZone(): LocalZone {
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return { name: name && name !== 'Etc/Unknown' ? name : 'UTC' };
}

type Field = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second';
type Item = CalendarComponent & { at: number };

/** Parse an expression; throws CalendarError with the column and what was expected. */
export function parse(input: string, local: LocalZone = intlZone()): CalendarSpec {
  const spec: CalendarSpec = {
    weekdays: 0,
    year: null,
    month: null,
    day: null,
    endOfMonth: false,
    hour: null,
    minute: null,
    second: null,
    utc: false,
    timezone: null,
    dst: -1,
  };
  let body = input;
  const lower = input.toLowerCase();
  const abbr = [local.std, local.dst].findIndex((z) => z && input.length > z.abbr.length && lower.endsWith(' ' + z.abbr.toLowerCase()));
  if (lower.endsWith(' utc')) {
    spec.utc = true;
    body = input.slice(0, -4);
  } else if (abbr >= 0) {
    spec.dst = abbr as 0 | 1;
    spec.timezone = (abbr ? local.dst : local.std)!.abbr;
    body = input.slice(0, -(spec.timezone.length + 1));
  } else {
    const space = input.lastIndexOf(' ');
    const zone = input.slice(space + 1);
    if (space >= 0 && isZone(zone, input, space + 1)) {
      spec.timezone = zone;
      body = input.slice(0, space);
    }
  }
  if (!body) throw new CalendarError(input, 0, 'expected an expression such as "daily" or "Mon..Fri *-*-* 02:00"');

  const expanded = SHORTHANDS[body.toLowerCase()];
  const p = new Cursor(expanded ?? body, input);
  const fields: Partial<Record<Field, Item[] | null>> = {};
  weekdays(p, spec);
  if (!timestamp(p, spec)) {
    date(p, spec, fields);
    time(p, fields);
  }
  if (!p.end) p.fail('the end of the expression, or a time zone (UTC or an IANA name such as Europe/Berlin)');

  if (spec.weekdays === 0x7f) spec.weekdays = 0;
  if (spec.endOfMonth && fields.day === null) spec.endOfMonth = false;
  for (const f of ['year', 'month', 'day', 'hour', 'minute', 'second'] as const) {
    if (fields[f] === undefined) continue;
    spec[f] = fields[f] && normalise(fields[f]!, f, spec.endOfMonth && f === 'day', p);
  }
  return spec;
}

class Cursor {
  i = 0;
  constructor(
    readonly s: string,
    readonly input: string,
  ) {}
  get end() {
    return this.i >= this.s.length;
  }
  get c() {
    return this.s[this.i] ?? '';
  }
  spaces() {
    while (this.c === ' ') this.i++;
  }
  fail(expected: string, at = this.i): never {
    // A shorthand's expansion never fails, so positions always point into the input.
    throw new CalendarError(this.input, at, `expected ${expected}, found ${this.end && at >= this.s.length ? 'the end' : JSON.stringify(this.s.slice(at, at + 8))}`);
  }
  problem(text: string, at: number): never {
    throw new CalendarError(this.input, at, text);
  }
}

/** `Mon,Wed..Fri `: names in any case, full or abbreviated; `-` is an old spelling of `..`. */
function weekdays(p: Cursor, spec: CalendarSpec): void {
  let from = -1;
  for (let first = true; ; first = false) {
    const at = p.i;
    const rest = p.s.slice(at).toLowerCase();
    const nr = DAY_NAMES.findIndex((d, k) => rest.startsWith(d.toLowerCase()) || rest.startsWith(DAYS[k].toLowerCase()));
    if (nr < 0) {
      if (first) return;
      p.fail('a weekday (Mon..Sun or Monday..Sunday)');
    }
    p.i += rest.startsWith(DAY_NAMES[nr].toLowerCase()) ? DAY_NAMES[nr].length : 3;
    if (!['', '-', '.', ',', ' '].includes(p.c)) p.fail('",", ".." or a space after the weekday');
    if (from > nr) p.problem(`the weekday range ${DAYS[from]}..${DAYS[nr]} runs backwards: write ${DAYS[nr]}..${DAYS[from]}`, at);
    for (let d = from < 0 ? nr : from; d <= nr; d++) spec.weekdays |= 1 << d;
    if (p.end) return;
    if (p.c === ' ') return p.spaces();
    if (p.c === '.' || p.c === '-') {
      if (from >= 0) p.fail('a weekday list, not a second range');
      if (p.c === '.' && p.s[p.i + 1] !== '.') p.fail('".." between two weekdays');
      from = nr;
      p.i += p.c === '.' ? 2 : 1;
    } else {
      from = -1;
      p.i++;
    }
    if (p.end || p.c === ' ') {
      if (from >= 0) p.fail('the weekday that ends the range');
      return p.spaces();
    }
  }
}

/** `@SECONDS`: one UTC point in time; no time follows. */
function timestamp(p: Cursor, spec: CalendarSpec): boolean {
  if (p.c !== '@') return false;
  p.i++;
  const at = p.i;
  const digits = /^\d+/.exec(p.s.slice(at))?.[0];
  if (!digits) p.fail('seconds since the epoch after "@"');
  p.i += digits.length;
  const d = new Date(Number(digits) * 1000);
  const year = d.getUTCFullYear();
  if (!(year >= MIN_YEAR && year <= MAX_YEAR)) p.problem(`@${digits} is not within ${MIN_YEAR}..${MAX_YEAR}`, at);
  const one = (start: number) => [{ start, stop: -1, repeat: 0 }];
  Object.assign(spec, {
    utc: true,
    year: one(year),
    month: one(d.getUTCMonth() + 1),
    day: one(d.getUTCDate()),
    hour: one(d.getUTCHours()),
    minute: one(d.getUTCMinutes()),
    second: one(d.getUTCSeconds() * USEC),
  });
  return true;
}

/** `[YEAR-]MONTH-DAY` (or `~DAY`), each part a list; a first part followed by `:` is an hour and leaves no date. */
function date(p: Cursor, spec: CalendarSpec, f: Partial<Record<Field, Item[] | null>>): void {
  if (p.end) return;
  const at = p.i;
  if (!/[\d*]/.test(p.c)) p.fail(at ? 'a date (2026-11-28) or a time (02:00)' : 'a weekday, a date (2026-11-28), a time (02:00) or a shorthand such as "daily"');
  const first = list(p, false);
  if (p.end || p.c === ':') {
    p.i = at;
    return;
  }
  const separator = () => {
    if (p.c === '~') spec.endOfMonth = true;
    else if (p.c !== '-') p.fail('"-" (or "~" before a day counted from the end of the month) in a date, or ":" in a time');
    p.i++;
  };
  separator();
  const second = list(p, false);
  if (p.end || p.c === ' ') {
    p.spaces();
    [f.month, f.day] = [first, second];
    return;
  }
  if (spec.endOfMonth) p.fail('a space after the day: "~" may only come before the day (YYYY-MM~DD)');
  separator();
  const third = list(p, false);
  if (!p.end && p.c !== ' ') p.fail('a space between the date and the time');
  p.spaces();
  [f.year, f.month, f.day] = [first, second, third];
}

/** `HOUR:MINUTE[:SECOND]`; none at all is 00:00:00. */
function time(p: Cursor, f: Partial<Record<Field, Item[] | null>>): void {
  const zero = (at: number) => [{ start: 0, stop: -1, repeat: 0, at }];
  if (p.end) {
    [f.hour, f.minute, f.second] = [zero(p.i), zero(p.i), zero(p.i)];
    return;
  }
  f.hour = list(p, false);
  if (p.c !== ':') p.fail('":" between hour and minute');
  p.i++;
  f.minute = list(p, false);
  if (p.end) {
    f.second = zero(p.i);
    return;
  }
  if (p.c !== ':') p.fail('":" before the seconds');
  p.i++;
  f.second = list(p, true);
}

/** `*` or a comma list of `VALUE[..STOP][/REPEAT]`; seconds (usec) may have six decimals. */
function list(p: Cursor, usec: boolean): Item[] | null {
  if (p.c === '*') {
    p.i++;
    return usec ? [{ start: 0, stop: -1, repeat: USEC, at: p.i - 1 }] : null;
  }
  const items: Item[] = [];
  for (;;) {
    const at = p.i;
    if (items.length >= MAX_LIST) p.problem(`a list may hold at most ${MAX_LIST} values`, at);
    const start = decimal(p, usec);
    let stop = -1;
    let repeat = 0;
    if (p.s.startsWith('..', p.i)) {
      p.i += 2;
      stop = decimal(p, usec);
      repeat = usec ? USEC : 1;
    }
    if (p.c === '/') {
      p.i++;
      const r = p.i;
      repeat = decimal(p, usec);
      if (repeat === 0) p.problem('a repetition must be greater than 0', r);
    } else if (usec && stop >= 0 && start + repeat > stop) {
      p.problem('a range of seconds must span at least one second, or give a repetition ("/0.5")', at);
    }
    if (!['', ' ', ',', '-', '~', ':'].includes(p.c)) p.fail(`",", "..", "/"${usec ? ', a fraction' : ''} or the end of the value`);
    items.push({ start, stop, repeat, at });
    if (p.c !== ',') return items;
    p.i++;
  }
}

function decimal(p: Cursor, usec: boolean): number {
  const at = p.i;
  const digits = /^\d*/.exec(p.s.slice(at))![0];
  if (!digits) p.fail(usec ? 'a number of seconds or "*"' : 'a number or "*"');
  p.i += digits.length;
  let value = Number(digits) * (usec ? USEC : 1);
  if (usec && p.c === '.' && p.s[p.i + 1] !== '.') {
    // Six decimals, the seventh rounds, the rest are read and dropped (systemd's parse_fractional_part_u).
    p.i++;
    const frac = /^\d*/.exec(p.s.slice(p.i))![0];
    if (!frac) p.fail('digits after the decimal point');
    p.i += frac.length;
    value += Number(frac.slice(0, 6).padEnd(6, '0')) + (frac[6] >= '5' ? 1 : 0);
  }
  if (value > 0x7fffffff) p.problem(`${digits} is too large`, at);
  return value;
}

const RANGES: Record<Field, [number, number]> = {
  year: [MIN_YEAR, MAX_YEAR],
  month: [1, 12],
  day: [1, 31],
  hour: [0, 23],
  minute: [0, 59],
  second: [0, 60 * USEC - 1],
};

/** systemd's normalize_chain() and chain_valid(): fix short years, trim ranges to whole repetitions, check, sort. */
function normalise(items: Item[], field: Field, endOfMonth: boolean, p: Cursor): CalendarComponent[] {
  const [from, max] = RANGES[field];
  const to = endOfMonth ? max - 3 : max; // ~ counts at most 28 days back
  const shown = (v: number) => (field === 'second' ? `${v / USEC}` : `${v}`);
  const out: CalendarComponent[] = [];
  for (const { start: s, stop: e, repeat: r, at } of items) {
    let [start, stop, repeat] = field === 'year' ? [century(s), century(e), r] : [s, e, r];
    if (stop > start && repeat > 0) stop -= (stop - start) % repeat;
    if ((stop > start && repeat > 0 && start + repeat > stop) || start === stop) [stop, repeat] = [-1, 0];
    const bad = (what: string) => p.problem(`${field} ${what}`, at);
    const range = `${shown(from)}..${shown(to)}${endOfMonth ? ' (with "~", at most 28 days back)' : ''}`;
    if (start < from || start > to) bad(`${shown(start)} is not within ${range}`);
    if (repeat > to - from) bad(`repetition /${shown(repeat)} is longer than ${range}`);
    if (stop >= 0) {
      if (stop < from || stop > to) bad(`${shown(stop)} is not within ${range}`);
      if (start + repeat > stop) bad(`range ${shown(start)}..${shown(stop)} runs backwards`);
    } else if (endOfMonth ? start - repeat < from : start + repeat > to) {
      bad(`${shown(start)}/${shown(repeat)} never repeats within ${range}`);
    }
    if (!out.some((c) => c.start === start && c.stop === stop && c.repeat === repeat)) out.push({ start, stop, repeat });
  }
  return out.sort((a, b) => a.start - b.start || a.stop - b.stop || a.repeat - b.repeat);
}

/** Two-digit years, as systemd reads them: 00–69 → 2000s, 70–99 → 1900s. */
function century(y: number): number {
  return y >= 0 && y < 70 ? y + 2000 : y >= 70 && y < 100 ? y + 1900 : y;
}

/** Intl's name for a time zone (it may be an alias's target), or undefined when Intl knows none by that name. */
export function intlName(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone ?? name;
  } catch {
    return undefined;
  }
}

/** An IANA zone name, spelt as its file under /usr/share/zoneinfo is (each part capitalised; case matters). */
function isZone(name: string, input: string, at: number): boolean {
  const resolved = intlName(name);
  if (resolved === undefined) return false;
  if (/^[A-Z][\w+-]*(\/[A-Z][\w+-]*)*$/.test(name)) return true;
  if (!/^[A-Za-z][\w+-]*(\/[\w+-]+)*$/.test(name)) return false; // Intl also takes offsets such as "+01:00"
  const hint = resolved?.toLowerCase() === name.toLowerCase() ? `write "${resolved}"` : 'check the spelling';
  throw new CalendarError(input, at, `time zone names are case-sensitive: "${name}" is not one (${hint})`);
}

/** systemd's normalised form, as `systemd-analyze calendar` prints it. */
export function format(spec: CalendarSpec): string {
  const parts: string[] = [];
  if (spec.weekdays) parts.push(formatWeekdays(spec.weekdays) + ' ');
  parts.push(chain(spec.year, 4), '-', chain(spec.month, 2), spec.endOfMonth ? '~' : '-', chain(spec.day, 2), ' ');
  parts.push(chain(spec.hour, 2), ':', chain(spec.minute, 2), ':', chain(spec.second, 2, true));
  if (spec.utc) parts.push(' UTC');
  else if (spec.timezone) parts.push(' ', spec.timezone);
  return parts.join('');
}

function formatWeekdays(bits: number): string {
  const runs: string[] = [];
  for (let d = 0; d < 7; d++) {
    if (!(bits & (1 << d))) continue;
    let end = d;
    while (end < 6 && bits & (1 << (end + 1))) end++;
    runs.push(end === d ? DAYS[d] : `${DAYS[d]}${end > d + 1 ? '..' : ','}${DAYS[end]}`);
    d = end;
  }
  return runs.join(',');
}

function chain(items: CalendarComponent[] | null, width: number, usec = false): string {
  if (!items) return '*';
  const d = usec ? USEC : 1;
  if (usec && items.length === 1 && items[0].start === 0 && items[0].stop < 0 && items[0].repeat === USEC) return '*';
  const num = (v: number, w: number) => String(Math.floor(v / d)).padStart(w, '0') + (v % d > 0 ? '.' + String(v % d).padStart(6, '0') : '');
  return items
    .map(({ start, stop, repeat }) => {
      let s = num(start, width);
      if (stop > 0) s += '..' + num(stop, width);
      if (repeat > 0 && !(stop > 0 && repeat === d)) s += '/' + num(repeat, 0);
      return s;
    })
    .join(',');
}

// ---------------------------------------------------------------------------------------------------------------
// Next elapse. systemd walks the wall clock of the spec's zone field by field (find_next()), converting with glibc's
// mktime(): a wall time that falls into a gap lands after it (so it no longer matches and is skipped), and one that
// occurs twice resolves to the offset mktime() used last, i.e. the first occurrence unless the walk started in the
// second. Tm mirrors struct tm (month 0-11); it may hold out-of-range values until normalised.

interface Tm {
  year: number;
  mon: number;
  mday: number;
  hour: number;
  min: number;
  sec: number;
}

/** The first elapse strictly after `after` (µs since the epoch), or null when the spec never elapses again. */
export function nextUsec(spec: CalendarSpec, after: number, local: LocalZone = intlZone()): number | null {
  const clock = new Clock(spec, local);
  for (let from = after; ; ) {
    const usec = from + 1;
    const found = find(spec, clock, clock.localtime(Math.floor(usec / USEC)), usec % USEC);
    if (!found) return null;
    const t = clock.mktime(found.tm).t;
    if (spec.dst < 0 || wall(t, local.name).off === clock.shift) return t * USEC + found.usec;
    // The zone shows the other abbreviation then: go on from when it shows this one again.
    const again = showing(local.name, clock.shift, t);
    if (again === null) return null;
    from = again * USEC - 1;
  }
}

/** The first second from t on at which zone's offset is `off`, or null before the last year. */
function showing(zone: string, off: number, t: number): number | null {
  const week = 7 * 86_400;
  let hi = t;
  while (wall(hi, zone).off !== off) {
    hi += week;
    if (new Date(hi * 1000).getUTCFullYear() > MAX_YEAR) return null;
  }
  let lo = Math.max(t, hi - week);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (wall(mid, zone).off === off) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

/** The next elapse after `after`, rounded up to the millisecond (so asking again from it moves on), or null. */
export function next(spec: CalendarSpec, after: Date, local?: LocalZone): Date | null {
  const us = nextUsec(spec, after.getTime() * 1000, local);
  return us === null ? null : new Date(Math.ceil(us / 1000));
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock fields of `t` (seconds) in `zone` (null: UTC), with wday (0 Sunday) and the offset (seconds east). */
export function wall(t: number, zone: string | null): Tm & { wday: number; off: number } {
  const d = new Date(t * 1000);
  let tm: Tm;
  if (zone === null) {
    tm = { year: d.getUTCFullYear(), mon: d.getUTCMonth(), mday: d.getUTCDate(), hour: d.getUTCHours(), min: d.getUTCMinutes(), sec: d.getUTCSeconds() };
  } else {
    let f = formatters.get(zone);
    if (!f) {
      const n = 'numeric';
      f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: n, month: n, day: n, hour: n, minute: n, second: n });
      formatters.set(zone, f);
    }
    // format() is three times faster than formatToParts(); en-US numeric is "11/28/2026, 00:00:00".
    const [, mo, da, y, h, mi, s] = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/.exec(f.format(d))!.map(Number);
    tm = { year: y, mon: mo - 1, mday: da, hour: h, min: mi, sec: s };
  }
  const w = Date.UTC(tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec) / 1000;
  return { ...tm, wday: new Date(w * 1000).getUTCDay(), off: w - t };
}

/**
 * localtime() and mktime() for one spec's zone, with glibc's memory of the last offset used. A local abbreviation
 * ("12:00 CEST") pins its offset: the walk runs on that fixed offset, and nextUsec() keeps the times the zone shows it.
 */
class Clock {
  private readonly zone: string | null;
  readonly shift: number = 0; // seconds east, for a pinned offset
  private hint = NaN;
  constructor(spec: CalendarSpec, local: LocalZone) {
    const zone = spec.utc || spec.dst >= 0 ? null : (spec.timezone ?? local.name);
    this.zone = zone === 'UTC' || zone === 'Etc/UTC' ? null : zone;
    if (spec.dst >= 0) {
      const pinned = spec.dst ? local.dst : local.std;
      if (!pinned) throw new Error(`"${spec.timezone}" is not an abbreviation of the local time zone ${local.name}`);
      this.shift = pinned.offset;
    }
  }

  localtime(t: number): Tm {
    const w = wall(t + this.shift, this.zone);
    this.hint = w.off;
    return w;
  }

  /** Normalise tm (out-of-range fields carry over) and find its instant t (seconds). */
  mktime(tm: Tm): { t: number; tm: Tm & { wday: number } } {
    const w = Date.UTC(tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec) / 1000;
    let t = w - this.shift;
    if (this.zone !== null) {
      const before = wall(w - 86_400, this.zone).off;
      const after = wall(w + 86_400, this.zone).off;
      const found = [...new Set([before, after])].map((o) => w - o).filter((c) => wall(c, this.zone).off === w - c);
      found.sort((a, b) => a - b);
      // None: a gap, read with the offset before it. Two: an overlap, read with the offset used last.
      t = found.length ? (found.find((c) => w - c === this.hint) ?? found[0]) : w - before;
    }
    const r = wall(t + this.shift, this.zone);
    this.hint = r.off;
    return { t, tm: r };
  }
}

/** systemd's find_matching_component(): the smallest match ≥ val; r 1 moved, 0 already matching, -1 none. */
function matching(spec: CalendarSpec, clock: Clock, items: CalendarComponent[] | null, tm: Tm, val: number) {
  if (!items) return { r: 0, val };
  const endOfMonth = spec.endOfMonth && items === spec.day;
  let d = -1;
  for (const c of items) {
    let { start, stop } = c;
    if (endOfMonth) {
      [start, stop] = [lastDays(clock, tm, start), lastDays(clock, tm, stop)];
      if (stop > 0) [start, stop] = [stop, start];
    }
    if (start >= val) {
      if (d < 0 || start < d) d = start;
    } else if (c.repeat > 0) {
      const k = start + c.repeat * Math.ceil((val - start) / c.repeat);
      if ((d < 0 || k < d) && (stop < 0 || k <= stop)) d = k;
    }
  }
  return d < 0 ? { r: -1, val } : { r: d !== val ? 1 : 0, val: d };
}

/** Day of tm's month that is `day` days before its end (~1: the last day); -1 when that leaves the month. */
function lastDays(clock: Clock, tm: Tm, day: number): number {
  const t = clock.mktime({ ...tm, mon: tm.mon + 1, mday: 1 - day }).tm;
  return t.mon === tm.mon ? t.mday : -1;
}

/**
 * systemd's tm_within_bounds(): 1 when tm needs no normalisation; 0 when it moved forward (tm now holds the normalised
 * time, the unit below the first changed one reset); -1 past the last year or when normalisation went backwards.
 */
function within(clock: Clock, tm: Tm): number {
  if (tm.year > MAX_YEAR) return -1;
  const t: Tm = { ...clock.mktime(tm).tm };
  const order = ['year', 'mon', 'mday', 'hour', 'min', 'sec'] as const;
  const k = order.findIndex((f) => t[f] !== tm[f]);
  if (k < 0) return 1;
  if (t[order[k]] < tm[order[k]]) return -1;
  if (k < 5) t[order[k + 1]] = order[k + 1] === 'mday' ? 1 : 0;
  setTm(tm, t);
  return 0;
}

function setTm(to: Tm, from: Tm): void {
  [to.year, to.mon, to.mday, to.hour, to.min, to.sec] = [from.year, from.mon, from.mday, from.hour, from.min, from.sec];
}

/** systemd's find_next(), step by step: the first matching wall-clock time at or after (tm, usec). */
function find(spec: CalendarSpec, clock: Clock, start: Tm, startUsec: number): { tm: Tm; usec: number } | null {
  const c: Tm = { ...start };
  let usec = startUsec;
  const reset = (...fields: (keyof Tm)[]) => {
    for (const f of fields) c[f] = f === 'mday' ? 1 : 0;
    usec = 0;
  };
  for (let i = 0; i < MAX_ITERATIONS; i++) {
    if (i > 0) setTm(c, clock.mktime(c).tm);

    let m = matching(spec, clock, spec.year, c, c.year);
    if (m.r < 0) return null;
    c.year = m.val;
    if (m.r > 0) reset('mon', 'mday', 'hour', 'min', 'sec');
    if (within(clock, c) <= 0) return null;

    m = matching(spec, clock, spec.month, c, c.mon + 1);
    c.mon = m.val - 1;
    if (m.r > 0) reset('mday', 'hour', 'min', 'sec');
    let r = m.r < 0 ? -1 : within(clock, c);
    if (r < 0) {
      c.year++;
      reset('mon', 'mday', 'hour', 'min', 'sec');
      continue;
    }
    if (r === 0) continue;

    m = matching(spec, clock, spec.day, c, c.mday);
    c.mday = m.val;
    if (m.r > 0) reset('hour', 'min', 'sec');
    r = m.r < 0 ? -1 : within(clock, c);
    if (r < 0) {
      c.mon++;
      reset('mday', 'hour', 'min', 'sec');
      continue;
    }
    if (r === 0) continue;

    if (spec.weekdays) {
      const wday = clock.mktime(c).tm.wday;
      if (!(spec.weekdays & (1 << (wday === 0 ? 6 : wday - 1)))) {
        c.mday++;
        reset('hour', 'min', 'sec');
        continue;
      }
    }

    m = matching(spec, clock, spec.hour, c, c.hour);
    c.hour = m.val;
    if (m.r > 0) reset('min', 'sec');
    r = m.r < 0 ? -1 : within(clock, c);
    if (r < 0) {
      c.mday++;
      reset('hour', 'min', 'sec');
      continue;
    }
    if (r === 0) continue; // the hour may not exist today (a gap): go on from the normalised time

    m = matching(spec, clock, spec.minute, c, c.min);
    c.min = m.val;
    if (m.r > 0) reset('sec');
    r = m.r < 0 ? -1 : within(clock, c);
    if (r < 0) {
      c.hour++;
      reset('min', 'sec');
      continue;
    }
    if (r === 0) continue;

    m = matching(spec, clock, spec.second, c, c.sec * USEC + usec);
    c.sec = Math.floor(m.val / USEC);
    usec = m.val % USEC;
    r = m.r < 0 ? -1 : within(clock, c);
    if (r < 0) {
      c.min++;
      reset('sec');
      continue;
    }
    if (r === 0) continue;

    return { tm: c, usec };
  }
  throw new Error(`the next elapse of "${format(spec)}" was not found in ${MAX_ITERATIONS} steps`);
}
