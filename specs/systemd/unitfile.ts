// systemd unit files → ordered assignments, as systemd's config_parse() reads them: [Section] headers, Key=Value,
// `#` and `;` comment lines, a trailing backslash continuing the line (comment lines inside a continuation are
// skipped), then the drop-ins (lookup.ts finds them) applied after the unit itself. Every assignment keeps its
// file:line.
import fs from 'node:fs';

export interface Assignment {
  section: string;
  key: string;
  value: string;
  file: string;
  line: number;
}

/** A line the parser could not read: reported, never dropped silently. */
export interface ParseIssue {
  file: string;
  line: number;
  message: string;
}

export interface UnitFile {
  assignments: Assignment[];
  issues: ParseIssue[];
}

/** Parses one file's text, appending to `into`. */
export function parseUnitText(text: string, file: string, into: UnitFile = { assignments: [], issues: [] }): UnitFile {
  const lines = text.split(/\r?\n/);
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i].trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = line.slice(0, -1) + ' ';
      const next = lines[++i].trim();
      if (next[0] === '#' || next[0] === ';') {
        line = line.slice(0, -1) + '\\'; // systemd skips comment lines inside a continuation and keeps continuing
        continue;
      }
      line += next;
    }
    if (line.endsWith('\\')) line = line.slice(0, -1);
    if (line[0] === '[') {
      const m = /^\[([^\]]+)\]$/.exec(line);
      if (!m) into.issues.push({ file, line: start, message: `bad section header ${JSON.stringify(line)}` });
      section = m ? m[1] : '';
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) {
      into.issues.push({ file, line: start, message: `not a Key=Value assignment: ${JSON.stringify(line)}` });
      continue;
    }
    if (section === '') {
      into.issues.push({ file, line: start, message: 'assignment outside any [Section]' });
      continue;
    }
    into.assignments.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), file, line: start });
  }
  return into;
}

/** Reads a unit file and then its drop-ins, in the order given. */
export function readUnit(file: string, dropIns: string[]): UnitFile {
  const unit = parseUnitText(fs.readFileSync(file, 'utf8'), file);
  for (const d of dropIns) parseUnitText(fs.readFileSync(d, 'utf8'), d, unit);
  return unit;
}
