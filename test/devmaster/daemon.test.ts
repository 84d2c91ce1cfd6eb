// The devmaster daemon on real kernel events (root, a real /sys): a dummy network interface added and deleted, a
// loop device attached and detached with a partition table, all through Debian's udev rules plus a rules file of the
// test's own; the effects (database, links, RUN), the broadcast, rules reload, settle, exit, and a burst of 2,000
// events with none lost and each device's events in order. Links go to a temp dev directory: tests run in parallel
// and must not fight over the host's /dev.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DeviceDb } from '../../devmaster/db.js';
import { enumerate } from '../../devmaster/enumerate.js';
import { MonitorListener } from '../../devmaster/monitor.js';
import { bin, cliSync, root, scratch, sleep } from '../integration/harness.js';
import { addInterface, deleteInterface } from './trigger.js';
import { debianRules } from './udevadm.js';

const rules = debianRules();
const skip =
  process.getuid?.() !== 0 ? 'needs root (network interfaces, loop devices, netlink broadcast)' : typeof rules !== 'string' ? rules.skip : false;

const until = async (what: () => boolean, ms = 10_000) => {
  for (const end = Date.now() + ms; !what() && Date.now() < end; ) await sleep(20);
  return what();
};

interface Instance {
  env: NodeJS.ProcessEnv;
  dir: string;
  child: ChildProcess;
  log: () => string;
  events: Map<string, string>[];
  close: () => Promise<void>;
}

async function devmaster(t: { teardown(fn: () => unknown): void }, ownRules: (dir: string) => string, o: { realDev?: boolean; debian?: boolean } = {}): Promise<Instance> {
  const dir = scratch('dm-');
  fs.mkdirSync(path.join(dir, 'rules'));
  fs.mkdirSync(path.join(dir, 'dev'));
  // Every devmaster on this machine broadcasts every event: this instance marks its own, and the test hears only those.
  fs.writeFileSync(path.join(dir, 'rules', '99-test.rules'), `ENV{DEVMASTER_TEST}="${dir}"\n${ownRules(dir)}`);
  const env = {
    DEVMASTER_RUN_DIR: path.join(dir, 'run'),
    DEVMASTER_DEV_DIR: o.realDev ? '/dev' : path.join(dir, 'dev'),
    DEVMASTER_RULES_DIRS: o.debian === false ? path.join(dir, 'rules') : `${path.join(dir, 'rules')}:${rules as string}`,
  };
  const events: Map<string, string>[] = [];
  const monitor = new MonitorListener((p) => p.get('DEVMASTER_TEST') === dir && events.push(p));
  const child = spawn(process.execPath, [bin('devmaster')], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  await until(() => fs.existsSync(path.join(env.DEVMASTER_RUN_DIR, 'control')) || child.exitCode !== null);
  const close = async () => {
    monitor.close();
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
    }
  };
  t.teardown(close);
  return { env, dir, child, log: () => log, events, close };
}

const ctl = (d: Instance, ...args: string[]) => cliSync('devctl', args, d.env);

t.test('a dummy interface: add and remove through the rules, database, RUN, broadcast, reload', { skip }, async (t) => {
  const name = `smd${process.pid % 100000}`;
  t.teardown(() => deleteInterface(name));
  const d = await devmaster(
    t,
    (dir) => `SUBSYSTEM=="net", KERNEL=="smd*", ENV{SMD_SEEN}="%k via $env{SUBSYSTEM}", TAG+="systemd"
ACTION=="add", SUBSYSTEM=="net", KERNEL=="smd*", PROGRAM="/bin/echo hello %k", ENV{SMD_PROGRAM}="%c"
ACTION=="add", SUBSYSTEM=="net", KERNEL=="smd*", RUN+="/usr/bin/touch ${dir}/ran-%k-%c{1}"
`,
  );
  t.equal(d.child.exitCode, null, `devmaster runs (log: ${d.log()})`);
  const mine = (action: string) => d.events.filter((e) => e.get('INTERFACE') === name && e.get('ACTION') === action);
  t.comment(`ip link add ${name} type ${addInterface(name)}`);
  t.ok(await until(() => mine('add').length > 0), 'the add was processed and broadcast');
  const add = mine('add')[0];
  t.equal(add.get('SMD_SEEN'), `${name} via net`, 'ENV{} with substitutions');
  t.equal(add.get('SMD_PROGRAM'), `hello ${name}`, 'PROGRAM and %c');
  t.match(add.get('TAGS'), /:systemd:/);
  t.ok(fs.existsSync(path.join(d.dir, `ran-${name}-hello`)), 'RUN ran before the broadcast, with the properties as environment');
  t.ok(Number(add.get('USEC_INITIALIZED')) > 0);
  const ifindex = fs.readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim();
  const db = new DeviceDb(d.env.DEVMASTER_RUN_DIR);
  const record = db.read(`n${ifindex}`);
  t.ok(record, 'a database record n<ifindex>');
  t.same(record?.properties.find(([k]) => k === 'SMD_SEEN'), ['SMD_SEEN', `${name} via net`]);
  t.ok(fs.existsSync(path.join(d.env.DEVMASTER_RUN_DIR!, 'tags/systemd', `n${ifindex}`)), 'the tag index');
  // udevadm info reads the same database: devctl info does
  t.match(ctl(d, 'info', `/sys/class/net/${name}`).stdout, new RegExp(`E: SMD_SEEN=${name} via net`));

  // a rules change is picked up without a restart
  fs.writeFileSync(path.join(d.dir, 'rules', '98-reload.rules'), 'SUBSYSTEM=="net", KERNEL=="smd*", ENV{SMD_RELOADED}="1"\n');
  await sleep(1500);
  const trig = ctl(d, 'trigger', '--settle', '--subsystem-match=net', `--sysname-match=${name}`, '--verbose');
  t.equal(trig.code, 0, trig.stderr);
  t.match(trig.stdout, new RegExp(`/sys/devices/virtual/net/${name}\n`));
  // trigger --settle returned once devmaster broadcast the event; this test's own listener may read it a moment later
  t.ok(await until(() => mine('change').some((e) => e.get('SMD_RELOADED') === '1' && e.has('SYNTH_UUID'))), 'the reloaded rules ran on the triggered change');

  deleteInterface(name);
  t.ok(await until(() => mine('remove').length > 0), 'the remove was processed');
  t.equal(db.read(`n${ifindex}`), undefined, 'its record is gone');
  t.notOk(fs.existsSync(path.join(d.env.DEVMASTER_RUN_DIR!, 'tags/systemd', `n${ifindex}`)), 'and its tag file');
  t.match(d.log(), /builtin 'net_setup_link' is not supported/, 'unsupported builtins are reported');
  t.equal(d.log().match(/net_setup_link' is not supported/g)?.length, 1, 'once');

  t.equal(ctl(d, 'settle', '--timeout=10').code, 0);
  t.equal(ctl(d, 'control', '--exit').code, 0);
  t.ok(await until(() => d.child.exitCode !== null), 'control --exit ends it');
  t.equal(d.child.exitCode, 0);
  t.notOk(fs.existsSync(path.join(d.env.DEVMASTER_RUN_DIR!, 'control')));
});

t.test('a burst of 2,000 change events: none lost, one device in order, RUN per event', { skip }, async (t) => {
  const name = `smb${process.pid % 100000}`;
  t.teardown(() => deleteInterface(name));
  const d = await devmaster(t, () => 'SUBSYSTEM=="net", KERNEL=="smb*", ENV{SMB}="1"\n');
  addInterface(name);
  // Marked with a SYNTH_UUID: another test's trigger or rescan may cause one more change on this interface.
  const uuid = randomUUID();
  const mine = () => d.events.filter((e) => e.get('INTERFACE') === name && e.get('SYNTH_UUID') === uuid);
  const uevent = `/sys/class/net/${name}/uevent`;
  for (let i = 0; i < 2000; i++) fs.writeFileSync(uevent, `change ${uuid}`);
  t.ok(await until(() => mine().length >= 2000, 60_000), `${mine().length} of 2,000 processed`);
  t.equal(mine().length, 2000, 'each once');
  const seqnums = mine().map((e) => Number(e.get('SEQNUM')));
  t.same(seqnums, [...seqnums].sort((a, b) => a - b), "one device's events are broadcast in kernel order");
  t.ok(mine().every((e) => e.get('SMB') === '1'), 'every one went through the rules');
  t.notMatch(d.log(), /dropped events/);
});

t.test('a loop device: attach, partitions added and removed, links by Debian rules', { skip }, async (t) => {
  const d = await devmaster(t, () => '');
  const dir = scratch('loop-');
  const image = path.join(dir, 'disk.img');
  // 8 MiB with an MBR holding one Linux partition from sector 2048 to the end: the kernel adds loopNp1 on attach.
  const mbr = Buffer.alloc(512);
  mbr.writeUInt8(0x83, 446 + 4);
  mbr.writeUInt32LE(2048, 446 + 8);
  mbr.writeUInt32LE(8 * 2048 - 2048, 446 + 12);
  mbr.writeUInt16LE(0xaa55, 510);
  fs.writeFileSync(image, Buffer.concat([mbr, Buffer.alloc(8 * 1024 * 1024 - 512)]));
  const attach = spawnSync('losetup', ['--find', '--show', '--partscan', image], { encoding: 'utf8' });
  if (attach.status !== 0) return t.fail(`losetup cannot attach: ${attach.stderr.trim()}`);
  const loop = attach.stdout.trim();
  const kernel = path.basename(loop);
  let attached = true;
  t.teardown(() => void (attached && spawnSync('losetup', ['--detach', loop])));
  // The kernel reads the table itself with --partscan; where its msdos parser is missing, partx adds the partition.
  if (!fs.existsSync(`/sys/class/block/${kernel}p1`)) spawnSync('partx', ['--add', loop]);
  // DEVNAME is the node's full path under devmaster's /dev (here the test's)
  const of = (k: string, action: string) => d.events.filter((e) => e.get('DEVNAME') === path.join(d.env.DEVMASTER_DEV_DIR!, k) && e.get('ACTION') === action);
  t.ok(await until(() => of(`${kernel}p1`, 'add').length > 0), 'the partition add was processed');
  t.ok(await until(() => of(kernel, 'change').some((e) => (e.get('DEVLINKS') ?? '').includes('by-diskseq'))), 'the disk change too');
  const change = of(kernel, 'change').find((e) => (e.get('DEVLINKS') ?? '').includes('by-diskseq'))!;
  const seq = change.get('DISKSEQ');
  const link = path.join(d.env.DEVMASTER_DEV_DIR!, 'disk/by-diskseq', seq!);
  t.equal(fs.readlinkSync(link), `../../${kernel}`, "60-persistent-storage.rules' by-diskseq link, relative as udev makes it");
  const [major, minor] = fs.readFileSync(`/sys/class/block/${kernel}/dev`, 'utf8').trim().split(':');
  const db = new DeviceDb(d.env.DEVMASTER_RUN_DIR);
  t.same(db.read(`b${major}:${minor}`)?.links, [`disk/by-diskseq/${seq}`], 'S: in the database');
  const part = of(`${kernel}p1`, 'add')[0];
  t.equal(part.get('DEVTYPE'), 'partition');
  const partId = `b${part.get('MAJOR')}:${part.get('MINOR')}`;
  t.ok(db.read(partId), 'the partition has a record');

  t.equal(spawnSync('losetup', ['--detach', loop]).status, 0, 'detach');
  attached = false;
  t.ok(await until(() => of(`${kernel}p1`, 'remove').length > 0), 'the partition remove was processed');
  t.equal(db.read(partId), undefined, "the partition's record is gone");
  t.ok(await until(() => !fs.existsSync(link)), 'the link of the detached disk sequence is gone');
});

t.test('OPTIONS+="watch": a write to the device node closes into a change event', { skip }, async (t) => {
  // The node must be the real one, so this devmaster uses /dev, with only the test's rule (it makes no links).
  const d = await devmaster(t, () => 'SUBSYSTEM=="block", KERNEL=="loop*", ENV{DEVTYPE}=="disk", OPTIONS+="watch", ENV{SMW}="watched"\n', { realDev: true, debian: false });
  const image = path.join(scratch('watch-'), 'disk.img');
  fs.writeFileSync(image, Buffer.alloc(1024 * 1024));
  const attach = spawnSync('losetup', ['--find', '--show', image], { encoding: 'utf8' });
  if (attach.status !== 0) return t.fail(`losetup cannot attach: ${attach.stderr.trim()}`);
  const loop = attach.stdout.trim();
  t.teardown(() => void spawnSync('losetup', ['--detach', loop]));
  const changes = () => d.events.filter((e) => e.get('DEVNAME') === loop && e.get('ACTION') === 'change' && e.get('SMW') === 'watched');
  t.ok(await until(() => changes().length > 0), "the attach's change went through the rule, which asks for the watch");
  await sleep(300);
  const before = changes().length;
  const fd = fs.openSync(loop, 'r+');
  fs.writeSync(fd, Buffer.alloc(512, 1));
  fs.closeSync(fd);
  t.ok(await until(() => changes().length > before), 'closing the node after a write brought a change event');
});

t.test('a rescan (what an overflow of the kernel buffer starts) processes every device of /sys', { skip }, async (t) => {
  const dir = scratch('dm-rescan-');
  fs.mkdirSync(path.join(dir, 'rules'));
  fs.writeFileSync(path.join(dir, 'rules/99-mark.rules'), `ENV{DEVMASTER_TEST}="${dir}"\n`);
  const seen: Map<string, string>[] = [];
  const monitor = new MonitorListener((p) => p.get('DEVMASTER_TEST') === dir && seen.push(p));
  // The compiled daemon: its worker threads load worker.js beside it, which only dist/ has.
  const { Devmaster } = (await import(path.join(root, 'dist/devmaster/daemon.js'))) as typeof import('../../devmaster/daemon.js');
  const daemon = new Devmaster({ runDir: path.join(dir, 'run'), devDir: path.join(dir, 'dev'), rulesDirs: [path.join(dir, 'rules')], log: () => {} });
  t.teardown(async () => {
    monitor.close();
    await daemon.exit();
  });
  await daemon.start();
  const db = new DeviceDb(path.join(dir, 'run'));
  const devices = enumerate('devices').length;
  // Other tests' events may reach this devmaster first; what the rescan asks for depends on the database then.
  const lo = (action: string) => seen.some((e) => e.get('DEVPATH') === '/devices/virtual/net/lo' && e.get('ACTION') === action);
  const first = db.read('n1') ? 'change' : 'add';
  daemon.rescan();
  t.ok(await until(() => seen.length >= devices, 20_000), `${seen.length} events for ${devices} devices`);
  t.ok(await until(() => lo(first)), `lo: a device the database lacked gets an add (here: ${first})`);
  t.ok(db.read('n1'), 'and a record');
  seen.length = 0;
  daemon.rescan();
  t.ok(await until(() => lo('change')), 'one it knows gets a change');
});
