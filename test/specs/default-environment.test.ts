// [manager] DefaultEnvironment=: written as a unit's Environment= is, refused at its file:line with the key named.
import path from 'node:path';
import t from 'tap';
import { formatProblem } from '../../specs/errors.js';
import { loadSpec } from '../../specs/loader.js';
import { parse, problem, problems, tree } from './helpers.js';

const file = '/specs/system.toml';
const ok = '[service.ok]\nExecStart = "/bin/true"\n';

t.test('a table, a sub-table, or "K=V" strings', async (t) => {
  const env = async (text: string) => (await parse(text + ok)).manager.DefaultEnvironment;
  t.same(await env('[manager]\nDefaultEnvironment = { NODE = "a", N = 3, ON = true, EMPTY = "" }\n'), { NODE: 'a', N: '3', ON: 'true', EMPTY: '' });
  t.same(await env('[manager.DefaultEnvironment]\nNODE = "a"\n'), { NODE: 'a' });
  t.same(await env('[manager]\nDefaultEnvironment = ["NODE=a", "MSG=hello world", "NODE=b"]\n'), { NODE: 'b', MSG: 'hello world' }, 'the later assignment wins');
  t.same(await env('[manager]\nDefaultEnvironment = \'NODE=a "MSG=hello world"\'\n'), { NODE: 'a', MSG: 'hello world' });
  t.same(await env(''), {}, 'default: none');
  t.same((await parse(ok)).units['ok.service'].config, (await parse(`[manager]\nDefaultEnvironment = { NODE = "a" }\n${ok}`)).units['ok.service'].config, "not folded into a unit's Environment=");
});

t.test('wrong types: file:line, the key, what was expected', async (t) => {
  const cases: [string, RegExp][] = [
    ['DefaultEnvironment = 5', /^expected a table of variables \(\{ PORT = "8080" \}\) or "NAME=VALUE" strings, got 5$/],
    ['DefaultEnvironment = [1]', /or "NAME=VALUE" strings, got an array$/],
    ['DefaultEnvironment = { NODE = 1.5 }', /^variable NODE: expected a string, got 1\.5$/],
    ['DefaultEnvironment = { NODE = { NAME = "a" } }', /^variable NODE: expected a string, got a table$/],
    ['DefaultEnvironment = { "NODE-NAME" = "a" }', /^"NODE-NAME" is not a variable name$/],
    ['DefaultEnvironment = "NODE"', /^"NODE" is not a "NAME=VALUE" assignment$/],
  ];
  for (const [line, message] of cases) {
    const p = await problem(`[manager]\n${line}\n${ok}`);
    t.match(p, { where: { file, line: 2 }, key: 'DefaultEnvironment', message }, line);
    t.notOk(p.unit, `${line}: in no unit`);
    t.match(formatProblem(p), `${file}:2: DefaultEnvironment: `);
  }
});

t.test('in an included file: located there; in a unit: belongs in [manager]', async (t) => {
  const dir = tree(t, {
    'system.toml': `include = "manager.toml"\n${ok}`,
    'manager.toml': '# node settings\n[manager]\nDefaultEnvironment = { NODE = 7.5 }\n',
  });
  const [p] = await problems(loadSpec(path.join(dir, 'system.toml'), { checkExecutables: false }));
  t.match(p, { where: { file: path.join(dir, 'manager.toml'), line: 3 }, key: 'DefaultEnvironment' });
  t.match(await problem(`${ok}DefaultEnvironment = { NODE = "a" }\n`), {
    where: { file, line: 3 },
    unit: 'ok.service',
    message: 'unknown service key "DefaultEnvironment"',
    hint: 'DefaultEnvironment belongs in [manager]',
  });
});
