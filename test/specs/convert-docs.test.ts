// docs/systemd.md's directive tables against the converter: a row for every directive systemd has in the
// sections converted, and each row's status is what classify() does with it.
import fs from 'node:fs';
import t from 'tap';
import { classify } from '../../specs/systemd/convert.js';
import { directives, execDirectives } from '../../specs/systemd/directives.js';

const text = fs.readFileSync('docs/systemd.md', 'utf8');
const part = text.slice(text.indexOf('## Directives'), text.indexOf('\n## ', text.indexOf('## Directives') + 3));

/** `### [Section]` → directive → the status cells of its row. */
const tables = new Map<string, Map<string, string[]>>();
let heading = '';
for (const line of part.split('\n')) {
  const h = /^### (\[\w+\]|The execution environment)/.exec(line);
  if (h) tables.set((heading = h[1]), new Map());
  const row = /^\| `(\w+)=` \| (.*) \|$/.exec(line);
  if (row && heading) tables.get(heading)!.set(row[1], row[2].split(' | ').slice(0, heading.startsWith('[') ? 1 : 3));
}

function agrees(status: string, type: string, section: string, key: string): boolean {
  const c = classify(type, section, key);
  if (status === 'supported' || status === 'differs') return 'def' in c || c.skip === 'differs';
  return 'skip' in c && c.skip === (status === 'not supported' ? 'unsupported' : status);
}

/** Each section's table, and the unit type whose [section] it is. */
const own: [string, string][] = [
  ['Unit', 'service'],
  ['Install', 'service'],
  ...['Service', 'Socket', 'Timer', 'Path', 'Mount'].map((s): [string, string] => [s, s.toLowerCase()]),
];
for (const [section, type] of own) {
  t.test(`[${section}]`, async (t) => {
    const rows = tables.get(`[${section}]`);
    if (!rows) return t.fail(`docs/systemd.md has no ### [${section}] table`);
    // the execution environment's directives have a table of their own
    const want = directives[section].filter((k) => !execDirectives.includes(k));
    t.same([...rows.keys()].sort(), [...new Set(want)].sort(), 'a row for each directive, and no other');
    for (const [key, [status]] of rows) t.ok(agrees(status, type, section, key), `${key}=: ${status}`);
  });
}

t.test('the execution environment', async (t) => {
  const rows = tables.get('The execution environment')!;
  t.same([...rows.keys()].sort(), [...new Set(execDirectives)].sort());
  for (const [key, statuses] of rows)
    ['Service', 'Socket', 'Mount'].forEach((section, i) =>
      t.ok(agrees(statuses[i], section.toLowerCase(), section, key), `${key}= in [${section}]: ${statuses[i]}`),
    );
});
