// What the device effects read: a device's unit names from the properties devmaster broadcasts (escaped as
// systemd-escape --path escapes them), whether it counts as plugged, and the same properties read back from the
// database for a device that is already there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Device } from '../../devmaster/sysfs.js';
import { deviceOfUnit, recordedProperties, viewDevice } from '../../units/device.js';

const props = (o: Record<string, string>) => new Map(Object.entries(o));

const NET = {
  ACTION: 'add',
  DEVPATH: '/devices/virtual/net/dm-0',
  SUBSYSTEM: 'net',
  INTERFACE: 'dm-0',
  IFINDEX: '7',
  SEQNUM: '12',
  TAGS: ':systemd:',
  CURRENT_TAGS: ':systemd:',
};

t.test('a network interface: its /sys path, its interface and its aliases, escaped as systemd does', async (t) => {
  const d = viewDevice(props({ ...NET, SYSTEMD_ALIAS: '/dev/my-net "/sys/subsystem/net/devices/dm-0" relative/alias' }));
  t.same([...d.units], [
    ['sys-devices-virtual-net-dm\\x2d0.device', '/sys/devices/virtual/net/dm-0'],
    ['sys-subsystem-net-devices-dm\\x2d0.device', '/sys/subsystem/net/devices/dm-0'],
    ['dev-my\\x2dnet.device', '/dev/my-net'],
  ], 'the main unit first; an alias given twice is one unit; a relative alias is ignored, as systemd ignores it');
  t.same([d.sysfs, d.tagged, d.ready, d.wants, d.model], ['/sys/devices/virtual/net/dm-0', true, true, [], undefined]);
});

t.test('a disk: its node and its links, but /dev/block/ and /dev/char/; its model as description', async (t) => {
  const d = viewDevice(
    props({
      ACTION: 'change',
      DEVPATH: '/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1',
      SUBSYSTEM: 'block',
      DEVNAME: '/dev/sda1',
      DEVLINKS: '/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part1 /dev/block/8:1 /dev/disk/by-label/my\\x20data /dev/disk/by-uuid/1234-ABCD',
      ID_MODEL: 'QEMU_HARDDISK',
      ID_FS_LABEL: 'data',
      TAGS: ':systemd:',
    }),
    (link) => !link.includes('by-uuid'),
  );
  t.same([...d.units.keys()], [
    'sys-devices-pci0000:00-0000:00:1f.2-ata1-host0-target0:0:0-0:0:0:0-block-sda-sda1.device',
    'dev-sda1.device',
    'dev-disk-by\\x2did-ata\\x2dQEMU_HARDDISK_QM00001\\x2dpart1.device',
    'dev-disk-by\\x2dlabel-my\\x5cx20data.device',
  ], 'a link another device owns is not this one\'s');
  t.equal(d.model, 'QEMU_HARDDISK data');
  t.equal(viewDevice(props({ DEVPATH: '/devices/virtual/block/loop0', DEVNAME: 'loop0' })).units.has('dev-loop0.device'), true, 'DEVNAME relative to /dev, as the kernel writes it');
});

t.test('plugged: tagged systemd now, not removed, SYSTEMD_READY not false', async (t) => {
  const view = (o: Record<string, string>) => viewDevice(props({ ...NET, ...o }));
  t.equal(view({ CURRENT_TAGS: ':seat:', TAGS: ':seat:systemd:' }).tagged, false, 'CURRENT_TAGS decides: the tag was dropped');
  t.equal(view({ CURRENT_TAGS: '' }).tagged, false);
  const { CURRENT_TAGS: _, ...old } = NET;
  t.equal(viewDevice(props(old)).tagged, true, 'without CURRENT_TAGS (an older database), TAGS');
  for (const no of ['0', 'no', 'false', 'off', 'N']) t.equal(view({ SYSTEMD_READY: no }).ready, false, `SYSTEMD_READY=${no}`);
  for (const yes of ['1', 'yes', 'garbage']) t.equal(view({ SYSTEMD_READY: yes }).ready, true, `SYSTEMD_READY=${yes}`);
  t.equal(view({ ACTION: 'remove' }).ready, false);
  t.same(view({ SYSTEMD_WANTS: 'a.service  "b@.service" c' }).wants, ['a.service', 'b@.service', 'c']);
});

t.test('a device already there, read back from the database', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sysfs-dev-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'devices/virtual/block/loop9'), { recursive: true });
  fs.writeFileSync(path.join(root, 'devices/virtual/block/loop9/uevent'), 'MAJOR=7\nMINOR=9\nDEVNAME=loop9\nDEVTYPE=disk\n');
  fs.mkdirSync(path.join(root, 'class/block'), { recursive: true });
  fs.symlinkSync('../../../../class/block', path.join(root, 'devices/virtual/block/loop9/subsystem'));
  const d = Device.find(path.join(root, 'devices/virtual/block/loop9'), root)!;
  const p = recordedProperties(d, {
    links: ['disk/by-label/x'],
    linkPriority: 0,
    properties: [['ID_FS_LABEL', 'x'], ['SYSTEMD_WANTS', 'a.service']],
    tags: ['systemd', 'seat'],
    currentTags: ['systemd'],
  });
  t.same(Object.fromEntries(p), {
    DEVPATH: '/devices/virtual/block/loop9',
    SUBSYSTEM: 'block',
    DEVNAME: '/dev/loop9',
    DEVTYPE: 'disk',
    MAJOR: '7',
    MINOR: '9',
    ID_FS_LABEL: 'x',
    SYSTEMD_WANTS: 'a.service',
    ACTION: 'add',
    DEVLINKS: '/dev/disk/by-label/x',
    TAGS: ':systemd:seat:',
    CURRENT_TAGS: ':systemd:',
  });
  t.same([...viewDevice(p).units.keys()], ['sys-devices-virtual-block-loop9.device', 'dev-loop9.device', 'dev-disk-by\\x2dlabel-x.device']);
});

t.test('a unit name back to its device: /sys path, /sys/subsystem alias, /dev node', async (t) => {
  t.equal(deviceOfUnit('sys-devices-virtual-net-lo.device')?.devpath, '/devices/virtual/net/lo');
  t.equal(deviceOfUnit('sys-subsystem-net-devices-lo.device')?.devpath, '/devices/virtual/net/lo');
  t.equal(deviceOfUnit('sys-subsystem-net-devices-nonexistent0.device'), undefined);
  const loop = fs.readdirSync('/sys/class/block').find((n) => /^loop\d+$/.test(n) && fs.existsSync(`/dev/${n}`));
  if (loop) t.equal(deviceOfUnit(`dev-${loop}.device`)?.sysname, loop);
  t.equal(deviceOfUnit('home-x.device'), undefined, 'a path neither in /sys nor in /dev');
});
