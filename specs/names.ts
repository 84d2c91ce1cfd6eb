// The unit-name forms systemctl accepts (src/basic/unit-name.c, unit_name_mangle_with_suffix()) and its glob
// patterns (fnmatch(3) over the loaded units' names): what `sctl` and the control socket make of a name as typed.
import { segmentRegex } from './glob.js';
import { isUnitName, typeOf, UNIT_TYPES } from './systemd/lookup.js';
import { escapePath } from './unitname.js';

/** A glob pattern, as systemd's string_is_glob() sees one. */
export const isGlob = (s: string): boolean => /[*?[]/.test(s);

/** What a unit name may hold (systemd's VALID_CHARS_WITH_AT); a pattern may hold glob characters too. */
const plain = /[A-Za-z0-9:_.\\@-]/;
const pattern = /^[A-Za-z0-9:_.\\@\-[\]!*?]+$/;

/**
 * systemd's unit_name_mangle(): a valid unit name stays (`web.service`, `worker@1.service`); an absolute path names
 * a device (`/dev/sda` → `dev-sda.device`) or a mount (`/srv/data` → `srv-data.mount`); anything else gets the
 * characters a unit name cannot hold escaped (`/` → `-`, the rest `\xNN`) and `.service` when it has no unit type
 * suffix (`web` → `web.service`, `worker@1` → `worker@1.service`). With `glob`, a pattern (`web-*`) is kept as it
 * is, without a suffix, so that `web-*` also matches `web-1.socket`. Throws on an empty name.
 */
export function mangleUnitName(name: string, glob = false): string {
  if (!name) throw new Error('Failed to mangle name: a unit name cannot be empty');
  if (isUnitName(name) || (glob && isGlob(name) && pattern.test(name))) return name;
  if (name.startsWith('/')) {
    const escaped = escapePath(name);
    if (escaped) return `${escaped}.${/^\/(dev|sys)\//.test(name) ? 'device' : 'mount'}`;
  }
  let s = '';
  for (const ch of name) {
    if (ch === '/') s += '-';
    else if (plain.test(ch) || (glob && '[]!*?'.includes(ch))) s += ch;
    else s += [...Buffer.from(ch)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  }
  return (glob && isGlob(s)) || (s.includes('.') && UNIT_TYPES.includes(typeOf(s))) ? s : `${s}.service`;
}

/** Whether `name` matches one of `patterns` as fnmatch(3) without flags matches it (systemd's strv_fnmatch()). */
export function matchesAny(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => segmentRegex(p).test(name));
}
