// The device model over sysfs: a fake tree shaped like the kernel's, then the real /sys for lo and /dev/null.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Device } from '../../devmaster/sysfs.js';
import { fileTree } from './tree.js';

/** A disk on an AHCI controller, the way the kernel lays it out, with class/ and bus/ symlinks. */
function fakeSys(): string {
  const { root, put, link } = fileTree('sysfs-');
  const pci = 'devices/pci0000:00/0000:00:1f.2';
  const scsi = `${pci}/ata1/host0/target0:0:0/0:0:0:0`;
  const sda = `${scsi}/block/sda`;
  put(`${pci}/uevent`, 'DRIVER=ahci\nPCI_CLASS=10601\n');
  put(`${pci}/vendor`, '0x8086\n');
  link(`${pci}/subsystem`, '../../../bus/pci');
  link(`${pci}/driver`, '../../../bus/pci/drivers/ahci');
  put(`${pci}/ata1/uevent`, ''); // a device with no subsystem link: still a parent, as in udevadm's attribute walk
  put(`${scsi}/uevent`, 'DEVTYPE=scsi_device\nDRIVER=sd\n');
  put(`${scsi}/vendor`, 'ATA     \n');
  link(`${scsi}/subsystem`, '../../../../../../../bus/scsi');
  link(`${scsi}/driver`, '../../../../../../../bus/scsi/drivers/sd');
  put(`${sda}/uevent`, 'MAJOR=8\nMINOR=0\nDEVNAME=sda\nDEVTYPE=disk\nDISKSEQ=9\n');
  put(`${sda}/size`, '41943040\n');
  put(`${sda}/queue/rotational`, '0\n');
  put(`${sda}/dev`, '8:0\n');
  link(`${sda}/subsystem`, '../../../../../../../../../class/block');
  put(`${sda}/sda1/uevent`, 'MAJOR=8\nMINOR=1\nDEVNAME=sda1\nDEVTYPE=partition\nPARTN=1\n');
  link(`${sda}/sda1/subsystem`, '../../../../../../../../../../class/block');
  fs.mkdirSync(path.join(root, 'class/block'), { recursive: true });
  link('class/block/sda', `../../${sda}`);
  link('class/block/sda1', `../../${sda}/sda1`);
  fs.mkdirSync(path.join(root, 'bus/pci/drivers/ahci'), { recursive: true });
  fs.mkdirSync(path.join(root, 'bus/scsi/drivers/sd'), { recursive: true });
  // A kernel name with '/' in it, written as '!' (cciss/c0d0), and a number-only name.
  put('devices/virtual/block/cciss!c0d0/uevent', 'MAJOR=104\nMINOR=0\nDEVNAME=cciss/c0d0\n');
  put('devices/system/cpu/7/uevent', '');
  return root;
}

t.test('a disk from its /sys/class symlink: kernel view, attributes, parents', async (t) => {
  const root = fakeSys();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const sda1 = Device.fromSyspath(path.join(root, 'class/block/sda1'), root);
  t.equal(sda1.devpath, '/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1');
  t.equal(sda1.subsystem, 'block');
  t.equal(sda1.devtype, 'partition');
  t.equal(sda1.sysname, 'sda1');
  t.equal(sda1.sysnum, '1');
  t.same(sda1.devnum, { major: 8, minor: 1 });
  t.equal(sda1.devname, '/dev/sda1');
  t.equal(sda1.driver, undefined);
  t.equal(sda1.properties.get('PARTN'), '1');

  const sda = sda1.parent()!;
  t.equal(sda.sysname, 'sda');
  t.equal(sda.attr('size'), '41943040', 'the trailing newline is dropped');
  t.equal(sda.attr('queue/rotational'), '0', 'attributes in subdirectories');
  t.equal(sda.attr('nonexistent'), undefined);
  t.equal(sda.attr('queue'), undefined, 'a directory is no attribute');
  t.equal(sda.attr('subsystem'), 'block', 'a link attribute is its target\'s name');

  const chain = [...sda1.chain()].map((d) => [d.sysname, d.subsystem ?? '', d.driver ?? '']);
  t.same(chain, [
    ['sda1', 'block', ''],
    ['sda', 'block', ''],
    ['0:0:0:0', 'scsi', 'sd'],
    ['ata1', '', ''],
    ['0000:00:1f.2', 'pci', 'ahci'],
  ], 'parents are the ancestors with a uevent file, up to the top');
  const scsi = [...sda1.chain()][2];
  t.equal(scsi.attr('vendor'), 'ATA     ', 'only newlines are stripped, not the padding');
  t.equal(scsi.devtype, 'scsi_device');
});

t.test('attributes are cached: one event sees one value', async (t) => {
  const root = fakeSys();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const sda = Device.fromSyspath(path.join(root, 'class/block/sda'), root);
  t.equal(sda.attr('size'), '41943040');
  fs.writeFileSync(path.join(sda.syspath, 'size'), '1\n');
  t.equal(sda.attr('size'), '41943040');
  t.equal(Device.fromSyspath(sda.syspath, root).attr('size'), '1', 'a new device reads again');
  t.same(sda.devnum, { major: 8, minor: 0 });
});

t.test('sysname and sysnum as sd-device computes them', async (t) => {
  const root = fakeSys();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const cciss = Device.fromSyspath(path.join(root, 'devices/virtual/block/cciss!c0d0'), root);
  t.equal(cciss.sysname, 'cciss/c0d0', "the kernel's '!' is '/'");
  t.equal(cciss.sysnum, '0');
  t.equal(cciss.devname, '/dev/cciss/c0d0');
  const cpu = Device.fromSyspath(path.join(root, 'devices/system/cpu/7'), root);
  t.equal(cpu.sysname, '7');
  t.equal(cpu.sysnum, undefined, 'no sysnum for an all-digit name');
  t.equal(cpu.parent(), undefined, 'no parent: no ancestor has a uevent file');
});

t.test('a device from a uevent: properties from the event, attributes from sysfs', async (t) => {
  const root = fakeSys();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const devpath = '/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda';
  const d = Device.fromUevent(
    { devpath, properties: { ACTION: 'change', DEVPATH: devpath, SUBSYSTEM: 'block', MAJOR: '8', MINOR: '0', DEVNAME: 'sda', DEVTYPE: 'disk', SEQNUM: '42' } },
    root,
  );
  t.equal(d.subsystem, 'block');
  t.same(d.devnum, { major: 8, minor: 0 });
  t.equal(d.properties.get('DISKSEQ'), undefined, 'the uevent file is not read for an event');
  t.equal(d.attr('size'), '41943040');
  t.equal(d.parent()?.driver, 'sd');
  t.throws(() => Device.fromUevent({ devpath: 'devices/x', properties: {} }, root), /starting with '\/'/);
});

t.test('paths that are not devices are refused with the reason', async (t) => {
  const root = fakeSys();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  t.throws(() => Device.fromSyspath(path.join(root, 'class/block/sdz'), root), /no such device/);
  t.throws(() => Device.fromSyspath(path.join(root, 'class/block'), root), /no uevent file/);
  t.throws(() => Device.fromSyspath(os.tmpdir(), root), /outside the sysfs root/);
});

t.test('the real /sys: lo and /dev/null', { skip: !fs.existsSync('/sys/class/net/lo') && 'no /sys here' }, async (t) => {
  const lo = Device.fromSyspath('/sys/class/net/lo');
  t.equal(lo.devpath, '/devices/virtual/net/lo');
  t.equal(lo.subsystem, 'net');
  t.equal(lo.ifindex, 1);
  t.equal(lo.attr('ifindex'), '1');
  t.equal(lo.attr('address'), '00:00:00:00:00:00');
  t.equal(lo.devnum, undefined);
  t.equal(lo.parent(), undefined, '/devices/virtual/net has no uevent');

  const nul = Device.fromSyspath('/sys/devices/virtual/mem/null');
  t.equal(nul.subsystem, 'mem');
  t.same(nul.devnum, { major: 1, minor: 3 });
  t.equal(nul.devname, '/dev/null');
  t.equal(nul.sysname, 'null');
  t.equal(nul.sysnum, undefined);
});

t.test("lookups the builtins make: a parent by subsystem, a child, a device by subsystem and name", async (t) => {
  const root = fakeSys();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const sda1 = Device.fromSyspath(path.join(root, 'class/block/sda1'), root);
  t.equal(sda1.parentWith('block')?.sysname, 'sda', 'an ancestor, never the device itself');
  t.equal(sda1.parentWith('scsi')?.sysname, '0:0:0:0');
  t.equal(sda1.parentWith('scsi', 'scsi_device')?.sysname, '0:0:0:0', 'with a devtype');
  t.equal(sda1.parentWith('scsi', 'scsi_host'), undefined);
  t.equal(sda1.parentWith('pci')?.driver, 'ahci', 'past a parent without a subsystem');

  t.equal(Device.fromSubsystemSysname('block', 'sda1', root)?.devpath, sda1.devpath, '/sys/class/block/sda1');
  t.equal(Device.fromSubsystemSysname('pci', '0000:00:1f.2', root), undefined, 'no /sys/bus/pci/devices link in this tree');
  fs.mkdirSync(path.join(root, 'bus/pci/devices'));
  fs.symlinkSync('../../../devices/pci0000:00/0000:00:1f.2', path.join(root, 'bus/pci/devices/0000:00:1f.2'));
  t.equal(Device.fromSubsystemSysname('pci', '0000:00:1f.2', root)?.sysname, '0000:00:1f.2', '/sys/bus/pci/devices/NAME');
  const bus = Device.fromSubsystemSysname('subsystem', 'pci', root);
  t.equal(bus?.devpath, '/bus/pci', "the pseudo-subsystem 'subsystem': a bus directory, a device without a uevent file");
  t.equal(bus?.subsystem, 'subsystem');
  t.equal(Device.fromSubsystemSysname('drivers', 'scsi:sd', root)?.devpath, '/bus/scsi/drivers/sd');
  t.equal(Device.fromSubsystemSysname('block', '../block/sda', root), undefined, 'a name with .. is refused, as sd-device does');
  fs.symlinkSync('../../devices/virtual/block/cciss!c0d0', path.join(root, 'class/block/cciss!c0d0'));
  t.equal(Device.fromSubsystemSysname('block', 'cciss/c0d0', root)?.sysname, 'cciss/c0d0', "'/' in a name is looked up as '!'");

  const pci = sda1.parentWith('pci')!;
  t.equal(pci.child('ata1')?.sysname, 'ata1');
  t.equal(pci.child('ata1/host0'), undefined, 'under /devices a directory without uevent is no device');
  t.equal(pci.child('nope'), undefined);
  t.equal(Device.find(os.tmpdir(), root), undefined, 'outside the root');
});
