// The set of rules files devmaster loads, chosen as udev's conf_files_list() chooses them: every `*.rules` file
// (not hidden) in the directories below, ordered by file name across all of them; a name in a directory earlier
// in `ruleDirs` overrides the same name later, and an empty file or a symlink to /dev/null masks it.
// Priority, highest first: each of devmaster's directories sits just above udev's at the same level, so a
// devmaster-specific rule wins over the distribution's udev rule of the same name at that level, and a local
// admin's /etc/udev rule still wins over a packaged /lib/devmaster one.
import fs from 'node:fs';
import path from 'node:path';
import { parseRules, type Diagnostic, type Rule } from './rules.js';

export const ruleDirs = [
  '/etc/devmaster/rules.d',
  '/etc/udev/rules.d',
  '/run/devmaster/rules.d',
  '/run/udev/rules.d',
  '/usr/local/lib/udev/rules.d',
  '/lib/devmaster/rules.d',
  '/usr/lib/udev/rules.d',
  '/lib/udev/rules.d',
];

/** The files to load, in load order; masked names are left out. Missing directories are skipped. */
export function ruleFiles(dirs: readonly string[] = ruleDirs): string[] {
  const chosen = new Map<string, string | null>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith('.rules') || name.startsWith('.') || chosen.has(name)) continue;
      const file = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        continue; // a dangling symlink
      }
      if (st.isDirectory()) continue;
      // udev's null_or_empty(): /dev/null (any device node) or an empty regular file
      const masked = st.isCharacterDevice() || st.isBlockDevice() || st.size === 0;
      chosen.set(name, masked ? null : file);
    }
  }
  return [...chosen.keys()]
    .sort()
    .map((n) => chosen.get(n))
    .filter((f): f is string => !!f);
}

/** Every chosen file parsed into one list; GOTO targets index that list. Unreadable files are diagnostics too. */
export function loadRules(dirs: readonly string[] = ruleDirs): { files: string[]; rules: Rule[]; diagnostics: Diagnostic[] } {
  const files = ruleFiles(dirs);
  const rules: Rule[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      diagnostics.push({ file, line: 0, level: 'error', message: `cannot read: ${(e as Error).message}` });
      continue;
    }
    const r = parseRules(text, file);
    const base = rules.length;
    for (const rule of r.rules) rules.push(rule.target === undefined ? rule : { ...rule, target: rule.target + base });
    diagnostics.push(...r.diagnostics);
  }
  return { files, rules, diagnostics };
}
