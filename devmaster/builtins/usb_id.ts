// usb_id: ID_VENDOR, ID_MODEL, ID_SERIAL, ID_USB_INTERFACES... of the USB device a device hangs off, as udev 252's
// src/udev/udev-builtin-usb_id.c makes them: the SCSI inquiry strings for mass storage (SCSI or ATAPI), otherwise the
// USB strings, otherwise the vendor and product numbers.
import fs from 'node:fs';
import path from 'node:path';
import type { Device } from '../sysfs.js';
import { atoi, atou, encodeDevnodeName, replaceChars, replaceWhitespace, sscanf } from './cstr.js';
import type { Builtin } from './index.js';

const USB_IFTYPES: Record<number, string> = { 1: 'audio', 3: 'hid', 6: 'media', 7: 'printer', 9: 'hub', 0x0e: 'video' };
const STORAGE_TYPES: Record<number, string> = { 1: 'rbc', 2: 'atapi', 3: 'tape', 4: 'floppy', 6: 'scsi' };
const SCSI_TYPES: Record<number, string> = { 0: 'disk', 0x0e: 'disk', 1: 'tape', 4: 'optical', 7: 'optical', 0x0f: 'optical', 5: 'cd' };

/** A name cleaned as usb_id cleans it into a char[64] (or larger) buffer: whitespace runs to '_', the rest replaced. */
const clean = (s: string, size = 64) => replaceChars(replaceWhitespace(s, size - 1));

/**
 * dev_if_packed_info: ":CCSSPP:" for each distinct interface (class, subclass, protocol) in the device's raw
 * descriptors. On a descriptor that overruns the data C stops there and keeps what it had, without the closing ':'.
 */
function interfaces(dev: Device): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path.join(dev.syspath, 'descriptors')).subarray(0, 18 + 65535);
  } catch {
    return '';
  }
  if (buf.length < 18) return '';
  const hex = (b: number) => b.toString(16).padStart(2, '0');
  let s = '';
  for (let pos = 0; pos + 9 < buf.length && s.length + 7 < 512 - 2; ) {
    const len = buf[pos];
    if (len < 3) break;
    if (len > buf.length - 9) return s;
    const at = pos;
    pos += len;
    if (buf[at + 1] !== 0x04) continue; // USB_DT_INTERFACE
    const one = `:${hex(buf[at + 5])}${hex(buf[at + 6])}${hex(buf[at + 7])}`;
    if (!s.includes(one)) s += one;
  }
  return s && `${s}:`;
}

/** What the SCSI device of a mass-storage interface tells; the fields found before a missing one are kept. */
interface Scsi {
  vendor?: string;
  vendorEnc?: string;
  model?: string;
  modelEnc?: string;
  type?: string;
  revision?: string;
  instance?: string;
}

function scsi(dev: Device, into: Scsi): void {
  const sdev = dev.parentWith('scsi', 'scsi_device');
  const ids = sdev ? (sscanf(sdev.sysname, '%d:%d:%d:%d') as number[]) : [];
  if (!sdev || ids.length !== 4) return;
  const vendor = sdev.attr('vendor');
  if (vendor === undefined) return;
  into.vendorEnc = encodeDevnodeName(vendor);
  into.vendor = clean(vendor);
  const model = sdev.attr('model');
  if (model === undefined) return;
  into.modelEnc = encodeDevnodeName(model);
  into.model = clean(model);
  const type = sdev.attr('type');
  if (type === undefined) return;
  const n = atou(type);
  into.type = (n !== undefined && SCSI_TYPES[Number(n)]) || 'generic';
  const rev = sdev.attr('rev');
  if (rev === undefined) return;
  into.revision = clean(rev);
  // some broken devices have the same identifiers for all LUNs
  into.instance = `${ids[2]}:${ids[3]}`;
}

export const usbId: Builtin = (dev) => {
  let usb: Device | undefined;
  let ifnum: string | undefined;
  let driver: string | undefined;
  const s: Scsi = {};
  if (dev.devtype === 'usb_device') usb = dev;
  else {
    const intf = dev.parentWith('usb', 'usb_interface');
    const cls = intf?.attr('bInterfaceClass');
    const num = cls === undefined ? undefined : atou(cls, 16);
    if (!intf || num === undefined) return null;
    ifnum = intf.attr('bInterfaceNumber');
    driver = intf.attr('driver');
    let protocol = 0;
    if (num === 8n) {
      const sub = intf.attr('bInterfaceSubClass');
      if (sub !== undefined) {
        protocol = atoi(sub) ?? 0; // base 0, as udev parses it: "06" is octal 6, and "0a" is no number
        s.type = STORAGE_TYPES[protocol] ?? 'generic';
      }
    } else s.type = USB_IFTYPES[Number(num)] ?? 'generic';
    usb = intf.parentWith('usb', 'usb_device');
    if (!usb) return null;
    if (protocol === 6 || protocol === 2) scsi(dev, s);
  }
  const packed = interfaces(usb);
  const vendorId = usb.attr('idVendor');
  const productId = usb.attr('idProduct');
  if (vendorId === undefined || productId === undefined) return null;

  let { vendor, vendorEnc, model, modelEnc, revision } = s;
  if (!vendor) {
    const v = usb.attr('manufacturer') ?? vendorId;
    vendorEnc = encodeDevnodeName(v);
    vendor = clean(v);
  }
  if (!model) {
    const m = usb.attr('product') ?? productId;
    modelEnc = encodeDevnodeName(m);
    model = clean(m);
  }
  if (!revision) {
    const r = usb.attr('bcdDevice');
    revision = r === undefined ? '' : clean(r);
  }
  // a serial with control characters, non-ASCII or ',' is none (Microsoft's rules for USB serial numbers)
  const raw = usb.attr('serial')?.split('\0')[0];
  const serialShort = raw === undefined || /[^\x20-\x7f]|,/.test(raw) ? '' : clean(raw, 512);
  let serial = `${vendor}_${model}`;
  if (serialShort) serial += `_${serialShort}`;
  if (s.instance) serial += `-${s.instance}`;
  serial = Buffer.from(serial).subarray(0, 255).toString(); // char serial[256]

  const props: [string, string][] = [];
  const add = (k: string, v: string | undefined) => v && props.push([k, v]);
  const both = (plain: boolean) => {
    const p = plain ? 'ID_' : 'ID_USB_';
    props.push([`${p}MODEL`, model!], [`${p}MODEL_ENC`, modelEnc!], [`${p}MODEL_ID`, productId], [`${p}SERIAL`, serial]);
    add(`${p}SERIAL_SHORT`, serialShort);
    props.push([`${p}VENDOR`, vendor!], [`${p}VENDOR_ENC`, vendorEnc!], [`${p}VENDOR_ID`, vendorId], [`${p}REVISION`, revision!]);
    add(`${p}TYPE`, s.type);
    add(`${p}INSTANCE`, s.instance);
  };
  // with ID_BUS already set (by ata_id or scsi_id, say) only the ID_USB_ names are set
  if (!dev.properties.has('ID_BUS')) {
    props.push(['ID_BUS', 'usb']);
    both(true);
  }
  both(false);
  add('ID_USB_INTERFACES', packed);
  if (ifnum !== undefined) props.push(['ID_USB_INTERFACE_NUM', ifnum]);
  if (driver !== undefined) props.push(['ID_USB_DRIVER', driver]);
  return props;
};
