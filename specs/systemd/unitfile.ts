// systemd unit files → ordered assignments, as systemd's config_parse() reads them: [Section] headers, Key=Value,
// `#` and `;` comment lines, a trailing backslash continuing the line (comment lines inside a continuation are
// skipped), and drop-ins (NAME.d/*.conf, and TEMPLATE@.TYPE.d/*.conf for an instance) applied in lexical order of
// their file names after the unit itself. Every assignment keeps its file:line.
import fs from 'node:fs';
import path from 'node:path';

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

/** The drop-in files of unit `name` found next to `file`: TEMPLATE@.TYPE.d then NAME.d, merged by file name. */
export function dropIns(file: string, name: string): string[] {
  const dir = path.dirname(file);
  const dirs = [`${name}.d`];
  const at = name.indexOf('@');
  if (at > 0) dirs.unshift(`${name.slice(0, at + 1)}${name.slice(name.lastIndexOf('.'))}.d`);
  const byName = new Map<string, string>();
  for (const d of dirs) {
    let entries: string[];
    try {
      entries = fs.readdirSync(path.join(dir, d));
    } catch {
      continue;
    }
    // A later directory's file of the same name replaces the earlier one's, as in systemd.
    for (const e of entries) if (e.endsWith('.conf')) byName.set(e, path.join(dir, d, e));
  }
  return [...byName.keys()].sort().map((k) => byName.get(k)!);
}

/** Reads a unit file (as unit `name`) and its drop-ins. */
export function readUnit(file: string, name: string): UnitFile {
  const unit = parseUnitText(fs.readFileSync(file, 'utf8'), file);
  for (const d of dropIns(file, name)) parseUnitText(fs.readFileSync(d, 'utf8'), d, unit);
  return unit;
}
