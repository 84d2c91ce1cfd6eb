// The include= globs: `*`, `?` and `[...]` within one path segment, `**` for any number of directories. Like the
// shell, wildcards do not match a leading dot. Results are sorted; a pattern without wildcards is returned as is
// (the caller reports it when it cannot be read).
import fs from 'node:fs';
import path from 'node:path';

const wild = /[*?[]/;

/** One path segment's wildcards as a RegExp: `*` and `?` match no `/`, `[...]` and `[!...]` are classes, `\` is literal. */
export function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = segment
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function entries(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // a missing or unreadable directory matches nothing, as in the shell
  }
}

/** Every directory below `dir` (and `dir` itself), sorted. */
function walk(dir: string): string[] {
  const out = [dir];
  for (const e of entries(dir).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.isDirectory() && !e.name.startsWith('.')) out.push(...walk(path.join(dir, e.name)));
  }
  return out;
}

/**
 * Expands `pattern`, relative to `base`, to the matching files (relative when both are); `keep` picks which matches
 * count (another kind of entry than a file: a path unit's PathExistsGlob=).
 */
export function expandGlob(pattern: string, base: string, keep: (p: string) => boolean = isFile): string[] {
  if (!wild.test(pattern)) return [path.join(base, pattern)];
  const full = path.resolve(base, pattern);
  let found = ['/'];
  for (const segment of full.split('/').filter(Boolean)) {
    if (segment === '**') found = found.flatMap(walk);
    else if (!wild.test(segment)) found = found.map((d) => path.join(d, segment));
    else {
      const re = segmentRegex(segment);
      const hidden = segment.startsWith('.');
      found = found.flatMap((d) =>
        entries(d)
          .filter((e) => re.test(e.name) && (hidden || !e.name.startsWith('.')))
          .map((e) => path.join(d, e.name)),
      );
    }
  }
  const relative = !path.isAbsolute(base) && !path.isAbsolute(pattern);
  return [...new Set(found)]
    .filter(keep)
    .sort()
    .map((f) => (relative ? path.relative(process.cwd(), f) : f));
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
