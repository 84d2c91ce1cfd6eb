// A database id back to its device (sd_device_new_from_device_id), and a /dev node to its device
// (sd_device_new_from_devname): on a small fake tree for each kind of id, then both ways on this machine's real
// devices, where deviceId() of what an id finds must give the id back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { deviceId } from '../../devmaster/db.js';
import { Device } from '../../devmaster/sysfs.js';
import { fileTree } from './tree.js';

function fakeSys(): string {
  const { root, put, link } = fileTree('sysfs-id-');
  put('devices/virtual/mem/null/uevent', 'MAJOR=1\nMINOR=3\nDEVNAME=null\n');
  link('devices/virtual/mem/null/subsystem', '../../../../class/mem');
  link('dev/char/1:3', '../../devices/virtual/mem/null');
  put('devices/virtual/block/loop9/uevent', 'MAJOR=7\nMINOR=9\nDEVNAME=loop9\nDEVTYPE=disk\n');
  link('devices/virtual/block/loop9/subsystem', '../../../../class/block');
  link('dev/block/7:9', '../../devices/virtual/block/loop9');
  put('devices/virtual/net/dm0/uevent', 'INTERFACE=dm0\nIFINDEX=42\n');
  link('devices/virtual/net/dm0/subsystem', '../../../../class/net');
  link('class/net/dm0', '../../devices/virtual/net/dm0');
  put('devices/platform/serial8250/uevent', 'DRIVER=serial8250\n');
  link('devices/platform/serial8250/subsystem', '../../../bus/platform');
  link('bus/platform/devices/serial8250', '../../../devices/platform/serial8250');
  fs.mkdirSync(path.join(root, 'class/mem'), { recursive: true });
  fs.mkdirSync(path.join(root, 'class/block'), { recursive: true });
  return root;
}

t.test('every kind of id finds its device in a fake tree', async (t) => {
  const root = fakeSys();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const found = (id: string) => Device.fromDeviceId(id, root)?.devpath;
  t.equal(found('c1:3'), '/devices/virtual/mem/null', 'a character device through /sys/dev/char');
  t.equal(found('b7:9'), '/devices/virtual/block/loop9', 'a block device through /sys/dev/block');
  t.equal(found('n42'), '/devices/virtual/net/dm0', 'a network interface by its ifindex');
  t.equal(found('+platform:serial8250'), '/devices/platform/serial8250', 'a device by subsystem and name');
  for (const [id, d] of [['c1:3', 'null'], ['b7:9', 'loop9'], ['n42', 'dm0'], ['+platform:serial8250', 'serial8250']]) {
    t.equal(deviceId(Device.fromDeviceId(id, root)!), id, `${d}: its id again`);
  }
  for (const gone of ['b7:8', 'c1:5', 'n41', '+platform:nothing', 'x1', '', '+nocolon']) t.equal(found(gone), undefined, `${JSON.stringify(gone)}: none`);
});

t.test('this machine\'s devices: ids both ways, and /dev nodes', async (t) => {
  const ids: string[] = [];
  for (const dir of ['/sys/class/net', '/sys/class/block']) {
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const d = Device.find(path.join(dir, name));
      if (d) ids.push(deviceId(d));
    }
  }
  t.ok(ids.includes('n1'), 'lo is n1');
  for (const id of ids) t.equal(deviceId(Device.fromDeviceId(id)!), id, id);
  t.equal(Device.fromDeviceId('n1')!.devpath, '/devices/virtual/net/lo');

  const loop = fs.readdirSync('/sys/class/block').find((n) => /^loop\d+$/.test(n) && fs.existsSync(`/dev/${n}`));
  if (loop) {
    t.equal(Device.fromDevname(`/dev/${loop}`)!.devpath, Device.find(`/sys/class/block/${loop}`)!.devpath, `/dev/${loop}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devlink-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.symlinkSync(`/dev/${loop}`, path.join(dir, 'by-name'));
    t.equal(Device.fromDevname(path.join(dir, 'by-name'))?.sysname, loop, 'a link resolves to its device');
  }
  t.equal(Device.fromDevname('/dev/nonexistent-node'), undefined);
  t.equal(Device.fromDevname('/etc/hostname'), undefined, 'not a device node');
});
