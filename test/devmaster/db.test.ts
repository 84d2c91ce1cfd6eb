// udev's device database: ids, the file format udevadm reads, round trips, tag files, and the /run/udev links.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { DeviceDb, deviceId, exposeToUdevTools, formatRecord, parseRecord, type DbRecord } from '../../devmaster/db.js';
import { Device } from '../../devmaster/sysfs.js';

const tmp = (t: Test) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'udevdb-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

const disk: DbRecord = {
  links: ['disk/by-id/ata-QEMU_HARDDISK_QM00001', 'disk/by-path/pci-0000:00:1f.2-ata-1'],
  linkPriority: -100,
  usecInitialized: 5123456,
  properties: [
    ['ID_ATA', '1'],
    ['ID_SERIAL', 'QEMU_HARDDISK_QM00001'],
    ['.PART_SUFFIX', ''],
  ],
  tags: ['systemd'],
  currentTags: ['systemd'],
};

t.test('ids as sd_device_get_device_id makes them', async (t) => {
  const root = tmp(t);
  const put = (rel: string, text: string) => {
    fs.mkdirSync(path.join(root, rel), { recursive: true });
    fs.writeFileSync(path.join(root, rel, 'uevent'), text);
  };
  put('devices/virtual/block/loop0', 'MAJOR=7\nMINOR=0\nDEVNAME=loop0\n');
  fs.symlinkSync(path.join(root, 'class/block'), path.join(root, 'devices/virtual/block/loop0/subsystem'));
  put('devices/virtual/tty/tty1', 'MAJOR=4\nMINOR=1\n');
  fs.symlinkSync(path.join(root, 'class/tty'), path.join(root, 'devices/virtual/tty/tty1/subsystem'));
  put('devices/virtual/net/eth0', 'INTERFACE=eth0\nIFINDEX=3\n');
  put('devices/platform/serial8250', 'DRIVER=serial8250\n');
  fs.symlinkSync(path.join(root, 'bus/platform'), path.join(root, 'devices/platform/serial8250/subsystem'));
  put('bus/pci/drivers/ahci', ''); // a driver has no subsystem link: sd-device names it by its path
  const id = (rel: string) => deviceId(Device.fromSyspath(path.join(root, rel), root));
  t.equal(id('devices/virtual/block/loop0'), 'b7:0');
  t.equal(id('devices/virtual/tty/tty1'), 'c4:1');
  t.equal(id('devices/virtual/net/eth0'), 'n3');
  t.equal(id('devices/platform/serial8250'), '+platform:serial8250');
  t.equal(id('bus/pci/drivers/ahci'), '+drivers:pci:ahci');
  put('devices/virtual/nothing/x', '');
  t.throws(() => id('devices/virtual/nothing/x'), /has no database id/);
});

t.test('the real /sys: lo is n1, /dev/null is c1:3', { skip: !fs.existsSync('/sys/class/net/lo') && 'no /sys here' }, async (t) => {
  t.equal(deviceId(Device.fromSyspath('/sys/class/net/lo')), 'n1');
  t.equal(deviceId(Device.fromSyspath('/sys/devices/virtual/mem/null')), 'c1:3');
  const bus = fs.readdirSync('/sys/bus').find((b) => fs.readdirSync(`/sys/bus/${b}/drivers`).length > 0);
  if (bus) {
    const drv = fs.readdirSync(`/sys/bus/${bus}/drivers`)[0];
    const d = Device.fromSyspath(`/sys/bus/${bus}/drivers/${drv}`);
    t.equal(d.subsystem, 'drivers');
    t.equal(deviceId(d), `+drivers:${bus}:${drv}`);
  }
});

// The expected text follows device_update_db in systemd 252 src/libsystemd/sd-device/device-private.c: S: lines
// (relative to /dev) and L: only for devices with a devnum, then I:, E: (properties whose name does not start with
// '.'), G:, Q:, and V:1 last. This machine has no /run/udev/data to compare with, so the source is the reference.
t.test('the text udevadm reads', async (t) => {
  t.equal(
    formatRecord('b8:0', disk),
    [
      'S:disk/by-id/ata-QEMU_HARDDISK_QM00001',
      'S:disk/by-path/pci-0000:00:1f.2-ata-1',
      'L:-100',
      'I:5123456',
      'E:ID_ATA=1',
      'E:ID_SERIAL=QEMU_HARDDISK_QM00001',
      'G:systemd',
      'Q:systemd',
      'V:1',
      '',
    ].join('\n'),
  );
  t.equal(formatRecord('n3', { ...disk, linkPriority: 0 }), 'I:5123456\nE:ID_ATA=1\nE:ID_SERIAL=QEMU_HARDDISK_QM00001\nG:systemd\nQ:systemd\nV:1\n', 'no S:/L: without a devnum');
  const empty: DbRecord = { links: [], linkPriority: 0, usecInitialized: 1, properties: [['.HIDDEN', '1']], tags: [], currentTags: [] };
  t.equal(formatRecord('c1:3', empty), '', 'a devnum with nothing to say: an empty file');
  t.equal(formatRecord('n1', empty), '', 'an ifindex with nothing to say: an empty file');
  t.equal(formatRecord('+platform:serial8250', empty), null, 'anything else with nothing to say: no file');
});

t.test('parsing what udev wrote: unknown and obsolete lines skipped', async (t) => {
  const r = parseRecord('S:disk/by-uuid/1234\nW:3\nI:77\nE:A=b=c\nG:systemd\nG:uaccess\nQ:systemd\nV:1\nbogus\n');
  t.same(r, { links: ['disk/by-uuid/1234'], linkPriority: 0, usecInitialized: 77, properties: [['A', 'b=c']], tags: ['systemd', 'uaccess'], currentTags: ['systemd'] });
});

t.test('write, read back, tags, remove', async (t) => {
  const db = new DeviceDb(tmp(t));
  db.write('b8:0', disk);
  const back = db.read('b8:0');
  t.same(back, { ...disk, properties: disk.properties.filter(([k]) => !k.startsWith('.')) });
  t.equal(fs.statSync(db.file('b8:0')).mode & 0o7777, 0o644);
  t.same(fs.readdirSync(path.dirname(db.file('b8:0'))), ['b8:0'], 'no temp file left behind');
  const tag = path.join(db.root, 'tags/systemd/b8:0');
  t.equal(fs.readFileSync(tag, 'utf8'), '');

  db.write('b8:0', { ...disk, tags: ['uaccess'], currentTags: ['uaccess'], persist: true });
  t.notOk(fs.existsSync(tag), 'a dropped tag loses its file');
  t.ok(fs.existsSync(path.join(db.root, 'tags/uaccess/b8:0')));
  t.equal(fs.statSync(db.file('b8:0')).mode & 0o7777, 0o1644, 'db_persist: the sticky bit');

  db.remove('b8:0');
  t.equal(db.read('b8:0'), undefined);
  t.notOk(fs.existsSync(path.join(db.root, 'tags/uaccess/b8:0')));

  db.write('+platform:x', { links: [], linkPriority: 0, properties: [], tags: [], currentTags: [] });
  t.notOk(fs.existsSync(db.file('+platform:x')), 'nothing to say, no file');
});

t.test('/run/udev links for tools, refused over a running udevd', async (t) => {
  const dir = tmp(t);
  const db = new DeviceDb(path.join(dir, 'devmaster'));
  const udev = path.join(dir, 'udev');
  exposeToUdevTools(db, udev);
  exposeToUdevTools(db, udev);
  db.write('n1', { links: [], linkPriority: 0, properties: [['ID_NET_NAME', 'lo']], tags: ['systemd'], currentTags: [] });
  t.equal(fs.readFileSync(path.join(udev, 'data/n1'), 'utf8'), 'E:ID_NET_NAME=lo\nG:systemd\nV:1\n');
  t.ok(fs.existsSync(path.join(udev, 'tags/systemd/n1')));

  const busy = path.join(dir, 'busy');
  fs.mkdirSync(path.join(busy, 'data'), { recursive: true });
  t.throws(() => exposeToUdevTools(db, busy), /real directory \(is udevd running\?\)/);
});
