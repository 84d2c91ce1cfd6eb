// fnmatch(3) with no flags, as udev matches rule values and IMPORT{parent} filters: `*` and `?` match any character,
// `/` and a leading `.` included; `[...]` with `!`/`^`, ranges and [:classes:]; `\` quotes; an unclosed `[` is literal.
// Compiled to a RegExp once, when the rules are loaded.

const CLASSES: Record<string, string> = {
  alpha: 'a-zA-Z', digit: '0-9', alnum: 'a-zA-Z0-9', upper: 'A-Z', lower: 'a-z', space: ' \\t\\n\\v\\f\\r',
  blank: ' \\t', xdigit: '0-9a-fA-F', punct: '!-\\/:-@\\[-`{-~', cntrl: '\\x00-\\x1f\\x7f', print: ' -~', graph: '!-~',
};
const reEscape = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** The body of a RegExp matching what the fnmatch pattern matches: `*`, `?`, `[...]` (`!`/`^`, ranges, classes), `\` quotes. */
export function globBody(p: string): string {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') re += '[^]*';
    else if (c === '?') re += '[^]';
    else if (c === '\\' && i + 1 < p.length) re += reEscape(p[++i]);
    else if (c === '[') {
      const r = bracket(p, i);
      if (r) {
        re += r[0];
        i = r[1];
      } else re += '\\[';
    } else re += reEscape(c);
  }
  return re;
}

/** A bracket expression at p[start] as a RegExp class and the index of its `]`; null when it is not closed (a literal `[`). */
function bracket(p: string, start: number): [string, number] | null {
  let i = start + 1;
  let negate = false;
  if (p[i] === '!' || p[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  for (let first = true; ; first = false) {
    if (i >= p.length) return null;
    let c = p[i];
    if (c === ']' && !first) return [`[${negate ? '^' : ''}${body}]`, i];
    if (c === '[' && p[i + 1] === ':') {
      const end = p.indexOf(':]', i + 2);
      const cls = end > 0 ? CLASSES[p.slice(i + 2, end)] : undefined;
      if (cls !== undefined) {
        body += cls;
        i = end + 2;
        continue;
      }
    }
    if (c === '\\' && i + 1 < p.length) c = p[++i];
    i++;
    if (p[i] === '-' && p[i + 1] !== undefined && p[i + 1] !== ']') {
      let hi = p[i + 1];
      i += 2;
      if (hi === '\\' && i < p.length) hi = p[i++];
      body += `${reEscape(c)}-${reEscape(hi)}`;
    } else body += reEscape(c);
  }
}

/** fnmatch(pattern, s, 0) as a RegExp. */
export function fnmatch(pattern: string): RegExp {
  return new RegExp(`^${globBody(pattern)}$`);
}
