// The rules evaluator (devmaster/evaluate.ts, with fnmatch.ts, spawn.ts, virt.ts) on small rule texts and a fake sysfs tree: every key and operator,
// every substitution, token sorting, udev's line mask, GOTO, `:=` finality, real programs for PROGRAM/RESULT and
// IMPORT{program} (with a timeout), builtins (run once, unsupported ones reported), the old database, and the
// machine constants.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { DeviceDb, deviceId, type DbRecord } from '../../devmaster/db.js';
import { compileRules, evaluate, parseFormat, replaceChars, sysctlPath, type EvaluateOptions, type ResolveNames } from '../../devmaster/evaluate.js';
import { fnmatch } from '../../devmaster/fnmatch.js';
import type { Outcome } from '../../devmaster/outcome.js';
import { parseRules, show } from '../../devmaster/rules.js';
import { Device } from '../../devmaster/sysfs.js';
import { fileTree } from './tree.js';
import { splitCommand } from '../../devmaster/spawn.js';
import { architecture, cmdlineValue, detectVirtualization } from '../../devmaster/virt.js';

const PCI = '/devices/pci0000:00/0000:00:1f.2';
const SCSI = `${PCI}/ata1/host0/target0:0:0/0:0:0:0`;
const SDA = `${SCSI}/block/sda`;
const SDA1 = `${SDA}/sda1`;
const LO = '/devices/virtual/net/lo';

/** A disk (with a partition) on an AHCI controller, a loopback interface, a module and DMI, laid out as the kernel does. */
function fakeSys(): string {
  const { root, put, link } = fileTree('evaluate-sys-');
  const up = (devpath: string) => '../'.repeat(devpath.split('/').length - 2);
  put(`${PCI}/uevent`, 'DRIVER=ahci\nPCI_CLASS=10601\n');
  put(`${PCI}/vendor`, '0x8086\n');
  put(`${PCI}/label`, 'Onboard SATA*  \n');
  link(`${PCI}/subsystem`, `${up(PCI)}bus/pci`);
  link(`${PCI}/driver`, `${up(PCI)}bus/pci/drivers/ahci`);
  put(`${SCSI}/uevent`, 'DEVTYPE=scsi_device\nDRIVER=sd\n');
  put(`${SCSI}/vendor`, 'ATA     \n');
  put(`${SCSI}/model`, 'ACME Disk   \n');
  link(`${SCSI}/subsystem`, `${up(SCSI)}bus/scsi`);
  link(`${SCSI}/driver`, `${up(SCSI)}bus/scsi/drivers/sd`);
  put(`${SDA}/uevent`, 'MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\n');
  put(`${SDA}/size`, '41943040\n');
  put(`${SDA}/queue/rotational`, '1\n');
  put(`${SDA}/ro`, '0\n', 0o444);
  put(`${SDA}/events_poll_msecs`, '-1\n');
  put(`${SDA}/slot8`, 'ok\n');
  put(`${SDA}/holders/md0/slaves`, '');
  link(`${SDA}/subsystem`, `${up(SDA)}class/block`);
  put(`${SDA1}/uevent`, 'MAJOR=8\nMINOR=1\nDEVNAME=sda1\nDEVTYPE=partition\nPARTN=1\n');
  link(`${SDA1}/subsystem`, `${up(SDA1)}class/block`);
  put(`${LO}/uevent`, 'INTERFACE=lo\nIFINDEX=1\n');
  put(`${LO}/mtu`, '65536\n');
  put(`${LO}/address`, '00:00:00:00:00:00\n');
  link(`${LO}/subsystem`, `${up(LO)}class/net`);
  put('devices/virtual/dmi/id/uevent', '');
  put('devices/virtual/dmi/id/product_name', 'Test Box\n');
  link('devices/virtual/dmi/id/subsystem', '../../../../class/dmi');
  link('class/dmi/id', '../../devices/virtual/dmi/id');
  link('class/block/sda', `../..${SDA}`);
  link('class/net/lo', `../..${LO}`);
  put('module/sg/uevent', '');
  fs.mkdirSync(path.join(root, 'bus/pci/drivers/ahci'), { recursive: true });
  fs.mkdirSync(path.join(root, 'bus/scsi/drivers/sd'), { recursive: true });
  return root;
}

const root = fakeSys();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'evaluate-'));
t.teardown(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(scratch, { recursive: true, force: true });
});

const resolver = {
  user: (n: string) => ({ root: 0, alice: 1000 })[n as 'root'],
  group: (n: string) => ({ disk: 6, tty: 5, video: 44 })[n as 'disk'],
};

type Opts = EvaluateOptions & { action?: string; names?: ResolveNames };

/** The rules text (file test.rules) on the device at `devpath` in the fake tree. Parse errors fail the test. */
function ev(text: string, devpath: string, o: Opts = {}): Outcome {
  const { rules, diagnostics } = parseRules(text, 'test.rules');
  const errors = diagnostics.filter((d) => d.level === 'error');
  if (errors.length) throw new Error(errors.map(show).join('\n'));
  const c = compileRules(rules, o.names ?? 'early', resolver);
  return evaluate(c, Device.fromSyspath(path.join(root, devpath), root), o.action ?? 'add', {
    builtins: {}, virt: 'kvm', arch: 'x86-64', cmdline: '', usecNow: 7, resolver, ...o,
  });
}
const env = (o: Outcome, k: string) => o.properties.get(k);

t.test('fnmatch, the format parser, character replacement, command splitting', async (t) => {
  const m = (p: string, s: string) => fnmatch(p).test(s);
  t.ok(m('sd*', 'sda1') && m('sd?', 'sda') && !m('sd?', 'sda1'));
  t.ok(m('*', 'a/b'), 'no FNM_PATHNAME: * crosses /');
  t.ok(m('tty[0-9]*', 'tty12') && !m('tty[0-9]*', 'ttyS0'));
  t.ok(m('[!a]x', 'bx') && !m('[!a]x', 'ax') && m('[^a]x', 'bx'));
  t.ok(m('[[:digit:]][[:alpha:]]', '1z') && !m('[[:digit:]]', 'z'));
  t.ok(m('[]]', ']') && m('a\\*', 'a*') && !m('a\\*', 'ab'));
  t.ok(m('x[', 'x['), 'an unclosed [ is literal');
  t.ok(m('a.b', 'a.b') && !m('a.b', 'aXb'));
  t.same(parseFormat('plain'), { lit: 'plain', parts: ['plain'] });
  t.same(parseFormat('$foo%q$$%%').lit, '$foo%q$%', 'unknown substitutions stay literal, $$ and %% are one');
  t.same(parseFormat('a$attr{x').parts, ['a'], 'an unclosed { ends the value there');
  t.match(parseFormat('a$attr{x').bad, /char 2/);
  t.same(parseFormat('%c{2+}-$sysfs{size}').parts, [{ s: 'result', arg: '2+', index: 2, plus: true }, '-', { s: 'attr', arg: 'size' }]);
  t.equal(replaceChars('a b/c\t%é\\x20!'), 'a_b_c__é\\x20_');
  t.equal(replaceChars('a b/c\t$', '/ $%?,'), 'a b/c $');
  t.same(splitCommand(` a  "b c" 'd"e' f\\g ""`), ['a', 'b c', 'd"e', 'f\\g', '']);
  t.same(splitCommand('x "unclosed y'), ['x', 'unclosed y'], 'EXTRACT_RELAX: an unclosed quote ends the word');
  t.equal(sysctlPath('net.ipv4.conf.eth0/1.rp_filter'), 'net/ipv4/conf/eth0.1/rp_filter');
  t.equal(sysctlPath('kernel/ostype'), 'kernel/ostype');
});

t.test('match keys on the device itself: values, globs, alternatives, empty and ?*', async (t) => {
  const set = (rules: string, devpath = SDA, o: Opts = {}) => env(ev(`${rules}, ENV{HIT}="1"`, devpath, o), 'HIT') === '1';
  t.ok(set('ACTION=="add"') && !set('ACTION=="add"', SDA, { action: 'change' }) && set('ACTION!="remove"'));
  t.ok(set(`DEVPATH=="${SDA}"`) && set('DEVPATH=="/devices/pci*/sda"'));
  t.ok(set('KERNEL=="sda"') && set('KERNEL=="sd*"') && set('KERNEL=="hd*|sd*"') && set('KERNEL=="hda|sda"'));
  t.notOk(set('KERNEL=="sda1|sdb"'));
  t.ok(set('KERNEL!="hd*|vd*"') && !set('KERNEL!="hd*|sd?"'));
  t.ok(set('SUBSYSTEM=="block"') && set('SUBSYSTEM=="net|block"') && set('SUBSYSTEM=="net", KERNEL=="lo"', LO));
  t.ok(set('DRIVER==""') && set('DRIVER!="?*"'), 'a disk has no driver: "" matches, "?*" is != ""');
  t.ok(set('ENV{DEVTYPE}=="disk"') && set('ENV{NOPE}==""') && set('ENV{NOPE}=="|x"') && !set('ENV{NOPE}=="x|y"'));
  t.ok(set('ENV{DEVTYPE}=="?*"') && !set('ENV{NOPE}=="?*"'));
  t.ok(set('ENV{DEVTYPE}=="|dis?"'), 'a glob with an empty alternative');
  // trailing whitespace of attributes: stripped unless the value itself ends in a blank
  t.ok(set('ATTR{size}=="41943040"') && set('ATTR{queue/rotational}=="1"'));
  t.ok(set('ATTRS{model}=="ACME Disk"') && set('ATTRS{model}=="ACME Disk   "') && !set('ATTRS{model}=="ACME Disk "'));
  t.ok(set('ATTR{size}!="0"') && !set('ATTR{nosuch}!="0"'), 'an attribute that cannot be read fails the key, != too');
  t.ok(set('ATTR{[dmi/id]product_name}=="Test Box"') && !set('ATTR{[nosuch/id]product_name}=="?*"'));
  t.notOk(set('ATTR{$kernel}!="x"'), 'ATTR{name} takes substitutions: sda has no attribute "sda"');
  t.ok(set('ATTR{slot$major}=="ok"'), 'a substitution in the name (no braces: the name ends at the first })');
  t.ok(set('SYSCTL{kernel.ostype}=="Linux"') && set('SYSCTL{kernel/ostype}=="Linux"') && set('SYSCTL{kernel.nosuch}==""'));
  t.ok(set('CONST{arch}=="x86-64"') && set('CONST{virt}=="kvm"') && set('CONST{virt}!="none"') && !set('CONST{virt}=="qemu"'));
  t.ok(set('TEST=="size"') && set('TEST!="nosuch"') && set(`TEST=="${root}${SDA}/size"`));
  t.ok(set('TEST{0444}=="ro"') && set('TEST{0222}!="ro"') && !set('TEST{0222}=="ro"'), 'TEST{mode}: any of the bits');
  t.ok(set('TEST=="holders/*/slaves"') && !set('TEST=="holders/*/nosuch"'), '/*/ tries each subdirectory');
  t.ok(set('TEST=="[module/sg]"') && set('TEST!="[module/st]"') && set('TEST=="[dmi/id]product_name"'));
  t.ok(set('NAME==""', LO) && set('SYMLINK==""') === false, 'SYMLINK== with no links matches nothing');
});

t.test('parent keys: all on the same device, the nearest first; $id and $driver name it', async (t) => {
  let o = ev('KERNELS=="0000:00:*", DRIVERS=="ahci", ATTRS{vendor}=="0x8086", ENV{P}="$id $driver $attr{vendor}"', SDA1);
  t.equal(env(o, 'P'), '0000:00:1f.2 ahci 0x8086');
  o = ev('SUBSYSTEMS=="scsi", ATTRS{vendor}=="ATA", ENV{P}="$id %d %s{vendor} %s{size}"', SDA);
  t.equal(env(o, 'P'), '0:0:0:0 sd ATA 41943040', '$attr: the device first, then the matched parent (trailing blanks dropped)');
  o = ev('SUBSYSTEMS=="scsi", DRIVERS=="ahci", ENV{P}="1"', SDA);
  t.equal(env(o, 'P'), undefined, 'keys matching on different parents do not match');
  o = ev('KERNELS=="sda", SUBSYSTEMS=="block", ENV{P}="$id"', SDA);
  t.equal(env(o, 'P'), 'sda', 'the walk starts at the device itself');
  o = ev('KERNELS=="nosuch", ENV{P}="1"\nENV{Q}="[$id]"', SDA);
  t.same([env(o, 'P'), env(o, 'Q')], [undefined, '[]'], 'a failed walk leaves no $id');
  o = ev('ATTRS{label}=="Onboard SATA?", ENV{P}="%s{label}|"', SDA);
  t.equal(env(o, 'P'), 'Onboard SATA_|', 'ATTRS strips trailing blanks; $attr replaces unsafe characters');
});

t.test('tokens run sorted by udev type: matches first, PROGRAM before RESULT, parents together', async (t) => {
  let o = ev('ENV{X}="1", KERNEL=="nosuch"', SDA);
  t.equal(env(o, 'X'), undefined, 'an assignment written before a failing match is not applied');
  o = ev('RESULT=="hello", PROGRAM="/bin/echo hello", ENV{X}="%c"', SDA);
  t.equal(env(o, 'X'), 'hello');
  o = ev('SYMLINK+="a b", OPTIONS+="string_escape=replace"', SDA);
  t.same(o.links, ['a_b'], 'OPTIONS string_escape applies to the SYMLINK of its line, wherever it is written');
  o = ev('SYMLINK+="c d"', SDA);
  t.same(o.links, ['c', 'd'], 'and only to that line');
});

t.test("udev's line mask: NAME lines only for interfaces, SYMLINK/OWNER/GROUP/MODE lines only for nodes", async (t) => {
  let o = ev('KERNEL=="lo", SYMLINK+="x", PROGRAM="/bin/sh -c \'echo >&2 ran\'"', LO);
  t.same(o.links, []);
  o = ev('KERNEL=="lo", MODE="0600"', LO);
  t.equal(o.mode, undefined, 'a MODE-only line is skipped for a device without a node');
  o = ev('KERNEL=="sda", NAME="x"', SDA);
  t.same([o.name, o.warnings], [undefined, []], 'a NAME-only line is skipped for a block device (no warning either)');
  o = ev('KERNEL=="sda", NAME="x", ENV{Y}="1"', SDA);
  t.equal(o.name, undefined);
  t.match(o.warnings[0], /test\.rules:1: Only network interfaces can be renamed/);
  o = ev('KERNEL=="sda", SYMLINK+="x"', SDA, { action: 'remove' });
  t.same(o.links, [], 'on remove, SYMLINK lines do not run');
});

t.test('every substitution', async (t) => {
  const o = ev(
    [
      `PROGRAM="/bin/echo '  one two  three'", SYMLINK+="l1 l2"`,
      'ENV{A}="$kernel %k $number %n $devpath %p $id %b $driver %d"',
      'ENV{B}="$attr{size} %s{size} $sysfs{queue/rotational} $env{DEVTYPE} %E{DEVTYPE} $major %M $minor %m"',
      'ENV{C}="$result|%c|%c{2}|%c{2+}|%c{9}|$result{1}"',
      'ENV{D}="$parent|%P|$name|%D|$links|%L|$root|%r|$sys|%S|$devnode|%N|$tempnode|$$|%%|$nosuch|%q"',
    ].join('\n'),
    SDA1,
  );
  t.equal(env(o, 'A'), `sda1 sda1 1 1 ${SDA1} ${SDA1}    `, 'no parent key matched yet: $id and $driver are empty');
  t.equal(env(o, 'B'), '   partition partition 8 8 1 1', 'the partition has no size or queue/rotational of its own');
  t.equal(env(o, 'C'), '  one two  three|  one two  three|two|two  three||one');
  t.equal(env(o, 'D'), `sda|sda|sda1|sda1|l1 l2|l1 l2|/dev|/dev|${root}|${root}|/dev/sda1|/dev/sda1|/dev/sda1|$|%|$nosuch|%q`);
  const p = ev('KERNELS=="sda", ENV{X}="$id"\nENV{Y}="$id/$attr{size}"', SDA1);
  t.same([env(p, 'X'), env(p, 'Y')], ['sda', 'sda/41943040'], '$id and the parent $attr carry to later lines, as in udev');
  const n = ev('NAME="net-$kernel"\nENV{N}="$name"', LO);
  t.same([n.name, env(n, 'N')], ['net-lo', 'net-lo']);
});

t.test('ENV, TAG, SYMLINK, NAME, OWNER/GROUP/MODE, OPTIONS assignments', async (t) => {
  let o = ev('ENV{A}="1", ENV{A}+="2", ENV{A}+="", ENV{B}="x", ENV{B}="", ENV{.HIDDEN}="h", ENV{C}+="c"', SDA);
  t.same([env(o, 'A'), env(o, 'B'), env(o, '.HIDDEN'), env(o, 'C')], ['1 2', undefined, 'h', 'c']);
  t.same([...o.dbProperties], [['A', '1 2'], ['C', 'c']], 'the database keeps rule-set properties, not .HIDDEN ones');
  o = ev('ENV{A}="a b/c", OPTIONS+="string_escape=replace"\nENV{B}="a b/c"', SDA);
  t.same([env(o, 'A'), env(o, 'B')], ['a_b_c', 'a b/c'], 'string_escape=replace on ENV, for its line only');

  o = ev('TAG+="a", TAG+="b", TAG+="c"\nTAG-="b"\nTAG=="a", ENV{HAS_A}="1"\nTAG=="b", ENV{HAS_B}="1"\nTAG+="bad:tag"', SDA);
  t.same([o.tags, o.allTags, env(o, 'HAS_A'), env(o, 'HAS_B')], [['a', 'c'], ['a', 'b', 'c'], '1', undefined]);
  t.same([env(o, 'TAGS'), env(o, 'CURRENT_TAGS')], [':a:b:c:', ':a:c:'], '-= drops the tag from the current ones only');
  t.match(o.warnings, [/test\.rules:5: Invalid tag name 'bad:tag'/]);
  o = ev('TAG+="a"\nTAG="z"', SDA);
  t.same([o.tags, o.allTags], [['z'], ['z']], 'TAG= clears every tag');

  o = ev('SYMLINK+="disk/by-x/$attr{size} other", SYMLINK+="bad*char#ok"', SDA);
  t.same(o.links, ['disk/by-x/41943040', 'other', 'bad_char#ok'], 'split at blanks; invalid characters replaced');
  t.equal(env(o, 'DEVLINKS'), '/dev/disk/by-x/41943040 /dev/other /dev/bad_char#ok');
  o = ev('ENV{V}="a b", SYMLINK+="v/$env{V} w"', SDA);
  t.same(o.links, ['v/a_b', 'w'], 'blanks inside a substituted value become _');
  o = ev('ENV{V}="a b", SYMLINK+="v/$env{V}", OPTIONS+="string_escape=none"', SDA);
  t.same(o.links, ['v/a', 'b'], 'string_escape=none: no replacement');
  o = ev('SYMLINK+="a"\nSYMLINK="b"\nSYMLINK+="c"\nSYMLINK=="b", ENV{HAS_B}="1"\nSYMLINK!="z*", ENV{NO_Z}="1"', SDA);
  t.same([o.links, env(o, 'HAS_B'), env(o, 'NO_Z')], [['b', 'c'], '1', '1']);
  o = ev('SYMLINK:="final"\nSYMLINK+="late"\nSYMLINK="later"', SDA);
  t.same(o.links, ['final'], 'SYMLINK:= ignores later SYMLINK assignments');

  o = ev('NAME="e th/0:x"', LO);
  t.equal(o.name, 'e_th_0_x', 'NAME: characters an interface name cannot have are replaced');
  o = ev('NAME:="first"\nNAME="second"\nNAME=="first", ENV{N}="$name"', LO);
  t.same([o.name, env(o, 'N')], ['first', 'first']);

  o = ev('OWNER="alice", GROUP="disk", MODE="0640"\nGROUP="123"\nMODE="600"', SDA);
  t.same([o.owner, o.uid, o.group, o.gid, o.mode], ['alice', 1000, '123', 123, '0600']);
  o = ev('OWNER:="root", GROUP:="tty", MODE:="0620"\nOWNER="alice", GROUP="disk", MODE="0666"', SDA);
  t.same([o.owner, o.uid, o.group, o.gid, o.mode], ['root', 0, 'tty', 5, '0620'], ':= makes OWNER, GROUP and MODE final');
  o = ev('GROUP="nosuch"', SDA);
  t.same([o.group, o.gid], [undefined, undefined], 'an unknown group is ignored');
  o = ev('ENV{G}="video"\nGROUP="$env{G}", MODE="0$env{M}x"', SDA);
  t.same([o.group, o.gid, o.mode], ['video', 44, undefined], 'names with substitutions resolve per event; a bad mode is refused');
  t.match(o.warnings, [/test\.rules:2: Failed to parse mode '0x'/]);
  o = ev('GROUP="disk"', SDA, { names: 'never' });
  t.equal(o.group, undefined, '--resolve-names=never ignores names');
  o = ev('GROUP="disk"', SDA, { names: 'late' });
  t.same([o.group, o.gid], ['disk', 6]);
  t.same(compileRules(parseRules('GROUP="nosuch"', 'x.rules').rules, 'early', resolver).diagnostics, ["x.rules:1 Unknown group 'nosuch', ignoring"]);

  o = ev('OPTIONS+="link_priority=-100", OPTIONS+="db_persist", OPTIONS+="watch", OPTIONS+="static_node=tty5", OPTIONS+="log_level=info"', SDA);
  t.same([o.linkPriority, o.dbPersist, o.watch, o.staticNodes, o.logLevel], [-100, true, true, ['tty5'], 6]);
  o = ev('OPTIONS:="nowatch"\nOPTIONS+="watch", OPTIONS+="log_level=debug"\nOPTIONS+="log_level=reset"', SDA);
  t.same([o.watch, o.logLevel], [false, undefined], 'nowatch made final; log_level reset');
});

t.test('ATTR{}= and SYSCTL{}= write through the writer, after substitutions', async (t) => {
  const writes: [string, string][] = [];
  const write = (f: string, v: string) => void writes.push([f, v]);
  const o = ev('ATTR{queue/rotational}="0", ATTR{holders/*/slaves}="$kernel", ATTR{[dmi/id]product_name}="x", SYSCTL{net.ipv4.conf.$kernel.forwarding}="1", ATTR{nosuch/*/x}="1"', SDA, { write });
  t.same(writes, [
    [`${root}${SDA}/queue/rotational`, '0'],
    [`${root}${SDA}/holders/md0/slaves`, 'sda'],
    [`${root}/devices/virtual/dmi/id/product_name`, 'x'],
    ['/proc/sys/net/ipv4/conf/sda/forwarding', '1'],
  ]);
  t.match(o.warnings, [/Could not find file matches 'nosuch\/\*\/x'/]);
  const real = ev('ATTR{events_poll_msecs}="2000"', SDA);
  t.same([real.warnings, fs.readFileSync(`${root}${SDA}/events_poll_msecs`, 'utf8')], [[], '2000'], 'the default writer writes the file');
});

t.test('GOTO and LABEL', async (t) => {
  const o = ev(
    ['KERNEL=="sda", GOTO="skip"', 'ENV{A}="1"', 'LABEL="skip"', 'ENV{B}="1"', 'KERNEL=="nosuch", GOTO="end"', 'ENV{C}="1"', 'LABEL="end"', 'GOTO="last"', 'ENV{D}="1"', 'LABEL="last"'].join('\n'),
    SDA,
  );
  t.same(['A', 'B', 'C', 'D'].map((k) => env(o, k)), [undefined, '1', '1', undefined], 'GOTO is taken only when the line matched');
  t.same(o.matched.map((m) => m.line), [1, 4, 6, 8]);
});

t.test('RUN{program} and RUN{builtin}: += adds, = clears, := is final, duplicates once', async (t) => {
  let o = ev('RUN+="/bin/a $kernel"\nRUN+="/bin/b"\nRUN+="/bin/a $kernel"', SDA);
  t.same(o.run.map((r) => [r.command, r.builtin, r.line]), [['/bin/a sda', false, 1], ['/bin/b', false, 2]]);
  o = ev('RUN+="/bin/a"\nRUN="/bin/c"\nRUN{builtin}+="kmod load $env{DEVTYPE}"', SDA, { builtins: { kmod: () => [] } });
  t.same(o.run.map((r) => [r.command, r.builtin, r.line]), [['/bin/c', false, 2], ['kmod load disk', true, 3]]);
  t.same(o.warnings, []);
  o = ev('RUN:="/bin/x"\nRUN+="/bin/y"\nRUN="/bin/z"', SDA);
  t.same(o.run.map((r) => r.command), ['/bin/x']);
  o = ev('RUN{builtin}+="uaccess"', SDA);
  t.match(o.warnings, [/test\.rules:1: RUN\{builtin\}\+="uaccess": builtin 'uaccess' is not supported by devmaster/]);
  t.same(o.run.map((r) => r.command), ['uaccess'], 'still listed, as udevadm test lists it');
});

t.test('PROGRAM, RESULT and IMPORT{program} run real programs, without a shell', async (t) => {
  const dir = path.join(scratch, 'libexec');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'props'), '#!/bin/sh\necho "ID_A=$DEVNAME"\necho " ID_B = \'quoted value\' "\necho "# comment"\necho "garbage"\necho "ID_C=$1"\necho "HOME_SEEN=${HOME:-none}"\n', { mode: 0o755 });
  let o = ev('PROGRAM=="/bin/echo $kernel"\nRESULT=="sda", ENV{R}="%c"', SDA);
  t.equal(env(o, 'R'), 'sda', 'RESULT matches the last PROGRAM output');
  o = ev('PROGRAM="/bin/sh -c \'exit 3\'", ENV{A}="1"\nPROGRAM!="/bin/sh -c \'exit 3\'", ENV{B}="1"\nRESULT=="", ENV{C}="1"', SDA);
  t.same([env(o, 'A'), env(o, 'B'), env(o, 'C'), o.warnings], [undefined, '1', '1', []], 'a non-zero exit fails the key (and clears the result)');
  o = ev('PROGRAM="/bin/echo \'a   b\' c\\x41d"\nRESULT=="a   b c\\x41d", ENV{R}="%c"', SDA);
  t.equal(env(o, 'R'), 'a   b c\\x41d', 'quotes group words; backslashes stay');
  o = ev('PROGRAM="/bin/printf \'x\\ty\\001\'", ENV{R}="%c"', SDA);
  t.equal(env(o, 'R'), 'x y_', 'output: whitespace becomes a blank, other unsafe characters _');
  o = ev('IMPORT{program}="props $major:$minor"', SDA, { programDirs: ['/nonexistent', dir] });
  t.same([env(o, 'ID_A'), env(o, 'ID_B'), env(o, 'ID_C'), env(o, 'HOME_SEEN'), env(o, 'garbage')], ['/dev/sda', 'quoted value', '8:0', 'none', undefined], 'a bare name is looked up in the program dirs; the device properties are the whole environment');
  o = ev('IMPORT{program}="props", ENV{X}="1"', SDA, { programDirs: [path.join(scratch, 'nowhere')] });
  t.equal(env(o, 'X'), undefined);
  t.match(o.warnings, [/test\.rules:1: IMPORT\{program\}=="props": 'props' cannot execute .*nowhere\/props/]);
  const start = Date.now();
  o = ev('PROGRAM="/bin/sleep 10", ENV{X}="1"\nENV{Y}="after"', SDA, { timeout: 0.5 });
  t.ok(Date.now() - start < 5000, 'killed at the timeout');
  t.same([env(o, 'X'), env(o, 'Y')], [undefined, 'after']);
  t.match(o.warnings, [/test\.rules:1: PROGRAM=="\/bin\/sleep 10": '\/bin\/sleep 10' timed out after 0\.\d+ s, killed/]);
});

t.test('IMPORT{file}, IMPORT{cmdline}, IMPORT{parent}, IMPORT{db}', async (t) => {
  const file = path.join(scratch, 'import.env');
  fs.writeFileSync(file, 'F1=one\n  F2="two words"\n# no\nbad line\nF3=\n');
  let o = ev(`IMPORT{file}="${file}", ENV{OK}="1"\nIMPORT{file}!="${file}.missing", ENV{MISSING}="1"`, SDA);
  t.same([env(o, 'F1'), env(o, 'F2'), env(o, 'F3'), env(o, 'OK'), env(o, 'MISSING')], ['one', 'two words', undefined, '1', '1']);
  o = ev('IMPORT{cmdline}="quiet"\nIMPORT{cmdline}="root"\nIMPORT{cmdline}="net.ifnames"\nIMPORT{cmdline}="a_b"\nIMPORT{cmdline}="nosuch", ENV{X}="1"\nIMPORT{cmdline}="rd.x"', SDA, {
    cmdline: 'root=/dev/sda1 quiet net.ifnames=0 a-b=dash "spaced=a b" rd.x=1',
  });
  t.same(['quiet', 'root', 'net.ifnames', 'a_b', 'X', 'rd.x'].map((k) => env(o, k)), ['1', '/dev/sda1', '0', 'dash', undefined, undefined], 'a bare word is 1; - and _ alike; rd. words only in the initrd');
  t.equal(cmdlineValue('a=1 a=2 "b=x y"', 'a'), '2');
  t.equal(cmdlineValue('a=1 a=2 "b=x y"', 'b'), 'x y');
  t.equal(cmdlineValue('rd.a=1', 'rd.a', true), '1');

  const db = new DeviceDb(path.join(scratch, 'db'));
  const disk = Device.fromSyspath(path.join(root, SDA), root);
  const rec = (r: Partial<DbRecord>): DbRecord => ({ links: [], linkPriority: 0, properties: [], tags: [], currentTags: [], ...r });
  db.write(deviceId(disk), rec({ properties: [['ID_SERIAL', 'X1'], ['ID_FS_TYPE', 'ext4'], ['ID_MODEL', 'M']], tags: ['systemd'], currentTags: ['systemd'] }));
  o = ev('IMPORT{parent}="ID_[!F]*", ENV{GOT}="1"\nTAGS=="systemd", ENV{PARENT_TAGGED}="$id"\nIMPORT{parent}="NOPE*", ENV{EMPTY_OK}="1"', SDA1, { db });
  t.same(['ID_SERIAL', 'ID_MODEL', 'ID_FS_TYPE', 'GOT', 'PARENT_TAGGED', 'EMPTY_OK'].map((k) => env(o, k)), ['X1', 'M', undefined, '1', 'sda', '1']);
  t.same([...o.dbProperties.keys()], ['ID_SERIAL', 'ID_MODEL', 'GOT', 'PARENT_TAGGED', 'EMPTY_OK'], 'imported properties are the device\'s own now');
  o = ev('IMPORT{parent}="*", ENV{X}="1"', '/devices/virtual/dmi/id', { db });
  t.equal(env(o, 'X'), undefined, 'no parent: IMPORT{parent} fails');

  db.write('n1', rec({ properties: [['ID_NET_NAME', 'lo0'], ['KEEP', 'k']], tags: ['old'], currentTags: ['old'], usecInitialized: 1234 }));
  o = ev('IMPORT{db}="KEEP"\nIMPORT{db}="NOPE", ENV{X}="1"\nTAG=="old", ENV{OLD_CURRENT}="1"', LO, { db, action: 'change' });
  t.same(['KEEP', 'ID_NET_NAME', 'X', 'OLD_CURRENT', 'USEC_INITIALIZED', 'TAGS', 'CURRENT_TAGS'].map((k) => env(o, k)), ['k', undefined, undefined, undefined, '1234', ':old:', undefined], 'the old db: IMPORT{db} and its tags (not current), not its properties; its USEC_INITIALIZED kept');
  t.same([o.tags, o.allTags], [[], ['old']]);
  o = ev('IMPORT{db}="KEEP", ENV{X}="1"\nENV{ID_NET_NAME}=="lo0", ENV{Y}="1"\nTAG=="old", ENV{Z}="1"', LO, { db, action: 'remove' });
  t.same(['X', 'Y', 'Z', 'KEEP', 'USEC_INITIALIZED'].map((k) => env(o, k)), [undefined, '1', '1', 'k', '1234'], 'on remove the whole old record is the start, and IMPORT{db} never matches');
});

t.test('builtins: run once where udev runs them once, unsupported ones reported and not matching', async (t) => {
  const calls: string[][] = [];
  const builtins = {
    path_id: (_d: Device, argv: string[]) => (calls.push(argv), [['ID_PATH', 'pci-x']] as [string, string][]),
    hwdb: (_d: Device, argv: string[]) => (calls.push(argv), argv.includes('fail') ? null : ([['ID_HW', argv[1] ?? '']] as [string, string][])),
    input_id: () => {
      throw new Error('boom');
    },
  };
  let o = ev(
    'IMPORT{builtin}="path_id", ENV{A}="1"\nIMPORT{builtin}="path_id", ENV{B}="$env{ID_PATH}"\nIMPORT{builtin}="hwdb \'x:$kernel\'"\nIMPORT{builtin}="hwdb fail", ENV{C}="1"\nIMPORT{program}="hwdb y"',
    SDA,
    { builtins },
  );
  t.same(calls, [['path_id'], ['hwdb', 'x:sda'], ['hwdb', 'fail'], ['hwdb', 'y']], 'path_id ran once; hwdb each time; IMPORT{program} naming a builtin is IMPORT{builtin}');
  t.same(['A', 'B', 'C', 'ID_HW'].map((k) => env(o, k)), ['1', 'pci-x', undefined, 'y']);
  o = ev('IMPORT{builtin}="blkid", ENV{A}="1"\nIMPORT{builtin}!="blkid", ENV{B}="1"\nIMPORT{builtin}="input_id", ENV{C}="1"', SDA, { builtins });
  t.same([env(o, 'A'), env(o, 'B'), env(o, 'C')], [undefined, '1', undefined], 'blkid runs once: the second IMPORT gets the first (failed) result');
  t.same(o.warnings, [
    `test.rules:1: IMPORT{builtin}=="blkid": builtin 'blkid' is not supported by devmaster; the key does not match`,
    `test.rules:3: IMPORT{builtin}=="input_id": builtin 'input_id' failed: boom`,
  ]);
});

t.test('the starting properties: a sysfs device in udevadm test\'s order, a uevent in its own', async (t) => {
  let o = ev('ENV{X}="1"', SDA, { action: 'change' });
  t.same([...o.properties.keys()], ['DEVPATH', 'DEVNAME', 'DEVTYPE', 'MAJOR', 'MINOR', 'ACTION', 'SUBSYSTEM', 'X', 'USEC_INITIALIZED']);
  t.equal(env(o, 'USEC_INITIALIZED'), '7');
  const { rules } = parseRules('ENV{X}="1"\nSYMLINK+="l"\nENV{Y}=="", TAG+="t"\nENV{Z}="1"', 'test.rules');
  const dev = Device.fromUevent({ devpath: SDA, properties: { ACTION: 'add', DEVPATH: SDA, SUBSYSTEM: 'block', MAJOR: '8', MINOR: '0', DEVNAME: 'sda', DEVTYPE: 'disk', SEQNUM: '5' } }, root);
  o = evaluate(compileRules(rules, 'early', resolver), dev, 'add', { usecNow: 9 });
  t.same([...o.properties], [
    ['ACTION', 'add'], ['DEVPATH', SDA], ['SUBSYSTEM', 'block'], ['DEVNAME', '/dev/sda'], ['DEVTYPE', 'disk'], ['SEQNUM', '5'],
    ['MAJOR', '8'], ['MINOR', '0'], ['X', '1'], ['DEVLINKS', '/dev/l'], ['Z', '1'], ['USEC_INITIALIZED', '9'], ['TAGS', ':t:'], ['CURRENT_TAGS', ':t:'],
  ], 'DEVLINKS and TAGS take their place when first read after a change, as sd-device does');
  t.throws(() => ev('ENV{X}="1"', SDA, { action: 'explode' }), /unknown action 'explode': expected one of add, remove, change/);
});

t.test('CONST: the architecture and virtualization as systemd names them', async (t) => {
  t.equal(architecture('x86_64'), 'x86-64');
  t.equal(architecture('aarch64'), 'arm64');
  t.equal(architecture('i686'), 'x86');
  t.equal(architecture('ppc64le'), 'ppc64-le');
  const fake = (files: Record<string, string>) => {
    const d = fs.mkdtempSync(path.join(scratch, 'virt-'));
    for (const [f, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
      fs.writeFileSync(path.join(d, f), text);
    }
    return detectVirtualization(d);
  };
  t.equal(fake({}), 'none');
  t.equal(fake({ '.dockerenv': '' }), 'docker');
  t.equal(fake({ 'run/.containerenv': '', '.dockerenv': '' }), 'podman');
  t.equal(fake({ 'run/systemd/container': 'systemd-nspawn\n', '.dockerenv': '' }), 'systemd-nspawn');
  t.equal(fake({ 'run/host/container-manager': 'lxc\n' }), 'lxc');
  t.equal(fake({ 'run/systemd/container': 'oci\n' }), 'container-other');
  t.equal(fake({ 'proc/1/environ': 'HOME=/\0container=podman\0' }), 'podman');
  t.equal(fake({ 'sys/class/dmi/id/product_name': 'KVM\n', 'sys/class/dmi/id/sys_vendor': 'QEMU\n' }), 'kvm');
  t.equal(fake({ 'sys/class/dmi/id/sys_vendor': 'QEMU\n' }), 'qemu');
  t.equal(fake({ 'sys/class/dmi/id/sys_vendor': 'Dell Inc.\n', 'proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu vme hypervisor lahf_lm\n' }), 'vm-other');
  t.equal(fake({ 'proc/cpuinfo': 'flags\t\t: fpu vme\n' }), 'none');
  // without overrides a rule sees this machine's values
  const o = ev(`CONST{virt}=="${detectVirtualization()}", CONST{arch}=="${architecture()}", ENV{V}="1"`, SDA, { virt: undefined, arch: undefined });
  t.equal(env(o, 'V'), '1');
});
