import fs from 'node:fs';
import { intlName, intlZone, type LocalZone } from './calendar.js';

const ZONEINFO = '/usr/share/zoneinfo/';

/**
 * The local time zone as glibc sees it ($TZ as ":Name", "Name" or a path, else /etc/localtime), with the
 * abbreviations of its current rule, read from the footer of its TZif file ("CET-1CEST,M3.5.0,M10.5.0/3"). Calendar
 * expressions may end in those ("12:00 CEST"), and timestamps print them as systemd does.
 */
export function localZone(env: NodeJS.ProcessEnv = process.env): LocalZone {
  const tz = env.TZ?.replace(/^:/, '');
  const file = !tz ? '/etc/localtime' : tz.startsWith('/') ? tz : ZONEINFO + tz;
  const name = tz?.startsWith(ZONEINFO) ? tz.slice(ZONEINFO.length) : tz;
  const zone = name && intlName(name) ? { name } : intlZone();
  let footer: string;
  try {
    const data = fs.readFileSync(file);
    footer = data.toString('latin1', data.lastIndexOf(10, data.length - 2) + 1, data.length - 1);
  } catch {
    return tz ? zone : { ...zone, std: { abbr: 'UTC', offset: 0 } }; // no /etc/localtime: glibc uses UTC
  }
  // POSIX TZ rule: std name, offset west of UTC, then optionally the dst name and offset (default: one hour ahead).
  const abbrev = String.raw`(<[^>]+>|[A-Za-z]{3,})`;
  const offset = String.raw`([-+]?\d{1,2}(?::\d{2}){0,2})`;
  const rule = new RegExp(`^${abbrev}${offset}(?:${abbrev}${offset}?)?`).exec(footer);
  if (!rule) return zone;
  const seconds = (o: string) => {
    const [h, m = 0, s = 0] = o.replace(/^[-+]/, '').split(':').map(Number);
    return (o.startsWith('-') ? 1 : -1) * (h * 3600 + m * 60 + s);
  };
  const abbr = (n: string) => n.replace(/^<|>$/g, '');
  const std = { abbr: abbr(rule[1]), offset: seconds(rule[2]) };
  return { ...zone, std, ...(rule[3] && { dst: { abbr: abbr(rule[3]), offset: rule[4] ? seconds(rule[4]) : std.offset + 3600 } }) };
}

