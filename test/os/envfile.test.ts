import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile, readEnvironmentFile } from '../../reconciler/envfile.js';
import { tempDir } from './fixtures/helpers.js';

t.test('parseEnvFile follows systemd', async (t) => {
  const cases: [string, Record<string, string>][] = [
    ['A=1\nB=2', { A: '1', B: '2' }],
    ['  A = spaced out  \n', { A: 'spaced out' }],
    ['# comment\n; also comment\nA=1', { A: '1' }],
    ['A=1 # not a comment', { A: '1 # not a comment' }],
    ['A="double quoted"', { A: 'double quoted' }],
    ["A='single $HOME \\n'", { A: 'single $HOME \\n' }],
    ['A="esc \\" \\\\ \\$ \\` \\n"', { A: 'esc " \\ $ ` \\n' }],
    ['A="multi\nline"', { A: 'multi\nline' }],
    ['A=one\\\ntwo', { A: 'onetwo' }],
    ['A=back\\slash', { A: 'backslash' }],
    ['A=x"y"', { A: 'x"y"' }],
    ['A="x"y', { A: 'xy' }],
    ['A=', { A: '' }],
    ['A', {}],
    ['export A=1', {}],
    ['1A=1\nA-B=2\n_ok=3', { _ok: '3' }],
    ['A=1\nA=2', { A: '2' }],
    ['A=1\r\nB=2\r\n', { A: '1', B: '2' }],
    ['A=$OTHER', { A: '$OTHER' }],
    ['A="unterminated', { A: 'unterminated' }],
    ['\n\n  \nA=1\n\n', { A: '1' }],
    ['A=trailing   ', { A: 'trailing' }],
    ['A="  kept  "  ', { A: '  kept  ' }],
  ];
  for (const [text, want] of cases) t.same(parseEnvFile(text), want, JSON.stringify(text));
});

t.test('readEnvironmentFile', async (t) => {
  const dir = tempDir(t);
  const f = join(dir, 'env');
  writeFileSync(f, 'A=1\nB="two words"\n');
  t.same(readEnvironmentFile(f), { A: '1', B: 'two words' });
  t.same(readEnvironmentFile(join(dir, 'missing'), true), {}, '"-": a missing file is fine');
  t.throws(() => readEnvironmentFile(join(dir, 'missing')), { code: 'ENOENT', message: /missing/ });
  t.throws(() => readEnvironmentFile(dir, true), { code: 'EISDIR' }, 'optional covers only a missing file');
  t.throws(() => readEnvironmentFile('relative/env'), { code: 'EINVAL' });
});
