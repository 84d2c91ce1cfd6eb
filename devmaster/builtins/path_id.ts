// path_id: ID_PATH, the device's place on the buses (pci-0000:00:1f.2-ata-1.0), as udev 252's
// src/udev/udev-builtin-path_id.c composes it, walking from the device up to the top and prepending one part per bus.
import fs from 'node:fs';
import path from 'node:path';
import { Device } from '../sysfs.js';
import { atou, sscanf } from './cstr.js';
import type { Builtin } from './index.js';

/** The parts composed so far; each handler prepends to them. */
interface Walk {
  path?: string;
  /** ID_PATH_ATA_COMPAT: started by the first ATA disk, then grown by the buses above it. */
  compat?: string;
  supportedParent: boolean;
  supportedTransport: boolean;
}

const prepend = (p: string | undefined, part: string) => (p === undefined ? part : `${part}-${p}`);

/** The path sd-device sees, for the substring tests the C code makes on it (a test root must not match them). */
const sysPath = (d: Device) => `/sys${d.devpath}`;

/** format_lun_number: Linux's 32-bit LUN as `lun-N`, or its SAM form past 255. C prints "(null)" when it fails. */
function lun(dev: Device): string {
  const n = dev.sysnum === undefined ? undefined : atou(dev.sysnum, 10, 64);
  if (n === undefined) return '(null)';
  if (n < 256n) return `lun-${n}`;
  const hex = (v: bigint) => v.toString(16).padStart(4, '0');
  return `lun-0x${hex(n & 0xffffn)}${hex((n >> 16n) & 0xffffn)}00000000`;
}

/** skip_subsystem: climbs through the run of `subsys` parents and returns the last of them (not the one above). */
function skip(dev: Device, subsys: string): Device {
  for (let p: Device | undefined = dev; p && p.subsystem === subsys; p = p.parent()) dev = p;
  return dev;
}

function fibreChannel(parent: Device, w: Walk): Device | undefined {
  const target = parent.parentWith('scsi', 'scsi_target');
  const port = target && Device.fromSubsystemSysname('fc_transport', target.sysname, parent.root)?.attr('port_name');
  if (port === undefined) return undefined;
  w.path = prepend(w.path, `fc-${port}-${lun(parent)}`);
  return parent;
}

function sasWidePort(parent: Device, w: Walk): Device | undefined {
  const above = parent.parentWith('scsi', 'scsi_target')?.parent();
  const address = above && Device.fromSubsystemSysname('sas_device', above.sysname, parent.root)?.attr('sas_address');
  if (address === undefined) return undefined;
  w.path = prepend(w.path, `sas-${address}-${lun(parent)}`);
  return parent;
}

function sas(parent: Device, w: Walk): Device | undefined {
  const above = parent.parentWith('scsi', 'scsi_target')?.parent();
  const target = above && Device.fromSubsystemSysname('sas_device', above.sysname, parent.root);
  const port = target && above.parent();
  const phys = port && Device.fromSubsystemSysname('sas_port', port.sysname, parent.root)?.attr('num_phys');
  if (!port || phys === undefined) return undefined;
  // strncmp(phy_count, "1", 2): exactly "1" is a simple disk
  if (phys !== '1') return sasWidePort(parent, w);
  const phy = target.attr('phy_identifier');
  const expander = port.parent();
  if (phy === undefined || !expander) return undefined;
  const exp = Device.fromSubsystemSysname('sas_device', expander.sysname, parent.root);
  const address = exp?.attr('sas_address');
  if (exp && address === undefined) return undefined;
  w.path = prepend(w.path, address !== undefined ? `sas-exp${address}-phy${phy}-${lun(parent)}` : `sas-phy${phy}-${lun(parent)}`);
  return parent;
}

function iscsi(parent: Device, w: Walk): Device | undefined {
  let transport: Device | undefined = parent;
  do transport = transport.parent();
  while (transport && !transport.sysname.startsWith('session'));
  if (!transport) return undefined;
  const target = Device.fromSubsystemSysname('iscsi_session', transport.sysname, parent.root)?.attr('targetname');
  if (target === undefined || transport.sysnum === undefined) return undefined;
  const conn = Device.fromSubsystemSysname('iscsi_connection', `connection${transport.sysnum}:0`, parent.root);
  const addr = conn?.attr('persistent_address');
  const port = conn?.attr('persistent_port');
  if (addr === undefined || port === undefined) return undefined;
  w.path = prepend(w.path, `ip-${addr}:${port}-iscsi-${target}-${lun(parent)}`);
  return parent;
}

function ata(parent: Device, w: Walk): Device | undefined {
  const ids = sscanf(parent.sysname, '%u:%u:%u:%u');
  if (ids.length !== 4) return undefined;
  const [, bus, target] = ids;
  const port = parent.parentWith('scsi', 'scsi_host')?.parent();
  const portNo = port && Device.fromSubsystemSysname('ata_port', port.sysname, parent.root)?.attr('port_no');
  if (portNo === undefined) return undefined;
  // devices behind a port multiplier have a bus; master and slave differ by target
  w.path = prepend(w.path, bus !== 0 ? `ata-${portNo}.${bus}.0` : `ata-${portNo}.${target}`);
  w.compat = prepend(w.compat, `ata-${portNo}`);
  return parent;
}

/** handle_scsi_default: the host number rebased on the lowest hostN beside it, which udev itself calls racy. */
function scsiDefault(parent: Device, w: Walk): Device | undefined {
  const host = parent.parentWith('scsi', 'scsi_host');
  const ids = sscanf(parent.sysname, '%d:%d:%d:%d') as number[];
  if (!host || ids.length !== 4) return undefined;
  let base = -1;
  try {
    for (const e of fs.readdirSync(path.dirname(host.syspath), { withFileTypes: true })) {
      if (e.name.startsWith('.') || !(e.isDirectory() || e.isSymbolicLink()) || !e.name.startsWith('host')) continue;
      const i = atou(e.name.slice(4), 10);
      if (i !== undefined && (base === -1 || Number(i) < base)) base = Number(i);
    }
  } catch {
    return undefined;
  }
  if (base === -1) return host;
  w.path = prepend(w.path, `scsi-${(ids[0] - base) | 0}:${ids[1]}:${ids[2]}:${ids[3]}`);
  return host;
}

function hyperv(parent: Device, w: Walk, len: number): Device | undefined {
  const guid = parent.parentWith('scsi', 'scsi_host')?.parent()?.attr('device_id');
  if (guid === undefined || Buffer.byteLength(guid) < len || guid[0] !== '{' || guid[len - 1] !== '}') return undefined;
  w.path = prepend(w.path, `vmbus-${guid.slice(1, len - 1).replaceAll('-', '')}-${lun(parent)}`);
  return parent;
}

function scsi(parent: Device, w: Walk): Device | undefined {
  if (parent.devtype !== 'scsi_device') return parent;
  const id = parent.attr('ieee1394_id');
  if (id !== undefined) {
    w.path = prepend(w.path, `ieee1394-0x${id}`);
    w.supportedParent = true;
    return skip(parent, 'scsi');
  }
  // scsi's sysfs has no subsystem for the transport: its name is in the path
  const name = sysPath(parent);
  if (name.includes('/rport-') || name.includes('/end_device-') || name.includes('/session')) {
    w.supportedParent = true;
    if (name.includes('/rport-')) return fibreChannel(parent, w);
    return name.includes('/end_device-') ? sas(parent, w) : iscsi(parent, w);
  }
  if (name.includes('/ata')) return ata(parent, w);
  if (name.includes('/vmbus_')) return hyperv(parent, w, 37);
  if (name.includes('/VMBUS')) return hyperv(parent, w, 38);
  return scsiDefault(parent, w);
}

function cciss(parent: Device, w: Walk): Device | undefined {
  const ids = sscanf(parent.sysname, 'c%ud%u%*s');
  if (ids.length !== 2) return undefined;
  w.path = prepend(w.path, `cciss-disk${ids[1]}`);
  return skip(parent, 'cciss');
}

/** handle_scsi_tape: only for the device itself; C's strchr("lma", c) also matches the string's end. */
function tape(dev: Device, w: Walk): void {
  if (w.path !== undefined) return;
  const n = dev.sysname;
  const mode = (c: string | undefined) => c === undefined || 'lma'.includes(c);
  if (n.startsWith('nst') && mode(n[3])) w.path = `nst${n[3] ?? ''}`;
  else if (n.startsWith('st') && mode(n[2])) w.path = `st${n[2] ?? ''}`;
}

/** handle_usb: the port chain after the bus number, which can change across boots, so written as bus 0. */
function usb(parent: Device, w: Walk): Device {
  if (parent.devtype !== 'usb_interface' && parent.devtype !== 'usb_device') return parent;
  const dash = parent.sysname.indexOf('-');
  if (dash < 0) return parent;
  w.path = prepend(w.path, `usb-0:${parent.sysname.slice(dash + 1)}`);
  return skip(parent, 'usb');
}

function bcma(parent: Device, w: Walk): Device | undefined {
  const ids = sscanf(parent.sysname, 'bcma%*u:%u');
  if (ids.length !== 1) return undefined;
  w.path = prepend(w.path, `bcma-${ids[0]}`);
  return parent;
}

/** The AP bus of IBM Z. */
function ap(parent: Device, w: Walk): Device {
  const type = parent.attr('type');
  const func = parent.attr('ap_functions');
  w.path = prepend(w.path, type !== undefined && func !== undefined ? `ap-${type}-${func}` : `ap-${parent.sysname}`);
  return skip(parent, 'ap');
}

/**
 * With NVMe multipath the disk sits under /devices/virtual/nvme-subsystem: its controller in the "nvme" subsystem
 * (nvme0 for nvme0n1) is the real parent. Undefined for a controller that is itself virtual (NVMe over fabrics).
 */
function nvmeParent(dev: Device): Device | undefined {
  const m = /^nvme\d*/.exec(dev.sysname);
  const ctrl = m ? Device.fromSubsystemSysname('nvme', m[0], dev.root) : undefined;
  return ctrl && !ctrl.devpath.startsWith('/devices/virtual/') ? ctrl : undefined;
}

/** Buses written as `<bus>-<sysname>`: whether each is a supported transport too. */
const named = new Map(Object.entries({ pci: false, platform: true, acpi: false, xen: false, scm: true, ccw: true, ccwgroup: true, iucv: true }));

/** ID_PATH_TAG: the path as a tag name, runs of other characters made one '_', none leading or trailing. */
const tag = (p: string) => p.replace(/[^0-9A-Za-z-]+/g, '_').replace(/^_+|_+$/g, '');

export const pathId: Builtin = (dev) => {
  const w: Walk = { supportedParent: false, supportedTransport: false };
  let other: Device | undefined; // the nvme controller, from another branch of the tree
  for (let parent: Device | undefined = dev; parent; parent = parent.parent()) {
    const subsys = parent.subsystem;
    if (subsys === undefined) continue;
    if (subsys === 'scsi_tape') tape(parent, w);
    else if (subsys === 'scsi') {
      parent = scsi(parent, w);
      w.supportedTransport = true;
    } else if (subsys === 'cciss') {
      parent = cciss(parent, w);
      w.supportedTransport = true;
    } else if (subsys === 'usb') {
      parent = usb(parent, w);
      w.supportedTransport = true;
    } else if (subsys === 'bcma') {
      parent = bcma(parent, w);
      w.supportedTransport = true;
    } else if (subsys === 'serio' || subsys === 'spi') {
      if (parent.sysnum !== undefined) {
        w.path = prepend(w.path, `${subsys === 'serio' ? 'serio' : 'cs'}-${parent.sysnum}`);
        parent = skip(parent, subsys);
      }
    } else if (named.has(subsys)) {
      w.path = prepend(w.path, `${subsys}-${parent.sysname}`);
      if (w.compat !== undefined) w.compat = prepend(w.compat, `${subsys}-${parent.sysname}`);
      parent = skip(parent, subsys);
      w.supportedParent = true;
      if (named.get(subsys)) w.supportedTransport = true;
    } else if (subsys === 'virtio') {
      parent = skip(parent, 'virtio');
      w.supportedTransport = true;
    } else if (subsys === 'ap') {
      parent = ap(parent, w);
      w.supportedTransport = true;
      w.supportedParent = true;
    } else if (subsys === 'nvme' || subsys === 'nvme-subsystem') {
      const nsid = dev.attr('nsid');
      if (nsid !== undefined) {
        w.path = prepend(w.path, `nvme-${nsid}`);
        if (w.compat !== undefined) w.compat = prepend(w.compat, `nvme-${nsid}`);
        if (subsys === 'nvme-subsystem') {
          other = nvmeParent(dev);
          if (!other) return null;
          parent = other;
        }
        parent = skip(parent, 'nvme');
        w.supportedParent = true;
        w.supportedTransport = true;
      }
    }
    if (!parent) break;
  }
  // an unknown parent, or a disk on no known transport, might not give a unique and stable name
  if (w.path === undefined || !w.supportedParent) return null;
  if (dev.subsystem === 'block' && !w.supportedTransport) return null;
  const props: [string, string][] = [
    ['ID_PATH', w.path],
    ['ID_PATH_TAG', tag(w.path)],
  ];
  if (w.compat !== undefined) props.push(['ID_PATH_ATA_COMPAT', w.compat]);
  return props;
};
