import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadSpec } from '../../specs/loader.js';
import type { ServiceConfig } from '../../specs/types.js';
import { problems, tree } from './helpers.js';

const svc = (name: string) => `[service.${name}]\nExecStart = "/bin/true"\n`;
const opts = { checkExecutables: false };

t.test('globs, sorted, nested, relative to the including file', async (t) => {
  const dir = tree(t, {
    'system.toml': 'include = ["conf.d/*.toml", "extra.toml"]\n' + svc('main'),
    'conf.d/20-b.toml': svc('b'),
    'conf.d/10-a.toml': 'include = "../nested/**/*.toml"\n' + svc('a'),
    'conf.d/.hidden.toml': svc('hidden'),
    'conf.d/notes.txt': 'not toml',
    'nested/x/deep.toml': svc('deep'),
    'nested/top.toml': svc('top'),
    'extra.toml': '[manager]\nDefaultRestartSec = "1s"\n',
  });
  const spec = await loadSpec(path.join(dir, 'system.toml'), opts);
  t.same(
    spec.files.map((f) => path.relative(dir, f)),
    ['system.toml', 'conf.d/10-a.toml', 'nested/top.toml', 'nested/x/deep.toml', 'conf.d/20-b.toml', 'extra.toml'],
    'main first, then each include in order, depth first',
  );
  t.same(Object.keys(spec.units).sort(), [
    'a.service',
    'b.service',
    'deep.service',
    'default.target',
    'main.service',
    'top.service',
  ]);
  t.equal(spec.manager.DefaultRestartSec, 1000, '[manager] may live in an included file');
  t.same(spec.units['deep.service'].where, { file: path.join(dir, 'nested/x/deep.toml'), line: 1 });
  t.same(spec.units['b.service'].keys.ExecStart, { file: path.join(dir, 'conf.d/20-b.toml'), line: 2 });
});

t.test('a relative WorkingDirectory is relative to the file that sets it', async (t) => {
  const dir = tree(t, {
    'system.toml': 'include = "sub/app.toml"\n' + svc('a') + 'WorkingDirectory = "."\n',
    'sub/app.toml': svc('b') + 'WorkingDirectory = "data"\n',
  });
  const spec = await loadSpec(path.join(dir, 'system.toml'), opts);
  t.equal((spec.units['a.service'].config as ServiceConfig).WorkingDirectory, dir);
  t.equal((spec.units['b.service'].config as ServiceConfig).WorkingDirectory, path.join(dir, 'sub/data'));
});

t.test('a glob matching nothing is fine; a missing plain path is not', async (t) => {
  const dir = tree(t, { 'system.toml': 'include = ["none/*.toml"]\n' + svc('a') });
  await t.resolves(loadSpec(path.join(dir, 'system.toml'), opts));
  const missing = tree(t, { 'system.toml': svc('a') + '\n' });
  fs.writeFileSync(path.join(missing, 'system.toml'), '# spec\ninclude = "gone.toml"\n' + svc('a'));
  const [p, ...rest] = await problems(loadSpec(path.join(missing, 'system.toml'), opts));
  t.same(rest, []);
  t.match(p, {
    where: { file: path.join(missing, 'system.toml'), line: 2 },
    key: 'include',
    message: `cannot read ${path.join(missing, 'gone.toml')}: no such file`,
  });
});

t.test('an include loop is named', async (t) => {
  const dir = tree(t, {
    'system.toml': 'include = "a.toml"\n' + svc('main'),
    'a.toml': 'include = "b.toml"\n' + svc('a'),
    'b.toml': '\ninclude = ["system.toml"]\n' + svc('b'),
  });
  const list = await problems(loadSpec(path.join(dir, 'system.toml'), opts));
  t.equal(list.length, 1);
  t.match(list[0], {
    where: { file: path.join(dir, 'b.toml'), line: 2 },
    key: 'include',
    message: 'include loop: system.toml → a.toml → b.toml → system.toml',
  });
});

t.test('a file reached twice without a loop is read once', async (t) => {
  const dir = tree(t, {
    'system.toml': 'include = ["a.toml", "b.toml"]\n' + svc('main'),
    'a.toml': 'include = "common.toml"\n',
    'b.toml': 'include = "common.toml"\n',
    'common.toml': svc('common'),
  });
  const spec = await loadSpec(path.join(dir, 'system.toml'), opts);
  t.equal(spec.files.filter((f) => f.endsWith('common.toml')).length, 1);
});

t.test('one unit defined in two files: both places named', async (t) => {
  const dir = tree(t, {
    'system.toml': 'include = "conf.d/*.toml"\n\n' + svc('web'),
    'conf.d/web.toml': '# again\n' + svc('web'),
  });
  const list = await problems(loadSpec(path.join(dir, 'system.toml'), opts));
  t.equal(list.length, 1);
  t.match(list[0], {
    where: { file: path.join(dir, 'conf.d/web.toml'), line: 2 },
    unit: 'web.service',
    message: `web.service is defined twice: here and at ${path.join(dir, 'system.toml')}:3`,
  });
});

t.test('one [manager] key set in two files', async (t) => {
  const dir = tree(t, {
    'system.toml': 'include = "more.toml"\n[manager]\nLogTarget = "null"\n' + svc('a'),
    'more.toml': '[manager]\nLogTarget = "file"\n',
  });
  const [p] = await problems(loadSpec(path.join(dir, 'system.toml'), opts));
  t.match(p, {
    where: { file: path.join(dir, 'more.toml'), line: 2 },
    key: 'LogTarget',
    message: `[manager] LogTarget is set twice: here and at ${path.join(dir, 'system.toml')}:3`,
  });
});

t.test('problems in included files carry their own file and line', async (t) => {
  const dir = tree(t, {
    'system.toml': 'include = "bad.toml"\n' + svc('a'),
    'bad.toml': '\n\n[service.b]\nExecStart = "/bin/true"\nRestart = "sometimes"\n',
  });
  const [p] = await problems(loadSpec(path.join(dir, 'system.toml'), opts));
  t.match(p, { where: { file: path.join(dir, 'bad.toml'), line: 5 }, unit: 'b.service', key: 'Restart' });
});

t.test('malformed TOML in an include: reported, no spurious unknown-unit errors', async (t) => {
  const dir = tree(t, {
    'system.toml': 'include = "db.toml"\n' + svc('web') + 'Requires = "db.service"\n',
    'db.toml': '[service.db]\nExecStart = "/bin/true\n',
  });
  const list = await problems(loadSpec(path.join(dir, 'system.toml'), opts));
  t.equal(list.length, 1);
  t.match(list[0], { where: { file: path.join(dir, 'db.toml'), line: 2 }, message: /^invalid TOML/ });
});

t.test('a relative main path gives relative include paths', async (t) => {
  const dir = tree(t, { 'system.toml': 'include = "conf.d/*.toml"\n' + svc('a'), 'conf.d/b.toml': svc('b') });
  const cwd = process.cwd();
  process.chdir(path.dirname(dir));
  t.teardown(() => process.chdir(cwd));
  const spec = await loadSpec(path.join(path.basename(dir), 'system.toml'), opts);
  t.same(spec.files, [path.join(path.basename(dir), 'system.toml'), path.join(path.basename(dir), 'conf.d/b.toml')]);
});

t.test('the main file missing or a directory', async (t) => {
  const dir = tree(t, {});
  const [missing] = await problems(loadSpec(path.join(dir, 'nope.toml')));
  t.match(missing, {
    where: { file: path.join(dir, 'nope.toml'), line: 1 },
    message: /cannot read .*nope.toml: no such file/,
  });
  const [directory] = await problems(loadSpec(dir));
  t.match(directory, { message: /is a directory/ });
});
