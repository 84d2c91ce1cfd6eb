// The Exec program check: found and executable, else "not found" or "not executable (permission denied)".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadSpec, parseSpec } from '../../specs/loader.js';
import { problems, tree } from './helpers.js';

/** bin/tool (executable), bin/plain (not executable), other/tool2 (executable). */
function programs(t: Test): string {
  const dir = tree(t, { 'bin/tool': '#!/bin/sh\n', 'bin/plain': 'data\n', 'other/tool2': '#!/bin/sh\n' });
  fs.chmodSync(path.join(dir, 'bin/tool'), 0o755);
  fs.chmodSync(path.join(dir, 'other/tool2'), 0o755);
  fs.chmodSync(path.join(dir, 'bin/plain'), 0o644);
  return dir;
}

t.test('absolute paths: fine, not found, not executable, a directory', async (t) => {
  const dir = programs(t);
  const file = path.join(dir, 'system.toml');
  await t.resolves(parseSpec(`[service.a]\nExecStart = "${dir}/bin/tool --flag"\n`, file));
  const list = await problems(
    parseSpec(
      `[service.a]\nExecStart = "${dir}/bin/missing"\n[service.b]\nExecStart = "${dir}/bin/plain"\n[service.c]\nExecStart = "${dir}/bin"\n`,
      file,
    ),
  );
  t.match(list, [
    {
      where: { file, line: 2 },
      unit: 'a.service',
      key: 'ExecStart',
      message: `"${dir}/bin/missing" not found`,
      hint: /prefix the command with "-"/,
    },
    {
      where: { file, line: 4 },
      unit: 'b.service',
      key: 'ExecStart',
      message: `"${dir}/bin/plain" is not executable (permission denied)`,
      hint: `chmod +x ${dir}/bin/plain`,
    },
    { where: { file, line: 6 }, unit: 'c.service', message: /is a directory/ },
  ]);
});

t.test('bare names: Environment.PATH first, then DefaultEnvironment.PATH, else the loader env PATH', async (t) => {
  const dir = programs(t);
  const file = path.join(dir, 'system.toml');
  const env = { PATH: `${dir}/other` };
  await t.resolves(parseSpec(`[service.a]\nExecStart = "tool2 x"\n`, file, { env }), 'found through the env PATH');
  await t.resolves(
    parseSpec(`[service.a]\nExecStart = "tool"\nEnvironment = { PATH = "${dir}/bin" }\n`, file, { env }),
    'Environment.PATH wins',
  );
  const defaults = `[manager]\nDefaultEnvironment = { PATH = "${dir}/bin" }\n`;
  await t.resolves(parseSpec(`${defaults}[service.a]\nExecStart = "tool"\n`, file, { env }), 'DefaultEnvironment.PATH wins over the env PATH');
  await t.resolves(
    parseSpec(`${defaults}[service.a]\nExecStart = "tool2"\nEnvironment = { PATH = "${dir}/other" }\n`, file, { env }),
    'Environment.PATH wins over DefaultEnvironment.PATH',
  );
  const [missing] = await problems(parseSpec(`[service.a]\nExecStart = "tool"\n`, file, { env }));
  t.match(missing, {
    key: 'ExecStart',
    message: `"tool" not found in PATH (${dir}/other)`,
    hint: 'write the absolute path, or set Environment.PATH',
  });
  const [denied] = await problems(
    parseSpec(`[service.a]\nExecStart = "plain"\n`, file, { env: { PATH: `${dir}/bin` } }),
  );
  t.match(denied, { message: `"${dir}/bin/plain" is not executable (permission denied)` });
});

t.test('every Exec key is checked, "-" commands are not, and the check can be off', async (t) => {
  const dir = programs(t);
  const file = path.join(dir, 'system.toml');
  const text = `[service.a]
ExecStartPre = ["-${dir}/nope", "${dir}/bin/tool"]
ExecStart = "/bin/sh -c 'exec ${dir}/also-nope'"
ExecStartPost = "${dir}/n1"
ExecReload = "${dir}/n2"
ExecStop = [["${dir}/bin/tool"], ["${dir}/n3"]]
ExecStopPost = "${dir}/n4"
`;
  const list = await problems(parseSpec(text, file));
  t.same(
    list.map((p) => [p.key, p.message]),
    [
      ['ExecStartPost', `"${dir}/n1" not found`],
      ['ExecReload', `"${dir}/n2" not found`],
      ['ExecStop', `command 2: "${dir}/n3" not found`],
      ['ExecStopPost', `"${dir}/n4" not found`],
    ],
    'the shell itself is checked, the script it runs is not',
  );
  await t.resolves(parseSpec(text, file, { checkExecutables: false }));
});

t.test('an unreadable file is a problem, not a crash', async (t) => {
  const dir = tree(t, {
    'system.toml': 'include = "secret.toml"\n[service.a]\nExecStart = "/bin/true"\n',
    'secret.toml': '',
  });
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(path.join(dir, 'secret.toml'), 0o000);
  const expected = {
    where: { file: path.join(dir, 'system.toml'), line: 1 },
    key: 'include',
    message: `cannot read ${path.join(dir, 'secret.toml')}: permission denied`,
  };
  if (process.getuid?.() !== 0) {
    t.match(await problems(loadSpec(path.join(dir, 'system.toml'))), [expected]);
    return;
  }
  // Root reads anything: load as nobody in a child with this test's TypeScript loader.
  const script = `
    import { loadSpec } from ${JSON.stringify(new URL('../../specs/loader.js', import.meta.url).href)};
    loadSpec(${JSON.stringify(path.join(dir, 'system.toml'))}).then(
      () => console.log('null'),
      (e) => console.log(JSON.stringify(e.problems ?? String(e))),
    );`;
  const execArgv = process.execArgv.filter((a) => a.includes('typescript') || a === '--enable-source-maps');
  const child = spawnSync(process.execPath, [...execArgv, '--input-type=module', '-e', script], {
    uid: 65534,
    gid: 65534,
    encoding: 'utf8',
    cwd: '/',
  });
  if (child.error || child.status !== 0) {
    t.pass('unreadable file', {
      skip: `cannot run as nobody here: ${child.error?.message ?? child.stderr.slice(0, 300)}`,
    });
    return;
  }
  t.match(JSON.parse(child.stdout.trim().split('\n').pop()!), [expected]);
});
