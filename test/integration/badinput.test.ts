// Bad specs through `sysmaster validate` and `sysmaster up`: exit 1, a message a user can act on, nothing started.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { cli, marker, pidsWith, scratch, Up, writeSpec } from './harness.js';

interface Case {
  name: string;
  /** The spec's files: the first is the one given on the command line. */
  files: Record<string, string>;
  /** file:line of the problem */
  at: [file: string, line: number];
  unit?: string;
  key?: string;
  /** what was expected, or what to do */
  says: RegExp;
  todo?: string;
}

const dir = scratch();
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const mark = marker();
// Every spec also holds a valid unit: if anything starts, this payload shows it.
const bystander = `[service.bystander]\nExecStart = ["/bin/sleep", "${mark}"]\n`;
const script = path.join(dir, 'not-executable.sh');
fs.writeFileSync(script, '#!/bin/sh\necho hi\n', { mode: 0o644 });

const cases: Case[] = [
  {
    name: 'malformed TOML',
    files: { 'spec.toml': `${bystander}\n[service.a]\nExecStart = ["/bin/true"\nType = "simple"\n` },
    at: ['spec.toml', 6],
    unit: 'a.service',
    says: /invalid TOML.*expected/,
  },
  {
    name: 'unknown key',
    files: { 'spec.toml': `${bystander}\n[service.a]\nExecStart = ["/bin/true"]\nAftr = ["bystander.service"]\n` },
    at: ['spec.toml', 6],
    unit: 'a.service',
    key: 'Aftr',
    says: /unknown .*key.*\(did you mean "After"\?\)/,
  },
  {
    name: 'wrong type',
    files: { 'spec.toml': `${bystander}\n[service.a]\nExecStart = ["/bin/true"]\nRestartSec = true\n` },
    at: ['spec.toml', 6],
    unit: 'a.service',
    key: 'RestartSec',
    says: /expected a time span/,
  },
  {
    name: 'missing ExecStart',
    files: { 'spec.toml': `${bystander}\n[service.a]\nDescription = "no command"\n` },
    at: ['spec.toml', 4],
    unit: 'a.service',
    key: 'ExecStart',
    says: /no ExecStart.*add ExecStart/,
  },
  {
    name: 'dependency on an unknown unit',
    files: { 'spec.toml': `${bystander}\n[service.a]\nExecStart = ["/bin/true"]\nRequires = ["ghost.service"]\n` },
    at: ['spec.toml', 6],
    unit: 'a.service',
    key: 'Requires',
    says: /ghost\.service.*not defined.*define \[service\.ghost\]/,
  },
  {
    name: 'a cycle of required units',
    files: {
      'spec.toml': `${bystander}\n[service.a]\nExecStart = ["/bin/true"]\nRequires = ["b.service"]\n\n[service.b]\nExecStart = ["/bin/true"]\nRequires = ["a.service"]\n`,
    },
    at: ['spec.toml', 6],
    unit: 'a.service',
    key: 'Requires',
    says: /cycle: a\.service → b\.service → a\.service.*Wants=/,
  },
  {
    name: 'a missing binary',
    files: { 'spec.toml': `${bystander}\n[service.a]\nExecStart = ["/no/such/binary", "--flag"]\n` },
    at: ['spec.toml', 5],
    unit: 'a.service',
    key: 'ExecStart',
    says: /"\/no\/such\/binary" not found \(fix the path/,
  },
  {
    name: 'a non-executable file',
    files: { 'spec.toml': `${bystander}\n[service.a]\nExecStart = ["${script}"]\n` },
    at: ['spec.toml', 5],
    unit: 'a.service',
    key: 'ExecStart',
    says: new RegExp(`not executable.*chmod \\+x ${script}`),
  },
  {
    name: 'two units with one name across an include',
    files: {
      'spec.toml': `include = ["conf.d/*.toml"]\n\n${bystander}\n[service.a]\nExecStart = ["/bin/true"]\n`,
      'conf.d/more.toml': `# more units\n\n[service.a]\nExecStart = ["/bin/false"]\n`,
    },
    at: ['conf.d/more.toml', 3],
    unit: 'a.service',
    says: /defined twice.*spec\.toml:6/,
  },
];

/** Check one run's stderr against the case; `what` names the command in messages. */
function checkMessage(t: Test, c: Case, stderr: string, file: string, what: string) {
  const at = `${path.join(path.dirname(file), c.at[0])}:${c.at[1]}: `;
  const line = stderr.split('\n').find((l) => l.startsWith(at));
  t.ok(line, `${what}: names ${at}`, { found: stderr });
  if (c.unit) t.match(line ?? '', `: ${c.unit}: `, `${what}: names the unit`, c.todo ? { todo: c.todo } : {});
  if (c.key) t.match(line ?? '', `: ${c.key}: `, `${what}: names the key`);
  t.match(line ?? '', c.says, `${what}: says what was expected or what to do`);
}

for (const c of cases) {
  t.test(c.name, async (t) => {
    const base = fs.mkdtempSync(path.join(dir, 'case-'));
    let spec = '';
    for (const [name, text] of Object.entries(c.files)) {
      fs.mkdirSync(path.dirname(path.join(base, name)), { recursive: true });
      const f = writeSpec(base, text, name);
      spec ||= f;
    }
    const v = await cli('sysmaster', ['validate', spec]);
    t.equal(v.code, 1, 'validate exits 1');
    checkMessage(t, c, v.stderr, spec, 'validate');

    const state = path.join(base, 'state');
    const up = new Up(spec, state);
    t.teardown(() => up.stop());
    t.equal(await up.exitedWithin(20_000), 1, 'up exits 1');
    checkMessage(t, c, up.output, spec, 'up');
    t.same(pidsWith(mark), [], 'nothing started');
    const probe = await cli('sctl', ['--state-dir', state, 'list-units']);
    t.equal(probe.code, 1, 'no core answers on the state directory');
  });
}

const root = process.getuid?.() === 0;
t.test('an unreadable spec file', { skip: root && 'running as root: chmod 000 does not stop root from reading' }, async (t) => {
  const spec = writeSpec(fs.mkdtempSync(path.join(dir, 'case-')), bystander, 'spec.toml');
  fs.chmodSync(spec, 0o000);
  const v = await cli('sysmaster', ['validate', spec]);
  t.equal(v.code, 1);
  t.match(v.stderr, new RegExp(`^${spec}:\\d+: .*(permission denied|cannot read)`, 'im'));
  const up = new Up(spec, path.join(path.dirname(spec), 'state'));
  t.teardown(() => up.stop());
  t.equal(await up.exitedWithin(20_000), 1);
  t.match(up.output, spec);
  t.same(pidsWith(mark), []);
});

t.test('a second up on the same state directory is refused', async (t) => {
  const base = fs.mkdtempSync(path.join(dir, 'case-'));
  const spec = writeSpec(base, bystander);
  const state = path.join(base, 'state');
  const first = new Up(spec, state);
  t.teardown(() => first.stop());
  await first.ready();
  const payload = pidsWith(mark);
  t.equal(payload.length, 1);

  const second = new Up(spec, state);
  t.teardown(() => second.stop());
  t.equal(await second.exitedWithin(20_000), 1, 'the second up exits 1');
  t.match(second.output, `pid ${first.child.pid}`, 'naming the running pid');
  t.match(second.output, state, 'and the state directory');

  t.equal(first.child.exitCode, null, 'the first keeps running');
  const ping = await cli('sctl', ['--state-dir', state, 'is-active', 'bystander']);
  t.same([ping.code, ping.stdout], [0, 'active\n'], 'and still answers');
  t.same(pidsWith(mark), payload, 'its payload untouched, none started twice');
  t.equal(await first.stop(), 0);
  t.same(pidsWith(mark), []);
});
