// The builtins path_id, input_id, usb_id and net_id against udevadm 252's own (`udevadm test-builtin NAME SYSPATH`,
// which prints each property it adds and needs no udevd): on every device of this machine, and on a fake sysfs with
// the USB, input, disk and NIC kinds this machine lacks (test/devmaster/fakesys.ts), whose expected values are derived
// from the C sources below and then checked by the real udevadm too, with the tree bind-mounted on /sys in a private
// mount namespace.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { builtinTable } from '../../devmaster/builtins/index.js';
import { atoi, atou, encodeDevnodeName, replaceChars, replaceWhitespace, sscanf } from '../../devmaster/builtins/cstr.js';
import { namingScheme } from '../../devmaster/builtins/net_id.js';
import { Device } from '../../devmaster/sysfs.js';
import { buildSys } from './fakesys.js';
import { udevadm } from './udevadm.js';

const NAMES = ['path_id', 'input_id', 'usb_id', 'net_id'];
type Props = string[] | null;

/** Every device under root/devices (a directory with a uevent file), links not followed: devpaths. */
function devpaths(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const sub = `${rel}/${e.name}`;
      if (fs.existsSync(path.join(root, sub, 'uevent'))) out.push(sub);
      walk(sub);
    }
  };
  walk('/devices');
  return out;
}

/** Ours, printed as test-builtin prints: KEY=value lines, or null when the builtin fails. */
function ours(root: string, name: string, devpath: string): Props {
  const r = builtinTable[name](Device.fromSyspath(path.join(root, devpath), root), [name]);
  return r && r.map(([k, v]) => `${k}=${v}`);
}

/**
 * udevadm test-builtin for each [builtin, devpath], in one shell; with `fake`, inside `unshare -m` with that tree
 * bind-mounted on /sys (SYSTEMD_DEVICE_VERIFY_SYSFS=0 lets sd-device take a tmpfs for sysfs).
 */
function theirs(u: { bin: string; lib: string }, jobs: [string, string][], fake?: string, env: Record<string, string> = {}): Props[] {
  const loop = 'while read -r b d; do echo @@; "$U" test-builtin "$b" "/sys$d" </dev/null 2>/dev/null; echo "@@ $?"; done';
  const [cmd, args] = fake ? ['unshare', ['-m', 'bash', '-c', `mount --bind "$R" /sys && ${loop}`]] : ['bash', ['-c', loop]];
  const r = spawnSync(cmd, args as string[], {
    input: jobs.map((j) => j.join(' ')).join('\n') + '\n',
    encoding: 'utf8',
    env: { ...process.env, U: u.bin, R: fake ?? '', LD_LIBRARY_PATH: u.lib, SYSTEMD_DEVICE_VERIFY_SYSFS: '0', ...env },
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`udevadm runs failed: ${r.stderr || r.error?.message}`);
  const out: Props[] = [];
  let cur: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (line === '@@') cur = [];
    else if (line.startsWith('@@ ')) out.push(line === '@@ 0' ? cur : null);
    else if (line) cur.push(line);
  }
  return out;
}

/** Sets the variables net_id reads for this test, and puts them back after it. */
function env(t: Test, vars: Record<string, string | undefined>): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) if (x === undefined) delete process.env[k];
    else process.env[k] = x;
  };
  set(vars);
  t.teardown(() => set(saved));
}

const found = udevadm();
const skipReal = typeof found === 'string' ? found : fs.existsSync('/run/udev/data') ? 'udevd runs here: udevadm would read its database (ID_BUS, ...), which our devices do not' : false;

t.test("every device of this machine: udevadm test-builtin's properties", { skip: skipReal }, async (t) => {
  const u = found as { bin: string; lib: string };
  const devs = devpaths('/sys');
  // other tests may add and remove interfaces (containers' veths) meanwhile: a device gone by the end is not compared
  const gone = (d: string) => !fs.existsSync(path.join('/sys', d, 'uevent'));
  for (const name of NAMES) {
    const want = theirs(u, devs.map((d) => [name, d]));
    const got = devs.map((d) => {
      try {
        return ours('/sys', name, d);
      } catch (e) {
        if (gone(d)) return null;
        throw e;
      }
    });
    const differ = devs
      .map((d, i) => ({ d, ours: got[i], udevadm: want[i] }))
      .filter((x) => JSON.stringify(x.ours) !== JSON.stringify(x.udevadm) && !gone(x.d));
    const named = got.filter((p) => p?.length).length;
    t.same(differ, [], `${name}: ${devs.length} devices, ${named} with properties, ${got.filter((p) => p === null).length} failing`);
  }
  t.ok(devs.length > 10, `${devs.length} devices under /sys/devices`);
});

// The fake tree: what each builtin gives, worked out from udev 252's C code (src/udev/udev-builtin-*.c).
const PCI = '/devices/pci0000:00';
const USB = `${PCI}/0000:00:14.0/usb1`;
const SDB = `${USB}/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0/block/sdb`;
const SDA = `${PCI}/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda`;
const NVME = `${PCI}/0000:00:1d.0/nvme/nvme0/nvme0n1`;
const KBD = `${USB}/1-3/1-3:1.0/0003:046D:C31C.0001/input/input5`;
const MOUSE = `${USB}/1-4/1-4:1.1/0003:045E:0745.0002/input/input6`;
const SPI = '/devices/platform/soc/fe204000.spi/spi_master/spi0/spi0.1/input/input3';
const TOUCHPAD = '/devices/platform/AMDI0010:01/i2c-1/i2c-ELAN0001:00/0018:04F3:3140.0003/input/input10';
const NET = {
  usb: `${USB}/1-5/1-5:1.0/net/eth2`,
  pf: `${PCI}/0000:00:1c.0/0000:02:00.0/net/eth1`,
  vf: `${PCI}/0000:00:1c.0/0000:02:10.0/net/eth5`,
  slotted: `${PCI}/0000:00:1c.4/0000:04:00.0/net/eth3`,
  wifi: `${PCI}/0000:00:1c.2/0000:03:00.0/net/wlan0`,
  ib: `${PCI}/0000:00:1e.0/net/ib0`,
  acpi: '/devices/platform/HISI00C2:00/net/eth4',
  dt: '/devices/platform/soc/ff540000.ethernet/net/eth7',
  xen: '/devices/vif-0/net/eth8',
  nsim: '/devices/netdevsim0/net/eth9',
  vlan: '/devices/virtual/net/vlan100',
};
/** usb_id's two sets, ID_* and ID_USB_*, from the same values. */
const usbProps = (v: Record<string, string>, tail: string[]) => {
  const keys = ['MODEL', 'MODEL_ENC', 'MODEL_ID', 'SERIAL', 'SERIAL_SHORT', 'VENDOR', 'VENDOR_ENC', 'VENDOR_ID', 'REVISION', 'TYPE', 'INSTANCE'].filter((k) => k in v);
  return ['ID_BUS=usb', ...keys.map((k) => `ID_${k}=${v[k]}`), ...keys.map((k) => `ID_USB_${k}=${v[k]}`), ...tail];
};
const sandisk = usbProps(
  {
    // handle mass storage protocol 6 (SCSI): the SCSI inquiry strings; encode_devnode_name writes ' ' as \x20,
    // udev_replace_whitespace drops the padding; type 0 is "disk"; ID_INSTANCE is target:lun
    MODEL: 'Cruzer_Blade', MODEL_ENC: 'Cruzer\\x20Blade\\x20\\x20\\x20\\x20', MODEL_ID: '5567',
    SERIAL: 'SanDisk_Cruzer_Blade_4C530001230308117344-0:0', SERIAL_SHORT: '4C530001230308117344',
    VENDOR: 'SanDisk', VENDOR_ENC: 'SanDisk\\x20', VENDOR_ID: '0781', REVISION: '1.00', TYPE: 'disk', INSTANCE: '0:0',
  },
  // dev_if_packed_info: the one interface descriptor (08/06/50) of the raw descriptors
  ['ID_USB_INTERFACES=:080650:', 'ID_USB_INTERFACE_NUM=00', 'ID_USB_DRIVER=usb-storage'],
);
const logitech = {
  // no serial: ID_SERIAL is vendor_model; class 3 is "hid"; bcdDevice is the revision
  MODEL: 'USB_Keyboard', MODEL_ENC: 'USB\\x20Keyboard', MODEL_ID: 'c31c', SERIAL: 'Logitech_USB_Keyboard',
  VENDOR: 'Logitech', VENDOR_ENC: 'Logitech', VENDOR_ID: '046d', REVISION: '6400',
};
const sr = (slot: string) => `ID_NET_NAME_SLOT=${slot}`;
const expected: [string, string, Props][] = [
  // path_id: handle_scsi_default rebases host2 on the lowest hostN beside it (host2 → 0); handle_usb writes bus 0
  // and the port chain; skip_subsystem climbs past usb1 to the PCI controller
  ['path_id', SDB, ['ID_PATH=pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0', 'ID_PATH_TAG=pci-0000_00_14_0-usb-0_2_1_0-scsi-0_0_0_0']],
  ['path_id', `${SDB}/sdb1`, ['ID_PATH=pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0', 'ID_PATH_TAG=pci-0000_00_14_0-usb-0_2_1_0-scsi-0_0_0_0']],
  // handle_scsi_ata: port_no of class/ata_port/ata1, target 0 on bus 0; the compat link has the port only
  ['path_id', SDA, ['ID_PATH=pci-0000:00:1f.2-ata-1.0', 'ID_PATH_TAG=pci-0000_00_1f_2-ata-1_0', 'ID_PATH_ATA_COMPAT=pci-0000:00:1f.2-ata-1']],
  // nvme: the namespace id of the disk; a partition has none, so no transport, and a block device needs one
  ['path_id', NVME, ['ID_PATH=pci-0000:00:1d.0-nvme-1', 'ID_PATH_TAG=pci-0000_00_1d_0-nvme-1']],
  ['path_id', `${NVME}/nvme0n1p1`, null],
  ['path_id', `${KBD}/event3`, ['ID_PATH=pci-0000:00:14.0-usb-0:3:1.0', 'ID_PATH_TAG=pci-0000_00_14_0-usb-0_3_1_0']],
  ['path_id', `${MOUSE}/event4`, ['ID_PATH=pci-0000:00:14.0-usb-0:4:1.1', 'ID_PATH_TAG=pci-0000_00_14_0-usb-0_4_1_1']],
  ['path_id', `${USB}`, ['ID_PATH=pci-0000:00:14.0', 'ID_PATH_TAG=pci-0000_00_14_0']], // "usb1" has no '-': no usb part
  // serio: its sysnum; platform: its name
  ['path_id', '/devices/platform/i8042/serio0/input/input1/event1', ['ID_PATH=platform-i8042-serio-0', 'ID_PATH_TAG=platform-i8042-serio-0']],
  ['path_id', `${TOUCHPAD}/event6`, ['ID_PATH=platform-AMDI0010:01', 'ID_PATH_TAG=platform-AMDI0010_01']],
  // skip_subsystem(pci) climbs through the root port: only the NIC's own address is written
  ['path_id', NET.pf, ['ID_PATH=pci-0000:02:00.0', 'ID_PATH_TAG=pci-0000_02_00_0']],
  ['path_id', NET.xen, ['ID_PATH=xen-vif-0', 'ID_PATH_TAG=xen-vif-0']],
  ['path_id', NET.vlan, null], // no parent at all: no path
  // the transports in the SCSI device's path: /rport- (the target's fc_transport port_name), /end_device- (one phy,
  // no expander above the port: sas-phy), /session (iscsi_session's target, connectionN:0's address and port),
  // /VMBUS (the vmbus device's id without braces and dashes); then the buses above (pci, acpi)
  ['path_id', `${PCI}/0000:00:1b.0/host5/rport-5:0-0/target5:0:0/5:0:0:0/block/sdd`, ['ID_PATH=pci-0000:00:1b.0-fc-0x50060e8000c3a1e0-lun-0', 'ID_PATH_TAG=pci-0000_00_1b_0-fc-0x50060e8000c3a1e0-lun-0']],
  ['path_id', `${PCI}/0000:00:1b.0/host5/rport-5:0-0/target5:0:1/5:0:1:0/scsi_tape/st0`, ['ID_PATH=pci-0000:00:1b.0-fc-0x500104f000a1b2c3-lun-0', 'ID_PATH_TAG=pci-0000_00_1b_0-fc-0x500104f000a1b2c3-lun-0']],
  ['path_id', `${PCI}/0000:00:17.0/host7/port-7:0/end_device-7:0/target7:0:0/7:0:0:0/block/sdf`, ['ID_PATH=pci-0000:00:17.0-sas-phy0-lun-0', 'ID_PATH_TAG=pci-0000_00_17_0-sas-phy0-lun-0']],
  ['path_id', '/devices/platform/host3/session1/target3:0:0/3:0:0:1/block/sdc', ['ID_PATH=ip-192.168.1.10:3260-iscsi-iqn.2004-04.com.example:target0-lun-1', 'ID_PATH_TAG=ip-192_168_1_10_3260-iscsi-iqn_2004-04_com_example_target0-lun-1']],
  ['path_id', '/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/f8b3781a-1e82-4818-a1c3-63d806ec15bb/host4/target4:0:0/4:0:0:0/block/sde', ['ID_PATH=acpi-VMBUS:00-vmbus-f8b3781a1e824818a1c363d806ec15bb-lun-0', 'ID_PATH_TAG=acpi-VMBUS_00-vmbus-f8b3781a1e824818a1c363d806ec15bb-lun-0']],
  ['path_id', `${PCI}/0000:00:1a.0/cciss0/c0d0/block/cciss!c0d0`, ['ID_PATH=pci-0000:00:1a.0-cciss-disk0', 'ID_PATH_TAG=pci-0000_00_1a_0-cciss-disk0']],
  ['path_id', `${SPI}/event2`, ['ID_PATH=platform-fe204000.spi-cs-1', 'ID_PATH_TAG=platform-fe204000_spi-cs-1']], // spi: the chip select
  // input_id: a full keyboard has all of ESC, digits, Q..D (bits 1-31 of the key map)
  ['input_id', `${KBD}/event3`, ['ID_INPUT=1', 'ID_INPUT_KEY=1', 'ID_INPUT_KEYBOARD=1']],
  ['input_id', KBD, ['ID_INPUT=1', 'ID_INPUT_KEY=1', 'ID_INPUT_KEYBOARD=1']],
  ['input_id', '/devices/platform/i8042/serio0/input/input1/event1', ['ID_INPUT=1', 'ID_INPUT_KEY=1', 'ID_INPUT_KEYBOARD=1']],
  // buttons BTN_LEFT..BTN_EXTRA with REL_X/Y: a mouse; no KEY_* below BTN_MISC: no key device
  ['input_id', `${MOUSE}/event4`, ['ID_INPUT=1', 'ID_INPUT_MOUSE=1']],
  ['input_id', `${MOUSE}/mouse0`, ['ID_INPUT=1', 'ID_INPUT_MOUSE=1']],
  // ABS_X/Y, BTN_TOOL_FINGER without BTN_TOOL_PEN, not INPUT_PROP_DIRECT: a touchpad (on I2C, not a pointing stick)
  ['input_id', `${TOUCHPAD}/event6`, ['ID_INPUT=1', 'ID_INPUT_TOUCHPAD=1']],
  // ABS_X/Y/Z and no EV_KEY: an accelerometer
  ['input_id', '/devices/platform/lis3lv02d/input/input7/event5', ['ID_INPUT=1', 'ID_INPUT_ACCELEROMETER=1']],
  // ABS_X/Y and BTN_TOUCH, no finger or pen tool, no mouse button: a touchscreen
  ['input_id', `${SPI}/event2`, ['ID_INPUT=1', 'ID_INPUT_TOUCHSCREEN=1']],
  ['input_id', SDB, []], // no input device above: nothing, and no failure
  ['usb_id', SDB, sandisk],
  ['usb_id', `${SDB}/sdb1`, sandisk],
  ['usb_id', `${KBD}/event3`, usbProps({ ...logitech, TYPE: 'hid' }, ['ID_USB_INTERFACES=:030101:030000:', 'ID_USB_INTERFACE_NUM=00', 'ID_USB_DRIVER=usbhid'])],
  // called on the usb_device itself: no interface, so no type, number or driver
  ['usb_id', `${USB}/1-3`, usbProps(logitech, ['ID_USB_INTERFACES=:030101:030000:'])],
  // UTF-8 is kept by udev_replace_chars and encode_devnode_name
  ['usb_id', `${MOUSE}/event4`, usbProps(
    {
      MODEL: 'Microsoft®_Nano_Transceiver_v2.0', MODEL_ENC: 'Microsoft®\\x20Nano\\x20Transceiver\\x20v2.0', MODEL_ID: '0745',
      SERIAL: 'Microsoft_Microsoft®_Nano_Transceiver_v2.0', VENDOR: 'Microsoft', VENDOR_ENC: 'Microsoft', VENDOR_ID: '045e', REVISION: '0656', TYPE: 'hid',
    },
    ['ID_USB_INTERFACES=:030101:030102:030000:', 'ID_USB_INTERFACE_NUM=01', 'ID_USB_DRIVER=usbhid'],
  )],
  // '/' is no name character: '_' in the name, \x2f in the encoded one; class 0xff is "generic"
  ['usb_id', NET.usb, usbProps(
    {
      MODEL: 'USB_10_100_1000_LAN', MODEL_ENC: 'USB\\x2010\\x2f100\\x2f1000\\x20LAN', MODEL_ID: '8153', SERIAL: 'Realtek_USB_10_100_1000_LAN_000001',
      SERIAL_SHORT: '000001', VENDOR: 'Realtek', VENDOR_ENC: 'Realtek', VENDOR_ID: '0bda', REVISION: '3000', TYPE: 'generic',
    },
    ['ID_USB_INTERFACES=:ffff00:', 'ID_USB_INTERFACE_NUM=00', 'ID_USB_DRIVER=r8152'],
  )],
  // udev_replace_whitespace reads 63 bytes of the manufacturer, ',' becomes '_'; no product: the product id; a serial
  // with ',' is none; class 0x0e is "video"; dev_if_packed_info reads a descriptor only while pos + 9 < size, so the
  // second interface (0e/02/00), which ends the data, is not listed
  ['usb_id', `${USB}/1-6/1-6:1.0/video4linux/video0`, usbProps(
    {
      MODEL: '6366', MODEL_ENC: '6366', MODEL_ID: '6366', SERIAL: 'Sonix_Technology_Co.__Ltd._Camera_Division__Integrated_Webcam_M_6366',
      VENDOR: 'Sonix_Technology_Co.__Ltd._Camera_Division__Integrated_Webcam_M',
      VENDOR_ENC: 'Sonix\\x20Technology\\x20Co.\\x2c\\x20Ltd.\\x20Camera\\x20Division\\x2c\\x20Integrated\\x20Webcam\\x20Module',
      VENDOR_ID: '0c45', REVISION: '0101', TYPE: 'video',
    },
    ['ID_USB_INTERFACES=:0e0100:', 'ID_USB_INTERFACE_NUM=00', 'ID_USB_DRIVER=uvcvideo'],
  )],
  ['usb_id', SDA, null], // no USB interface above
  // net_id: a permanent address (addr_assign_type 0) gives the MAC name; the xHCI is multifunction (f0), u5 the port
  ['net_id', NET.usb, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_MAC=enx00e04c680001', 'ID_NET_NAME_PATH=enp0s20f0u5']],
  // acpi_index 1 → o1; the label unprefixed (NAMING_LABEL_NOPREFIX); slot 5 is 0000:02:00
  ['net_id', NET.pf, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_MAC=enxa0369f000001', 'ID_NET_NAME_ONBOARD=eno1', 'ID_NET_LABEL_ONBOARD=Embedded NIC 1', 'ID_NET_NAME_PATH=enp2s0f0', sr('ens5f0')]],
  // SR-IOV: the physical function's names plus v0 (its virtfn0 link); a set address: no MAC name; no label
  ['net_id', NET.vf, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_ONBOARD=eno1v0', 'ID_NET_NAME_PATH=enp2s0f0v0', sr('ens5f0v0')]],
  // slot 7 is the root port 0000:00:1c.x, a bridge: a multifunction device behind it keeps the slot ...
  ['net_id', NET.slotted, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_MAC=enx00d861000002', 'ID_NET_NAME_PATH=enp4s0f0', sr('ens7f0')]],
  // ... a single-function one does not (NAMING_BRIDGE_MULTIFUNCTION_SLOT); DEVTYPE=wlan: "wl"
  ['net_id', NET.wifi, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_MAC=wlx8cc681000003', 'ID_NET_NAME_PATH=wlp3s0']],
  // ARPHRD_INFINIBAND: "ib", no MAC name for a 20-byte address
  ['net_id', NET.ib, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_PATH=ibp0s30']],
  // ACPI platform device HISI00C2:00: vendor hisi, model c2, instance 0; a random address: no MAC name
  ['net_id', NET.acpi, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_PATH=enahisic2i0']],
  // the devicetree's aliases name the parent's of_node ethernet0
  ['net_id', NET.dt, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_MAC=enx5a0000000007', 'ID_NET_NAME_ONBOARD=end0']],
  ['net_id', NET.xen, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_MAC=enx00163e000008', sr('enX0')]],
  ['net_id', NET.nsim, ['ID_NET_NAMING_SCHEME=v252', 'ID_NET_NAME_PATH=eni0np0']],
  ['net_id', NET.vlan, []], // iflink is eth1's: a stacked device gets no names
  ['net_id', SDA, null], // not a network interface: no IFINDEX
];

t.test('a fake sysfs: the values the C code gives', async (t) => {
  const root = buildSys();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  env(t, { NET_NAMING_SCHEME: undefined, SYSTEMD_PROC_CMDLINE: '' });
  for (const [name, devpath, want] of expected) t.same(ours(root, name, devpath), want, `${name} ${devpath}`);
});

/** Whether `unshare -m` and a bind mount on /sys work here (root, CAP_SYS_ADMIN). */
function namespaces(): string | false {
  const r = spawnSync('unshare', ['-m', 'bash', '-c', 'mount --bind /tmp /sys'], { encoding: 'utf8' });
  return r.status === 0 ? false : `no private mount namespace here to put a fake sysfs on /sys: ${(r.stderr || r.error?.message || '').trim()}`;
}
const skipFake = typeof found === 'string' ? found : namespaces();

t.test('a fake sysfs on /sys: every device as udevadm test-builtin sees it', { skip: skipFake }, async (t) => {
  const u = found as { bin: string; lib: string };
  const root = buildSys();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  env(t, { NET_NAMING_SCHEME: undefined, SYSTEMD_PROC_CMDLINE: '' });
  // udev opens /proc/device-tree, which this machine does not have: that NIC's ID_NET_NAME_ONBOARD is checked above
  const jobs = NAMES.flatMap((n) => devpaths(root).map((d): [string, string] => [n, d])).filter(([n, d]) => !(n === 'net_id' && d === NET.dt));
  const want = theirs(u, jobs, root);
  const differ = jobs.map((j, i) => ({ j, ours: ours(root, ...j), udevadm: want[i] })).filter((x) => JSON.stringify(x.ours) !== JSON.stringify(x.udevadm));
  t.same(differ, [], `${jobs.length} runs, ${want.filter((p) => p?.length).length} with properties`);
  const checked = new Set(jobs.map((j) => j.join(' ')));
  t.ok(expected.every(([n, d]) => checked.has(`${n} ${d}`) || d === NET.dt), 'every expectation above was also checked against udevadm');

  // the older naming schemes turn features off: SR-IOV's v suffix, "ib", unprefixed labels, bridge slots, Xen names
  const nets = Object.values(NET).filter((d) => d !== NET.dt);
  for (const scheme of ['v238', 'v240', 'v243', 'v247', 'v250', 'v251', 'latest', 'v999', ':v247']) {
    process.env.NET_NAMING_SCHEME = scheme;
    const w = theirs(u, nets.map((d) => ['net_id', d]), root, { NET_NAMING_SCHEME: scheme });
    t.same(nets.map((d) => ours(root, 'net_id', d)), w, `NET_NAMING_SCHEME=${scheme}`);
  }
});

t.test('the naming scheme: $NET_NAMING_SCHEME, then net.naming-scheme= on the kernel command line', async (t) => {
  t.equal(namingScheme(undefined, '').name, 'v252', "udev 252's default is its latest");
  t.equal(namingScheme('v247', 'net.naming-scheme=v250').name, 'v247', 'the environment wins');
  t.equal(namingScheme(':v247', 'ro net.naming-scheme=v250 quiet').name, 'v250', "':' gives the command line precedence");
  t.equal(namingScheme(':v247', 'ro quiet').name, 'v247');
  t.equal(namingScheme(undefined, 'net.naming-scheme=v240 net.naming-scheme=v245').name, 'v245', 'the last one counts');
  t.equal(namingScheme('v999', '').name, 'v252', 'an unknown scheme is ignored');
  t.equal(namingScheme('latest', '').name, 'v252');
  t.equal(namingScheme('v241', '').flags, namingScheme('v240', '').flags, 'v241 adds nothing net_id uses');
  t.ok(namingScheme('v252', '').flags > namingScheme('v251', '').flags);
});

t.test("C's number parsing, as systemd's safe_ato* and glibc's sscanf do it", async (t) => {
  t.equal(atou('0x10'), 16n, 'base 0: hex');
  t.equal(atou('010'), 8n, 'base 0: octal');
  t.equal(atou('0b101'), 5n, "systemd's 0b");
  t.equal(atou('0o17'), 15n, "systemd's 0o");
  t.equal(atou(' 42'), 42n, 'leading whitespace');
  t.equal(atou('42 '), undefined, 'trailing garbage');
  t.equal(atou('0a'), undefined, "octal stops at 'a': bInterfaceSubClass 0a is no number to udev");
  t.equal(atou('-0'), 0n);
  t.equal(atou('-1'), undefined, 'no negative unsigned');
  t.equal(atou('4294967296'), undefined, '32 bits');
  t.equal(atou('4294967296', 10, 64), 4294967296n);
  t.equal(atou('ffff', 16, 16), 0xffffn);
  t.equal(atou('10000', 16, 16), undefined);
  t.equal(atou('0x1', 10), undefined, 'base 10 takes no prefix');
  t.equal(atou(''), undefined);
  t.equal(atoi('-5'), -5);
  t.equal(atoi('0x1f'), 31);
  t.equal(atoi('2147483648'), undefined);
  t.same(sscanf('0000:02:10.0', '%x:%x:%x.%u'), [0, 2, 16, 0]);
  t.same(sscanf('/sys/devices/vio/30000002/net/eth1', '/sys/devices/vio/%4x%4x/net/eth%u'), [0x3000, 2, 1], 'widths split the digits');
  t.same(sscanf('/sys/devices/platform/HISI00C2:00/net/eth0', '/sys/devices/platform/%4s%4x:%2x/net/eth%u'), ['HISI', 0xc2, 0, 0]);
  t.same(sscanf('c0d1', 'c%ud%u%*s'), [0, 1], 'a conversion with * is not counted');
  t.same(sscanf('bcma0:3', 'bcma%*u:%u'), [3]);
  t.same(sscanf('1:2', '%d:%d:%d:%d'), [1, 2], 'stops at the first mismatch');
  t.same(sscanf('eth', 'eth%u'), []);
});

t.test("udev's name sanitizers, byte by byte", async (t) => {
  t.equal(replaceWhitespace('  a  b \t c  ', 63).toString(), 'a_b_c');
  t.equal(replaceWhitespace('x'.repeat(70), 63).toString(), 'x'.repeat(63), 'at most len bytes');
  t.equal(replaceWhitespace(`${' '.repeat(60)}abcdef`, 63).toString(), 'abc', 'leading whitespace counts against len');
  t.equal(replaceChars(replaceWhitespace('a/b\\x41 ©', 63)), 'a_b\\x41_©', "'\\x' and UTF-8 stay, '/' goes");
  t.equal(replaceChars(replaceWhitespace('é'.repeat(40), 63)), `${'é'.repeat(31)}_`, 'a UTF-8 character cut in two is replaced');
  t.equal(encodeDevnodeName('A b/©\\'), 'A\\x20b\\x2f©\\x5c');
});
