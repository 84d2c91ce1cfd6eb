import path from 'node:path';
import t from 'tap';
import { expandGlob } from '../../specs/glob.js';
import { tree } from './helpers.js';

t.test('include globs', async (t) => {
  const dir = tree(t, {
    'a1.toml': '',
    'a2.toml': '',
    'b1.toml': '',
    'ab.toml': '',
    '.a3.toml': '',
    'd/x.toml': '',
    'd/e/y.toml': '',
    'd/.h/z.toml': '',
    'sub.toml/inner': '',
  });
  const rel = (pattern: string) => expandGlob(pattern, dir).map((f) => path.relative(dir, f));
  t.same(rel('*.toml'), ['a1.toml', 'a2.toml', 'ab.toml', 'b1.toml'], 'sorted, no dot files, no directories');
  t.same(rel('a?.toml'), ['a1.toml', 'a2.toml', 'ab.toml']);
  t.same(rel('[ab]1.toml'), ['a1.toml', 'b1.toml']);
  t.same(rel('a[!1].toml'), ['a2.toml', 'ab.toml']);
  t.same(rel('.a*.toml'), ['.a3.toml'], 'a pattern starting with a dot matches dot files');
  t.same(
    rel('**/*.toml'),
    ['a1.toml', 'a2.toml', 'ab.toml', 'b1.toml', 'd/e/y.toml', 'd/x.toml'],
    '** is any depth, skipping dot dirs',
  );
  t.same(rel('d/*/y.toml'), ['d/e/y.toml']);
  t.same(rel('nope/*.toml'), []);
  t.same(
    expandGlob('plain.toml', dir),
    [path.join(dir, 'plain.toml')],
    'no wildcard: returned as is, even when missing',
  );
  t.same(
    expandGlob(path.join(dir, 'a1*'), '/elsewhere'),
    [path.join(dir, 'a1.toml')],
    'absolute patterns ignore the base',
  );
});
