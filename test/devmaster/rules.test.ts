// The udev rules parser (devmaster/rules.ts) and the rules-file set (devmaster/rulesfiles.ts): every key and
// operator as udev 252 accepts or refuses them, diagnostics with file:line, GOTO/LABEL, substitutions, and every
// rules file of Debian 12's udev package (fetched by test/specs/debian-units.sh; skipped, with the reason, when the
// fetch fails) parsing with no diagnostic.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parseFormat, parseRules, show, type Token } from '../../devmaster/rules.js';
import { loadRules, ruleFiles } from '../../devmaster/rulesfiles.js';

const parse = (text: string) => parseRules(text, 'x.rules');
/** The tokens of a one-line file, or the diagnostics it gave. */
const one = (line: string): Token[] | string[] => {
  const r = parse(line);
  return r.diagnostics.length ? r.diagnostics.map(show) : r.rules[0].tokens;
};

t.test('tokens: keys, attributes, operators, quoting', async (t) => {
  t.same(one('KERNEL=="sd*", SUBSYSTEM!="block",ATTR{size}=="0" ,SYMLINK+="disk/%k"'), [
    { key: 'KERNEL', op: '==', value: 'sd*' },
    { key: 'SUBSYSTEM', op: '!=', value: 'block' },
    { key: 'ATTR', attr: 'size', op: '==', value: '0' },
    { key: 'SYMLINK', op: '+=', value: 'disk/%k' },
  ]);
  t.same(one('ACTION == "add"   ENV{X} -= "a", ENV{Y}:="b"'), ['x.rules:1: Invalid operator for ENV: \'==\', \'!=\', \'=\' or \'+=\'']);
  t.same(one('ENV{X}="a\\"b", RUN+="/bin/echo \\\\n"'), [
    { key: 'ENV', attr: 'X', op: '=', value: 'a"b' },
    { key: 'RUN', attr: 'program', op: '+=', value: '/bin/echo \\\\n' },
  ]);
  t.same(one('ENV{X}=e"a\\tb\\x41\\"\\\\"'), [{ key: 'ENV', attr: 'X', op: '=', value: 'a\tbA"\\' }]);
  t.same(one('ENV{X}=e"\\101\\u00e9\\s"'), [{ key: 'ENV', attr: 'X', op: '=', value: 'A\u00e9 ' }]);
  for (const bad of ['\\q', '\\x00', '\\400', '\\x4'])
    t.match(one(`ENV{X}=e"${bad}"`)[0], /x.rules:1: Invalid key\/value pair, ignoring: invalid escape sequence/, bad);
  t.match(one('ENV{X}=i"a"')[0], /expected a value in double quotes after ENV=/);
  t.match(one('KERNEL=="a" SYMLINK+="b')[0], /x.rules:1: .*expected '"' closing the value of SYMLINK/);
  t.match(one('KERNEL "a"')[0], /expected an operator .* after KERNEL/);
  t.match(one('ATTR{size=="a"')[0], /expected '}' closing ATTR\{/);
  t.match(one('KERNEL')[0], /expected an operator/);
});

t.test('which operators each key takes', async (t) => {
  const ok = (line: string) => t.equal(parse(line).diagnostics.length, 0, line);
  const err = (line: string, re: RegExp) => {
    const r = parse(line);
    t.equal(r.rules.length, 0, `${line}: dropped`);
    t.match(r.diagnostics.map(show).join('\n'), re, line);
  };
  for (const k of ['ACTION', 'DEVPATH', 'KERNEL', 'KERNELS', 'SUBSYSTEM', 'SUBSYSTEMS', 'DRIVER', 'DRIVERS', 'TAGS', 'RESULT']) {
    ok(`${k}=="a", ${k}!="b", TAG+="t"`);
    for (const op of ['=', '+=', '-=', ':=']) err(`${k}${op}"a", TAG+="t"`, new RegExp(`Invalid operator for ${k}`));
    err(`${k}{x}=="a", TAG+="t"`, new RegExp(`Invalid attribute for ${k}`));
  }
  ok('ATTRS{vendor}=="a", CONST{arch}=="x86-64", CONST{virt}!="none", TAG+="t"');
  err('ATTRS{a}="1", TAG+="t"', /Invalid operator for ATTRS/);
  err('ATTRS=="1", TAG+="t"', /Invalid attribute for ATTRS/);
  err('CONST{foo}=="1", TAG+="t"', /Invalid attribute for CONST: CONST\{arch\} or CONST\{virt\}/);
  for (const k of ['ATTR', 'SYSCTL']) {
    ok(`${k}{a}=="1", ${k}{b}!="2", ${k}{c}="3"`);
    err(`${k}{a}-="1"`, new RegExp(`Invalid operator for ${k}`));
    err(`${k}=="1"`, new RegExp(`Invalid attribute for ${k}`));
    t.same(one(`${k}{a}+="1"`), [`x.rules:1: ${k} key takes '==', '!=', or '=' operator, assuming '='.`]);
  }
  ok('ENV{A}=="1", ENV{B}!="2", ENV{C}="3", ENV{D}+="4"');
  err('ENV{DEVNAME}="x"', /Invalid ENV attribute. 'DEVNAME' cannot be set/);
  t.same(one('ENV{A}:="1"'), [`x.rules:1: ENV key takes '==', '!=', '=', or '+=' operator, assuming '='.`]);
  t.same(one('OWNER+="0"'), [`x.rules:1: OWNER key takes '=' or ':=' operator, assuming '='.`]);
  t.same(one('NAME+="x"'), [`x.rules:1: NAME key takes '==', '!=', '=', or ':=' operator, assuming '='.`]);
  t.same(one('SECLABEL{selinux}:="x"'), [`x.rules:1: SECLABEL key takes '=' or '+=' operator, assuming '='.`]);
  t.same((parse('NAME+="x"').rules[0].tokens[0] as Token).op, '=', 'the assumed operator is the one kept');
  ok('ENV{DEVTYPE}=="disk", TAG+="t"');
  ok('TAG=="a", TAG!="b", TAG="c", TAG+="d", TAG-="e"');
  t.same(one('TAG:="a"'), [`x.rules:1: TAG key takes '==', '!=', '=', or '+=' operator, assuming '='.`]);
  ok('NAME=="a", NAME!="b", NAME="c", NAME:="d"');
  err('NAME-="a"', /Invalid operator for NAME/);
  err('NAME="%k"', /Ignoring NAME="%k"/);
  err('NAME=""', /udev will not delete any network interfaces/);
  ok('SYMLINK=="a", SYMLINK!="b", SYMLINK="c", SYMLINK+="d", SYMLINK-="e", SYMLINK:="f"');
  for (const k of ['OWNER', 'GROUP', 'MODE']) {
    ok(`${k}="0", ${k}:="1"`);
    err(`${k}=="0"`, new RegExp(`Invalid operator for ${k}`));
    err(`${k}-="0"`, new RegExp(`Invalid operator for ${k}`));
  }
  ok('TEST=="/x", TEST{0644}!="/y", TAG+="t"');
  err('TEST="/x"', /Invalid operator for TEST/);
  err('TEST{9}=="/x"', /Invalid attribute for TEST: TEST\{mode\} takes an octal mode/);
  // PROGRAM and IMPORT run whatever their operator, and count as a match
  t.same(one('PROGRAM="/bin/true", IMPORT{file}+="/x", IMPORT{program}!="path_id %p"'), [
    { key: 'PROGRAM', op: '==', value: '/bin/true' },
    { key: 'IMPORT', attr: 'file', op: '==', value: '/x' },
    { key: 'IMPORT', attr: 'builtin', op: '!=', value: 'path_id %p' },
  ]);
  ok('IMPORT{db}=="A", IMPORT{cmdline}=="b", IMPORT{parent}=="C*", IMPORT{builtin}=="usb_id"');
  err('IMPORT{x}=="a"', /Invalid attribute for IMPORT/);
  err('IMPORT{builtin}=="nope"', /Unknown builtin command: nope/);
  err('PROGRAM-="a"', /Invalid operator for PROGRAM/);
  t.same(one('RUN+="/x", RUN{builtin}="kmod load", RUN{program}:="/y"'), [
    { key: 'RUN', attr: 'program', op: '+=', value: '/x' },
    { key: 'RUN', attr: 'builtin', op: '=', value: 'kmod load' },
    { key: 'RUN', attr: 'program', op: ':=', value: '/y' },
  ]);
  err('RUN=="/x"', /Invalid operator for RUN/);
  err('RUN{builtin}+="nope"', /Unknown builtin command 'nope'/);
  err('RUN{foo}+="/x"', /Invalid attribute for RUN/);
  ok('SECLABEL{selinux}="a", SECLABEL{smack}+="b"');
  err('SECLABEL="a"', /Invalid attribute for SECLABEL/);
  err('SECLABEL{selinux}=="a"', /Invalid operator for SECLABEL/);
  err('GOTO+="a"', /Invalid operator for GOTO/);
  err('LABEL=="a"', /Invalid operator for LABEL/);
  for (const k of ['DEVTYPE', 'WAIT_FOR', 'BUS', 'kernel']) err(`${k}=="a", TAG+="t"`, new RegExp(`Invalid key '${k}'`));
});

t.test('OPTIONS', async (t) => {
  t.same(
    (one('OPTIONS+="link_priority=-100", OPTIONS="string_escape=replace", OPTIONS:="watch", OPTIONS="db_persist", OPTIONS+="static_node=tun", OPTIONS="log_level=debug"') as Token[]).map((x) => [x.op, x.option]),
    [
      ['=', { name: 'link_priority', value: '-100' }],
      ['=', { name: 'string_escape', value: 'replace' }],
      [':=', { name: 'watch' }],
      ['=', { name: 'db_persist' }],
      ['=', { name: 'static_node', value: 'tun' }],
      ['=', { name: 'log_level', value: 'debug' }],
    ],
  );
  // an unknown option is logged and skipped, the rest of the line stays
  const r = parse('KERNEL=="a", OPTIONS="frob", TAG+="t"');
  t.same(r.rules[0].tokens.map((x) => x.key), ['KERNEL', 'TAG']);
  t.same(r.diagnostics.map(show), [`x.rules:1: Invalid value for OPTIONS key, ignoring: 'frob'`]);
  t.match(parse('OPTIONS="link_priority=x"').diagnostics.map(show), [/Failed to parse link priority 'x'/]);
  t.match(parse('OPTIONS="log_level=loud"').diagnostics.map(show), [/Failed to parse log level 'loud'/]);
  t.match(parse('OPTIONS=="watch"').diagnostics.map(show), [/Invalid operator for OPTIONS/]);
});

t.test('lines: comments, continuations, lines that do nothing, file:line', async (t) => {
  const text = [
    '# a comment',
    '  ',
    'KERNEL=="a", \\',
    '# a comment inside a continuation is skipped',
    '   SYMLINK+="b"',
    'KERNEL=="only-a-match"',
    'BAD',
    'KERNEL=="c", TAG+="d" \\',
  ].join('\n');
  const r = parse(text);
  t.same(r.rules.map((x) => [x.line, x.tokens.map((k) => k.key)]), [[5, ['KERNEL', 'SYMLINK']]]);
  t.same(r.diagnostics.map(show), [
    'x.rules:6: The line takes no effect, ignoring.',
    "x.rules:7: Invalid key/value pair, ignoring: expected an operator (== != = += -= :=) after the key.",
    'x.rules:8: Unexpected EOF after line continuation, line ignored.',
  ]);
  // a backslash followed by blanks does not continue the line
  t.equal(parse('TAG+="a" \\ \nTAG+="b"').diagnostics.length, 1);
  const long = parse(`TAG+="${'a'.repeat(9000)}" \\\nTAG+="${'b'.repeat(9000)}"\nTAG+="c"`);
  t.same(long.diagnostics.map(show), ['x.rules:2: Line is too long, ignored.']);
  t.same(long.rules.map((x) => x.line), [3]);
});

t.test('GOTO and LABEL', async (t) => {
  const r = parse(['KERNEL!="sd*", GOTO="end"', 'GOTO="nowhere", TAG+="t"', 'SYMLINK+="x"', 'LABEL="end"'].join('\n'));
  t.same(
    r.rules.map((x) => [x.line, x.goto, x.target, x.label]),
    [
      [1, 'end', 3, undefined],
      [2, undefined, undefined, undefined],
      [3, undefined, undefined, undefined],
      [4, undefined, undefined, 'end'],
    ],
  );
  t.same(r.diagnostics.map(show), ['x.rules:2: GOTO="nowhere" has no matching label, ignoring.']);
  // only a later LABEL counts
  t.same(parse('LABEL="up"\nGOTO="up"').diagnostics.map(show), ['x.rules:2: GOTO="up" has no matching label, ignoring.']);
  t.match(parse('GOTO="a", GOTO="b"\nLABEL="a"').diagnostics.map(show), [/Contains multiple GOTO keys, ignoring GOTO="b"/]);
});

/** What parseFormat throws for `value`. */
const formatError = (value: string) => {
  try {
    parseFormat(value);
  } catch (e) {
    return e;
  }
  return 'no error';
};

t.test('substitutions', async (t) => {
  t.same(parseFormat('a$kernel-%n/$attr{size}%s{x/y}$$%%$env{ID}%E{A}$result{2+}$tempnode$number'), [
    { text: 'a' },
    { subst: 'kernel' },
    { text: '-' },
    { subst: 'number' },
    { text: '/' },
    { subst: 'attr', arg: 'size' },
    { subst: 'attr', arg: 'x/y' },
    { text: '$%' },
    { subst: 'env', arg: 'ID' },
    { subst: 'env', arg: 'A' },
    { subst: 'result', arg: '2+' },
    { subst: 'devnode' },
    { subst: 'number' },
  ]);
  const all = '$devpath %p $id %b $driver %d $major %M $minor %m %c $parent %P $name %D $links %L $root %r $sys %S %N %k';
  t.same(
    parseFormat(all).flatMap((p) => ('subst' in p ? [p.subst] : [])),
    'devpath devpath id id driver driver major major minor minor result parent parent name name links links root root sys sys devnode kernel'.split(' '),
  );
  // a long name is matched as a prefix, as udev does: the rest is text
  t.same(parseFormat('$kernelX'), [{ subst: 'kernel' }, { text: 'X' }]);
  t.match(formatError('ab$foo'), { offset: 3, hint: 'invalid substitution type' });
  t.match(formatError('%q'), { offset: 1 });
  t.match(formatError('$attr'), { hint: 'attribute value missing' });
  t.match(formatError('$attr{x'), { hint: 'invalid substitution type' });
  t.match(formatError('$result{x}'), { hint: 'attribute value is not a valid number' });
  // in a rule, a bad substitution is logged and the token kept, as udev does
  const r = parse('SYMLINK+="disk/$foo"');
  t.equal(r.rules[0].tokens.length, 1);
  t.same(r.diagnostics.map(show), ['x.rules:1: Invalid value "disk/$foo" for SYMLINK (char 6: invalid substitution type), ignoring.']);
});

t.test('rule files: order by name across directories, override, masking', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rulesfiles-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const [etc, run, lib] = ['etc', 'run', 'lib'].map((d) => path.join(tmp, d));
  for (const d of [etc, run, lib]) fs.mkdirSync(d);
  const put = (dir: string, name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  put(lib, '10-a.rules', 'TAG+="lib-a"\n');
  put(lib, '50-b.rules', 'TAG+="lib-b"\n');
  put(etc, '50-b.rules', 'TAG+="etc-b", GOTO="e"\nLABEL="e"\n');
  put(run, '30-c.rules', 'TAG+="run-c"\n');
  put(lib, '30-c.rules', 'TAG+="lib-c"\n');
  put(lib, '40-masked.rules', 'TAG+="masked"\n');
  fs.symlinkSync('/dev/null', path.join(etc, '40-masked.rules'));
  put(lib, '45-empty.rules', 'TAG+="emptied"\n');
  put(run, '45-empty.rules', '');
  put(lib, '60-d.conf', 'TAG+="not-rules"\n');
  put(lib, '.70-hidden.rules', 'TAG+="hidden"\n');
  fs.mkdirSync(path.join(lib, '80-dir.rules'));
  const dirs = [etc, run, path.join(tmp, 'missing'), lib];
  t.same(ruleFiles(dirs), [path.join(lib, '10-a.rules'), path.join(run, '30-c.rules'), path.join(etc, '50-b.rules')]);
  const r = loadRules(dirs);
  t.same(r.rules.map((x) => x.tokens[0]?.value ?? x.label), ['lib-a', 'run-c', 'etc-b', 'e']);
  t.equal(r.rules[2].target, 3, 'GOTO targets index the whole set');
  t.same(r.diagnostics, []);
});

// ---- Debian's udev package

const cache = '/tmp/sysmaster-udev';
const fetched = spawnSync('bash', [path.resolve('test/specs/debian-units.sh'), cache, 'udev'], {
  encoding: 'utf8',
  timeout: 100_000,
});
const why =
  fetched.status === 0
    ? false
    : `Debian's udev package could not be fetched: ${(fetched.stderr || fetched.error?.message || `exit ${fetched.status}`).trim().split('\n').pop()}`;
if (why) console.log(`# SKIP debian udev rules: ${why}`);

t.test("every rules file of Debian's udev package parses with no diagnostic", { skip: why }, async (t) => {
  const dirs = ['lib/udev/rules.d', 'usr/lib/udev/rules.d'].map((d) => path.join(cache, 'root', d));
  const start = performance.now();
  const r = loadRules(dirs);
  const ms = performance.now() - start;
  console.log(`# parsed ${r.files.length} files, ${r.rules.length} rules in ${ms.toFixed(1)} ms`);
  t.ok(r.files.length >= 30, `${r.files.length} files`);
  t.same(r.diagnostics.map(show), []);
  // spot checks that the parse means what udev means
  const block = r.rules.filter((x) => x.file.endsWith('60-persistent-storage.rules'));
  t.ok(block.some((x) => x.tokens.some((k) => k.key === 'IMPORT' && k.attr === 'builtin' && k.value.startsWith('path_id'))));
  const gotos = r.rules.filter((x) => x.goto !== undefined);
  t.ok(gotos.length > 50, `${gotos.length} GOTOs`);
  t.same(gotos.filter((x) => r.rules[x.target!]?.label !== x.goto).map((x) => `${x.file}:${x.line}`), [], 'each GOTO reaches its LABEL');
});
