// systemd's path escaping for unit names (systemd-escape --path, unit_name_from_path()): a mount unit is named after
// its Where=, `/srv/data` → `srv-data.mount`, and the name gives the path back.

/** Kept as they are; everything else (and `-`, `\`, a leading `.`) becomes `\xNN`, one per UTF-8 byte. */
const plain = /[A-Za-z0-9:_.]/;

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');

/**
 * `/srv/my-data/` → `srv-my\x2ddata`, `/` → `-`. Duplicate and trailing slashes are dropped first, as systemd's
 * path_simplify() does; undefined for a path that is not absolute or has `.` or `..` components (systemd refuses
 * those too).
 */
export function escapePath(p: string): string | undefined {
  if (!p.startsWith('/')) return undefined;
  const parts = p.split('/').filter(Boolean);
  if (parts.some((s) => s === '.' || s === '..')) return undefined;
  if (parts.length === 0) return '-';
  const text = parts.join('/');
  let out = '';
  for (const [i, ch] of [...text].entries()) {
    if (ch === '/') out += '-';
    else if (plain.test(ch) && !(i === 0 && ch === '.')) out += ch;
    else out += hex(Buffer.from(ch));
  }
  return out;
}

/** The unit name of a path: `pathUnitName('/srv/data', 'mount')` → `srv-data.mount`; undefined as escapePath. */
export function pathUnitName(p: string, type: string): string | undefined {
  const e = escapePath(p);
  return e === undefined ? undefined : `${e}.${type}`;
}

/** `srv-my\x2ddata` → `/srv/my-data`, `-` → `/` (systemd's unit_name_path_unescape()). */
export function unescapePath(escaped: string): string {
  if (escaped === '-') return '/';
  // split() with a group keeps the escapes, at the odd places.
  const parts = escaped.split(/(\\x[0-9a-fA-F]{2})/);
  const bytes = parts.map((s, i) => (i % 2 ? Buffer.from([parseInt(s.slice(2), 16)]) : Buffer.from(s.replaceAll('-', '/'))));
  return `/${Buffer.concat(bytes).toString('utf8').replace(/^\/+/, '')}`;
}
