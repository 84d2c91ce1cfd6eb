// A fake sysfs for the builtins, laid out the way the kernel lays out /sys (devices/, class/ and bus/ links, relative
// subsystem and driver links, binary USB descriptors and PCI config space), with what this test machine lacks: USB
// storage, keyboard, mouse and network adapters, input devices, SATA and NVMe disks, SR-IOV, PCI hotplug slots,
// InfiniBand, Xen, netdevsim, ACPI platform and devicetree NICs. The links are relative, so the tree also works
// bind-mounted on /sys, where the real udevadm reads it.
import fs from 'node:fs';
import path from 'node:path';
import { fileTree } from './tree.js';

/** Subsystems that are buses (/sys/bus/X); the others are classes (/sys/class/X). */
const BUSES = new Set(['pci', 'usb', 'scsi', 'platform', 'serio', 'hid', 'i2c', 'xen', 'netdevsim', 'vmbus', 'acpi', 'spi', 'cciss']);

interface Spec {
  subsystem?: string;
  /** The uevent file's lines (DRIVER= is added from `driver`). */
  uevent?: string[];
  driver?: string;
  /** Attribute files, relative to the device (`capabilities/ev`); a Buffer is written as is, a string with "\n". */
  attrs?: Record<string, string | Buffer>;
  /** Extra links, relative to the device, to paths relative to the root. */
  links?: Record<string, string>;
}

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** PCI config space: byte 14 is the header type, bit 7 says multifunction. */
const config = (headerType: number) => Buffer.concat([Buffer.alloc(14), Buffer.from([headerType]), Buffer.alloc(49)]);

export function buildSys(): string {
  const tree = fileTree('fakesys-');
  const { root, put } = tree;
  const abs = (rel: string) => path.join(root, rel);
  // Relative links (to a path relative to the root), so the tree also works bind-mounted on /sys.
  const link = (rel: string, target: string) => tree.link(rel, path.relative(path.dirname(abs(rel)), abs(target)));
  const dev = (rel: string, s: Spec = {}) => {
    const name = path.basename(rel);
    put(`${rel}/uevent`, [...(s.uevent ?? []), ...(s.driver ? [`DRIVER=${s.driver}`] : [])].map((l) => `${l}\n`).join(''));
    if (s.subsystem) {
      const top = BUSES.has(s.subsystem) ? `bus/${s.subsystem}` : `class/${s.subsystem}`;
      fs.mkdirSync(abs(top), { recursive: true });
      link(`${rel}/subsystem`, top);
      link(BUSES.has(s.subsystem) ? `${top}/devices/${name}` : `${top}/${name}`, rel);
      if (s.driver) {
        fs.mkdirSync(abs(`bus/${s.subsystem}/drivers/${s.driver}`), { recursive: true });
        link(`${rel}/driver`, `bus/${s.subsystem}/drivers/${s.driver}`);
      }
    }
    for (const [k, v] of Object.entries(s.attrs ?? {})) put(`${rel}/${k}`, typeof v === 'string' ? `${v}\n` : v);
    for (const [k, v] of Object.entries(s.links ?? {})) link(`${rel}/${k}`, v);
    return rel;
  };
  const pci = (rel: string, driver: string, modalias: string, header: number, attrs: Record<string, string | Buffer> = {}) =>
    dev(rel, { subsystem: 'pci', driver, uevent: [`PCI_SLOT_NAME=${path.basename(rel)}`, `MODALIAS=${modalias}`], attrs: { modalias, config: config(header), ...attrs } });
  const usbDevice = (rel: string, ids: [string, string, string], strings: Record<string, string>, descriptors: string, num: number) =>
    dev(rel, {
      subsystem: 'usb',
      driver: 'usb',
      uevent: [`MAJOR=189`, `MINOR=${num - 1}`, `DEVNAME=bus/usb/001/${String(num).padStart(3, '0')}`, 'DEVTYPE=usb_device'],
      attrs: { idVendor: ids[0], idProduct: ids[1], bcdDevice: ids[2], ...strings, descriptors: hex(descriptors) },
    });
  const usbInterface = (rel: string, cls: string, driver: string) =>
    dev(rel, {
      subsystem: 'usb',
      driver,
      uevent: ['DEVTYPE=usb_interface', `INTERFACE=${cls.split(' ').map((h) => parseInt(h, 16)).join('/')}`],
      attrs: { bInterfaceClass: cls.split(' ')[0], bInterfaceSubClass: cls.split(' ')[1], bInterfaceProtocol: cls.split(' ')[2], bInterfaceNumber: `0${rel.slice(-1)}` },
    });
  const scsi = (rel: string, devtype: string, attrs: Record<string, string> = {}, driver?: string) => dev(rel, { subsystem: 'scsi', driver, uevent: [`DEVTYPE=${devtype}`], attrs });
  const block = (rel: string, minor: number, devtype: string, attrs: Record<string, string> = {}, major = 8) =>
    dev(rel, { subsystem: 'block', uevent: [`MAJOR=${major}`, `MINOR=${minor}`, `DEVNAME=${path.basename(rel)}`, `DEVTYPE=${devtype}`], attrs });
  const input = (rel: string, name: string, bustype: string, caps: Record<string, string>, props = '0') => {
    dev(rel, {
      subsystem: 'input',
      uevent: [`PRODUCT=${parseInt(bustype, 16).toString(16)}/0/0/0`, `NAME="${name}"`, 'PROP=0', `EV=${caps.ev}`],
      attrs: {
        name,
        properties: props,
        'id/bustype': bustype,
        'id/vendor': '0000',
        'id/product': '0000',
        'id/version': '0001',
        ...Object.fromEntries(['ev', 'key', 'rel', 'abs', 'msc', 'sw', 'led', 'ff', 'snd'].map((c) => [`capabilities/${c}`, caps[c] ?? '0'])),
      },
    });
  };
  const event = (rel: string, minor: number) => dev(rel, { subsystem: 'input', uevent: ['MAJOR=13', `MINOR=${minor}`, `DEVNAME=input/${path.basename(rel)}`], attrs: { dev: `13:${minor}` } });
  const net = (rel: string, ifindex: number, attrs: Record<string, string>, devtype?: string) =>
    dev(rel, {
      subsystem: 'net',
      uevent: [...(devtype ? [`DEVTYPE=${devtype}`] : []), `INTERFACE=${path.basename(rel)}`, `IFINDEX=${ifindex}`],
      attrs: { ifindex: String(ifindex), iflink: String(ifindex), type: '1', addr_assign_type: '0', dev_port: '0', ...attrs },
    });

  const P = 'devices/pci0000:00';
  dev(P);
  const keyboardKeys = '1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe';

  // xHCI controller (multifunction) with a root hub, a USB stick, a keyboard, a Microsoft wireless receiver and a LAN adapter
  const xhci = pci(`${P}/0000:00:14.0`, 'xhci_hcd', 'pci:v00008086d0000A36Dsv00001028sd0000085Cbc0Csc03i30', 0x80);
  const hub = usbDevice(`${xhci}/usb1`, ['1d6b', '0002', '0601'], { manufacturer: 'Linux 6.1.0-18-amd64 xhci-hcd', product: 'xHCI Host Controller', serial: '0000:00:14.0' },
    '12010002090001406b1d020001060302 0101 09021900010100e000 090400000109000000 0705810304000c', 1);
  usbInterface(`${hub}/1-0:1.0`, '09 00 00', 'hub');

  const stick = usbDevice(`${hub}/1-2`, ['0781', '5567', '0100'], { manufacturer: 'SanDisk', product: ' Cruzer Blade', serial: '4C530001230308117344' },
    '120100020000004081076755000101020301 090220000101008064 090400000208065000 07058102000200 07050202000201', 2);
  const storage = usbInterface(`${stick}/1-2:1.0`, '08 06 50', 'usb-storage');
  const host2 = scsi(`${storage}/host2`, 'scsi_host');
  scsi(`${host2}/target2:0:0`, 'scsi_target');
  const sdev = scsi(`${host2}/target2:0:0/2:0:0:0`, 'scsi_device', { vendor: 'SanDisk ', model: 'Cruzer Blade    ', rev: '1.00', type: '0' }, 'sd');
  const sdb = block(`${sdev}/block/sdb`, 16, 'disk');
  block(`${sdb}/sdb1`, 17, 'partition');

  const kbd = usbDevice(`${hub}/1-3`, ['046d', 'c31c', '6400'], { manufacturer: 'Logitech', product: 'USB Keyboard' },
    '12011001000000086d041cc3006401020001 09023b00020103a02d 090400000103010100 092110010001224100 0705810308000a 090401000103000000 09211001000122b200 0705820304000a', 3);
  const kbdIf = usbInterface(`${kbd}/1-3:1.0`, '03 01 01', 'usbhid');
  usbInterface(`${kbd}/1-3:1.1`, '03 00 00', 'usbhid');
  const kbdHid = dev(`${kbdIf}/0003:046D:C31C.0001`, { subsystem: 'hid', driver: 'hid-generic' });
  input(`${kbdHid}/input/input5`, 'Logitech USB Keyboard', '0003', { ev: '120013', key: keyboardKeys, msc: '10', led: '7' });
  event(`${kbdHid}/input/input5/event3`, 67);

  const nano = usbDevice(`${hub}/1-4`, ['045e', '0745', '0656'], { manufacturer: 'Microsoft', product: 'Microsoft® Nano Transceiver v2.0' },
    '12010002000000085e044507560601020001 09025400030100a032 090400000103010100 092111010001223b00 0705810308000a 090401000103010200 092111010001223600 0705820308000a 090402000103000000 092111010001224100 0705830308000a', 4);
  usbInterface(`${nano}/1-4:1.0`, '03 01 01', 'usbhid');
  const mouseIf = usbInterface(`${nano}/1-4:1.1`, '03 01 02', 'usbhid');
  usbInterface(`${nano}/1-4:1.2`, '03 00 00', 'usbhid');
  const mouseHid = dev(`${mouseIf}/0003:045E:0745.0002`, { subsystem: 'hid', driver: 'microsoft' });
  input(`${mouseHid}/input/input6`, 'Microsoft Microsoft® Nano Transceiver v2.0 Mouse', '0003', { ev: '17', key: '1f0000 0 0 0 0', rel: '1943', msc: '10' });
  event(`${mouseHid}/input/input6/event4`, 68);
  dev(`${mouseHid}/input/input6/mouse0`, { subsystem: 'input', uevent: ['MAJOR=13', 'MINOR=32', 'DEVNAME=input/mouse0'] });

  const lan = usbDevice(`${hub}/1-5`, ['0bda', '8153', '3000'], { manufacturer: 'Realtek', product: 'USB 10/100/1000 LAN', serial: '000001' },
    '1201100300000009da0b5381003001020601 09023900010104a032 0904000003ffff0000 07058102000400 07050202000400 07058303020008', 5);
  const lanIf = usbInterface(`${lan}/1-5:1.0`, 'ff ff 00', 'r8152');
  net(`${lanIf}/net/eth2`, 7, { address: '00:e0:4c:68:00:01' });

  // a webcam with a manufacturer string past udev's 63 bytes, no product string and a serial with a ','
  const cam = usbDevice(`${hub}/1-6`, ['0c45', '6366', '0101'], { manufacturer: 'Sonix Technology Co., Ltd. Camera Division, Integrated Webcam Module', serial: 'SN,0001' },
    '12010002ef020140450c66630101020301 01 09027d000201008096 080b00020e030005 09040000010e010005 07058303100006 09040100000e020005', 6);
  const camIf = usbInterface(`${cam}/1-6:1.0`, '0e 01 00', 'uvcvideo');
  dev(`${camIf}/video4linux/video0`, { subsystem: 'video4linux', uevent: ['MAJOR=81', 'MINOR=0', 'DEVNAME=video0'], attrs: { name: 'Integrated Webcam' } });

  // SATA disk on AHCI: the ata_port class device holds the port number
  const ahci = pci(`${P}/0000:00:1f.2`, 'ahci', 'pci:v00008086d0000A352sv00001028sd0000085Cbc01sc06i01', 0x80);
  const ata1 = dev(`${ahci}/ata1`);
  dev(`${ata1}/ata_port/ata1`, { subsystem: 'ata_port', attrs: { port_no: '1', nr_pmp_links: '0' } });
  const host0 = scsi(`${ata1}/host0`, 'scsi_host');
  scsi(`${host0}/target0:0:0`, 'scsi_target');
  const ssd = scsi(`${host0}/target0:0:0/0:0:0:0`, 'scsi_device', { vendor: 'ATA     ', model: 'Samsung SSD 860 ', rev: '4B6Q', type: '0' }, 'sd');
  const sda = block(`${ssd}/block/sda`, 0, 'disk');
  block(`${sda}/sda1`, 1, 'partition');

  // SCSI transports named in the path: Fibre Channel (a disk and a tape), SAS (direct attach), iSCSI, Hyper-V; and cciss
  const lpfc = pci(`${P}/0000:00:1b.0`, 'lpfc', 'pci:v000010DFd0000F100sv000010DFsd0000F100bc0Csc04i00', 0x80);
  const host5 = scsi(`${lpfc}/host5`, 'scsi_host');
  const rport = dev(`${host5}/rport-5:0-0`);
  for (const [n, port] of [['0', '0x50060e8000c3a1e0'], ['1', '0x500104f000a1b2c3']]) {
    const target = scsi(`${rport}/target5:0:${n}`, 'scsi_target');
    dev(`${target}/fc_transport/target5:0:${n}`, { subsystem: 'fc_transport', attrs: { port_name: port, node_name: port } });
  }
  const fcDisk = scsi(`${rport}/target5:0:0/5:0:0:0`, 'scsi_device', { vendor: 'HITACHI ', model: 'OPEN-V          ', rev: '8001', type: '0' }, 'sd');
  block(`${fcDisk}/block/sdd`, 48, 'disk');
  const fcTape = scsi(`${rport}/target5:0:1/5:0:1:0`, 'scsi_device', { vendor: 'IBM     ', model: 'ULT3580-TD8     ', rev: 'Q393', type: '1' }, 'st');
  dev(`${fcTape}/scsi_tape/st0`, { subsystem: 'scsi_tape', uevent: ['MAJOR=9', 'MINOR=0', 'DEVNAME=st0'] });
  const mpt = pci(`${P}/0000:00:17.0`, 'mpt3sas', 'pci:v00001000d00000097sv00001000sd00003090bc01sc07i00', 0x00);
  const port7 = dev(`${scsi(`${mpt}/host7`, 'scsi_host')}/port-7:0`);
  dev(`${port7}/sas_port/port-7:0`, { subsystem: 'sas_port', attrs: { num_phys: '1' } });
  const end = dev(`${port7}/end_device-7:0`);
  dev(`${end}/sas_device/end_device-7:0`, { subsystem: 'sas_device', attrs: { sas_address: '0x5000c500a1b2c3d4', phy_identifier: '0' } });
  scsi(`${end}/target7:0:0`, 'scsi_target');
  block(`${scsi(`${end}/target7:0:0/7:0:0:0`, 'scsi_device', { vendor: 'SEAGATE ', model: 'ST4000NM0023    ', rev: '0004', type: '0' }, 'sd')}/block/sdf`, 80, 'disk');
  const host3 = scsi('devices/platform/host3', 'scsi_host');
  const session = dev(`${host3}/session1`);
  dev(`${session}/iscsi_session/session1`, { subsystem: 'iscsi_session', attrs: { targetname: 'iqn.2004-04.com.example:target0' } });
  dev(`${session}/connection1:0/iscsi_connection/connection1:0`, { subsystem: 'iscsi_connection', attrs: { persistent_address: '192.168.1.10', persistent_port: '3260' } });
  dev(`${session}/connection1:0`);
  scsi(`${session}/target3:0:0`, 'scsi_target');
  block(`${scsi(`${session}/target3:0:0/3:0:0:1`, 'scsi_device', { vendor: 'LIO-ORG ', model: 'disk0           ', rev: '4.0 ', type: '0' }, 'sd')}/block/sdc`, 32, 'disk');
  let acpi = 'devices';
  for (const name of ['LNXSYSTM:00', 'LNXSYBUS:00', 'ACPI0004:00', 'VMBUS:00']) acpi = dev(`${acpi}/${name}`, { subsystem: 'acpi' });
  const guid = 'f8b3781a-1e82-4818-a1c3-63d806ec15bb';
  const vmbus = dev(`${acpi}/${guid}`, { subsystem: 'vmbus', driver: 'hv_storvsc', attrs: { device_id: `{${guid}}`, class_id: '{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}' } });
  scsi(`${vmbus}/host4`, 'scsi_host');
  scsi(`${vmbus}/host4/target4:0:0`, 'scsi_target');
  block(`${scsi(`${vmbus}/host4/target4:0:0/4:0:0:0`, 'scsi_device', { vendor: 'Msft    ', model: 'Virtual Disk    ', rev: '1.0 ', type: '0' }, 'sd')}/block/sde`, 64, 'disk');
  const cciss = pci(`${P}/0000:00:1a.0`, 'cciss', 'pci:v0000103Cd00003238sv0000103Csd00003234bc01sc04i00', 0x00);
  const c0d0 = dev(`${dev(`${cciss}/cciss0`)}/c0d0`, { subsystem: 'cciss' });
  block(`${c0d0}/block/cciss!c0d0`, 0, 'disk', {}, 104);

  // NVMe
  const nvmePci = pci(`${P}/0000:00:1d.0`, 'nvme', 'pci:v0000144Dd0000A808sv0000144Dsd0000A801bc01sc08i02', 0x00);
  const nvme0 = dev(`${nvmePci}/nvme/nvme0`, { subsystem: 'nvme', uevent: ['MAJOR=241', 'MINOR=0', 'DEVNAME=nvme0'] });
  const ns = block(`${nvme0}/nvme0n1`, 0, 'disk', { nsid: '1' }, 259);
  block(`${ns}/nvme0n1p1`, 1, 'partition', {}, 259);

  // PCIe root port with a hotplug slot (5): an SR-IOV NIC, its virtual function
  const bridge = 'pci:v00008086d0000A110sv00001028sd000007A1bc06sc04i00';
  const nic = 'pci:v00008086d00001521sv00001028sd00001F60bc02sc00i00';
  const br0 = pci(`${P}/0000:00:1c.0`, 'pcieport', bridge, 0x81);
  const pf = pci(`${br0}/0000:02:00.0`, 'igb', nic, 0x80, { acpi_index: '1', label: 'Embedded NIC 1', sriov_numvfs: '1' });
  const vf = pci(`${br0}/0000:02:10.0`, 'igbvf', 'pci:v00008086d00001520sv00001028sd00001F60bc02sc00i00', 0x00);
  link(`${pf}/virtfn0`, vf);
  link(`${vf}/physfn`, pf);
  net(`${pf}/net/eth1`, 3, { address: 'a0:36:9f:00:00:01' });
  net(`${vf}/net/eth5`, 8, { address: '02:aa:bb:cc:dd:01', addr_assign_type: '3' });
  put('bus/pci/slots/5/address', '0000:02:00\n');

  // a root port that is itself a hotplug slot (7): a multifunction NIC behind it takes the slot, a single-function
  // Wi-Fi card behind another port of the same slot does not
  const br4 = pci(`${P}/0000:00:1c.4`, 'pcieport', bridge, 0x81);
  const r8169 = pci(`${br4}/0000:04:00.0`, 'r8169', 'pci:v000010ECd00008168sv00001028sd000007A1bc02sc00i00', 0x80);
  net(`${r8169}/net/eth3`, 4, { address: '00:d8:61:00:00:02' });
  const br2 = pci(`${P}/0000:00:1c.2`, 'pcieport', bridge, 0x81);
  const wifi = pci(`${br2}/0000:03:00.0`, 'iwlwifi', 'pci:v00008086d00002723sv00008086sd00000084bc02sc80i00', 0x00);
  net(`${wifi}/net/wlan0`, 5, { address: '8c:c6:81:00:00:03' }, 'wlan');
  put('bus/pci/slots/7/address', '0000:00:1c\n');

  // InfiniBand: 20-byte addresses, no MAC name; the port in dev_id is hex, which udev parses as decimal (and fails)
  const ib = pci(`${P}/0000:00:1e.0`, 'mlx4_core', 'pci:v000015B3d00001003sv000015B3sd00000050bc0Csc06i00', 0x00);
  net(`${ib}/net/ib0`, 6, { type: '32', address: '80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:00:00:01', dev_id: '0x1' });

  // platform devices: the i8042 keyboard, an accelerometer, an I2C touchpad, an ACPI NIC, a devicetree NIC
  dev('devices/platform');
  const i8042 = dev('devices/platform/i8042', { subsystem: 'platform', driver: 'i8042' });
  const serio0 = dev(`${i8042}/serio0`, { subsystem: 'serio', driver: 'atkbd' });
  input(`${serio0}/input/input1`, 'AT Translated Set 2 keyboard', '0011', { ev: '120013', key: '402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe', msc: '10', led: '7' });
  event(`${serio0}/input/input1/event1`, 65);
  const lis = dev('devices/platform/lis3lv02d', { subsystem: 'platform', driver: 'lis3lv02d' });
  input(`${lis}/input/input7`, 'ST LIS3LV02DL Accelerometer', '0019', { ev: '9', abs: '7' });
  event(`${lis}/input/input7/event5`, 69);
  const amd = dev('devices/platform/AMDI0010:01', { subsystem: 'platform', driver: 'i2c_designware' });
  const i2c1 = dev(`${amd}/i2c-1`, { subsystem: 'i2c' });
  const elan = dev(`${i2c1}/i2c-ELAN0001:00`, { subsystem: 'i2c', driver: 'i2c_hid_acpi' });
  const tpHid = dev(`${elan}/0018:04F3:3140.0003`, { subsystem: 'hid', driver: 'hid-multitouch' });
  input(`${tpHid}/input/input10`, 'ELAN0001:00 04F3:3140 Touchpad', '0018', { ev: '1b', key: 'e520 10000 0 0 0 0', abs: '260800000000003', msc: '20' }, '5');
  event(`${tpHid}/input/input10/event6`, 70);
  const soc = dev('devices/platform/soc', { subsystem: 'platform' });
  dev(`${soc}/fe204000.spi`, { subsystem: 'platform', driver: 'spi-bcm2835' });
  dev(`${soc}/fe204000.spi/spi_master/spi0`, { subsystem: 'spi_master' });
  const spi = dev('devices/platform/soc/fe204000.spi/spi_master/spi0/spi0.1', { subsystem: 'spi', driver: 'ads7846' });
  input(`${spi}/input/input3`, 'ADS7846 Touchscreen', '001c', { ev: 'b', key: '400 0 0 0 0 0', abs: '1000003' });
  event(`${spi}/input/input3/event2`, 66);
  const hisi = dev('devices/platform/HISI00C2:00', { subsystem: 'platform', driver: 'hns-nic' });
  net(`${hisi}/net/eth4`, 9, { address: '00:18:2d:00:00:04', addr_assign_type: '1' });
  put('firmware/devicetree/base/soc/ethernet@ff540000/name', 'ethernet\0');
  put('firmware/devicetree/base/aliases/serial0', '/serial@ff180000\0');
  put('firmware/devicetree/base/aliases/ethernet0', '/soc/ethernet@ff540000\0');
  const gmac = dev(`${soc}/ff540000.ethernet`, { subsystem: 'platform', driver: 'rk_gmac-dwmac', links: { of_node: 'firmware/devicetree/base/soc/ethernet@ff540000' } });
  net(`${gmac}/net/eth7`, 10, { address: '5a:00:00:00:00:07' });

  // a Xen netfront, a netdevsim port, a VLAN stacked on eth1
  const vif = dev('devices/vif-0', { subsystem: 'xen', driver: 'vif' });
  net(`${vif}/net/eth8`, 11, { address: '00:16:3e:00:00:08' });
  const nsim = dev('devices/netdevsim0', { subsystem: 'netdevsim', driver: 'netdevsim' });
  net(`${nsim}/net/eth9`, 12, { address: '2e:1a:00:00:00:09', addr_assign_type: '1', phys_port_name: 'p0' });
  net('devices/virtual/net/vlan100', 13, { iflink: '3', address: 'a0:36:9f:00:00:01', addr_assign_type: '2' });
  return root;
}
