// Processed events on netlink group 2 in libudev's format (systemd 252, sd-device/device-monitor.c), so libudev
// listeners, `udevadm monitor --udev` and the core all read what devmaster broadcasts. A message is a 40-byte header
// ("libudev\0", magic 0xfeedcafe and the hashes big-endian for the receivers' BPF filters, sizes in host order)
// followed by the properties as KEY=VALUE\0 strings.
import { NetlinkListener, NetlinkSender, UDEV_GROUP } from './netlink.js';

const PREFIX = Buffer.from('libudev\0');
const MAGIC = 0xfeedcafe;
const HEADER = 40;

/** MurmurHash2, 32 bits, seed 0, over the UTF-8 bytes: what udev's filters hash subsystems and tags with. */
export function murmur2(s: string): number {
  const data = Buffer.from(s);
  const m = 0x5bd1e995;
  let len = data.length;
  let h = len >>> 0;
  let i = 0;
  for (; len >= 4; i += 4, len -= 4) {
    let k = data.readUInt32LE(i);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  if (len === 3) h ^= data[i + 2] << 16;
  if (len >= 2) h ^= data[i + 1] << 8;
  if (len >= 1) h = Math.imul(h ^ data[i], m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h >>> 0;
}

/** udev's string_bloom64: four bits of the tag's hash set in a 64-bit field. */
export function bloom64(tag: string): bigint {
  const h = murmur2(tag);
  let bits = 0n;
  for (const shift of [0, 6, 12, 18]) bits |= 1n << BigInt((h >>> shift) & 63);
  return bits;
}

/**
 * A processed event's message. `properties` must hold ACTION, DEVPATH, SUBSYSTEM and a SEQNUM above 0, or receivers
 * drop it; TAGS lists the tags for the bloom filter.
 */
export function encodeMonitorMessage(properties: ReadonlyMap<string, string>): Buffer {
  const body = Buffer.from([...properties].map(([k, v]) => `${k}=${v}\0`).join(''));
  const head = Buffer.alloc(HEADER);
  PREFIX.copy(head, 0);
  head.writeUInt32BE(MAGIC, 8);
  head.writeUInt32LE(HEADER, 12);
  head.writeUInt32LE(HEADER, 16);
  head.writeUInt32LE(body.length, 20);
  head.writeUInt32BE(murmur2(properties.get('SUBSYSTEM') ?? ''), 24);
  const devtype = properties.get('DEVTYPE');
  if (devtype !== undefined) head.writeUInt32BE(murmur2(devtype), 28);
  let bloom = 0n;
  for (const tag of (properties.get('TAGS') ?? '').split(':').filter(Boolean)) bloom |= bloom64(tag);
  head.writeUInt32BE(Number(bloom >> 32n), 32);
  head.writeUInt32BE(Number(bloom & 0xffffffffn), 36);
  return Buffer.concat([head, body]);
}

/** The properties of a libudev message, or null for anything else (a kernel uevent, a bad header). */
export function decodeMonitorMessage(message: Buffer): Map<string, string> | null {
  if (message.length < HEADER || !message.subarray(0, 8).equals(PREFIX) || message.readUInt32BE(8) !== MAGIC) return null;
  const off = message.readUInt32LE(16);
  const len = message.readUInt32LE(20);
  if (off < HEADER || off + len > message.length) return null;
  const props = new Map<string, string>();
  for (const p of message.subarray(off, off + len).toString('utf8').split('\0')) {
    const eq = p.indexOf('=');
    if (eq > 0) props.set(p.slice(0, eq), p.slice(eq + 1));
  }
  // What sd-device's device_verify() requires of a received device; SEQNUM 0 is refused there too.
  const complete = ['ACTION', 'DEVPATH', 'SUBSYSTEM'].every((k) => props.has(k)) && Number(props.get('SEQNUM')) > 0;
  return complete ? props : null;
}

/** Processed events from any device manager on this machine (the kernel's own pid 0 never sends to this group). */
export class MonitorListener {
  private readonly socket: NetlinkListener;

  constructor(onEvent: (properties: Map<string, string>) => void, onOverflow?: () => void) {
    this.socket = new NetlinkListener(
      UDEV_GROUP,
      (message, sender) => {
        const props = sender !== 0 ? decodeMonitorMessage(message) : null;
        if (props) onEvent(props);
      },
      onOverflow,
    );
  }

  close(): void {
    this.socket.close();
  }
}

export class MonitorSender {
  private readonly socket = new NetlinkSender();

  send(properties: ReadonlyMap<string, string>): void {
    this.socket.send(UDEV_GROUP, encodeMonitorMessage(properties));
  }

  close(): void {
    this.socket.close();
  }
}
