// The device database in udev's layout, so libudev, udevadm and systemd read it unchanged (systemd 252,
// src/libsystemd/sd-device/device-private.c device_update_db / sd-device.c device_read_db_internal_filename):
// `<root>/data/<id>` holds, in this order, `S:<link relative to /dev>` and `L:<link priority>` (devices with a devnum
// only), `I:<usec initialized>`, `E:KEY=VALUE` (properties set by rules, not those starting with '.'), `G:<tag>`,
// `Q:<current tag>`, `V:1`; an empty file for a device with a devnum or an ifindex and nothing else to say; no file
// for any other device with nothing to say. Each tag also gets an empty file `<root>/tags/<tag>/<id>`. Files are
// replaced whole (temp + rename), mode 0644 (01644 with db_persist, the sticky bit udev uses to keep them past the
// initrd). The id is `b8:0`/`c1:3` (devnum), `n3` (ifindex) or `+subsystem:sysname`.
import fs from 'node:fs';
import path from 'node:path';
import type { Device } from './sysfs.js';
import { writeAtomic } from '../reconciler/state.js';

export interface DbRecord {
  /** Symlinks in /dev, relative to /dev (`disk/by-id/...`). */
  links: string[];
  linkPriority: number;
  /** CLOCK_MONOTONIC microseconds when the device was first processed. */
  usecInitialized?: number;
  properties: [string, string][];
  /** Every tag the device ever had (G:). */
  tags: string[];
  /** The tags of the last event (Q:). */
  currentTags: string[];
  /** OPTIONS+="db_persist". */
  persist?: boolean;
}

/** The database version udev 247+ writes (LATEST_UDEV_DATABASE_VERSION). */
const VERSION = 1;

/** sd_device_get_device_id: the name of the device's db and tag files. */
export function deviceId(d: Device): string {
  const num = d.devnum;
  if (num && num.major > 0) return `${d.subsystem === 'block' ? 'b' : 'c'}${num.major}:${num.minor}`;
  const ifindex = d.ifindex;
  if (ifindex) return `n${ifindex}`;
  const subsystem = d.subsystem;
  if (!subsystem) throw new Error(`${d.devpath}: a device without devnum, ifindex or subsystem has no database id`);
  // The id keeps the kernel's '!' (sd-device takes the devpath's last component as it is).
  const name = path.basename(d.devpath);
  // A driver's id names its bus too, as sd-device's driver_subsystem does (/bus/<bus>/drivers/<name>).
  if (subsystem === 'drivers') return `+drivers:${d.devpath.split('/')[2]}:${name}`;
  return `+${subsystem}:${name}`;
}

/** The db text of a record; null when udev would write no file at all. */
export function formatRecord(id: string, r: DbRecord): string | null {
  const devnum = id.startsWith('b') || id.startsWith('c');
  const props = r.properties.filter(([k]) => !k.startsWith('.'));
  const info = r.links.length > 0 || r.linkPriority !== 0 || props.length > 0 || r.tags.length > 0 || r.currentTags.length > 0;
  if (!info) return devnum || id.startsWith('n') ? '' : null;
  const lines: string[] = [];
  if (devnum) {
    for (const l of r.links) lines.push(`S:${l}`);
    if (r.linkPriority !== 0) lines.push(`L:${r.linkPriority}`);
  }
  if (r.usecInitialized) lines.push(`I:${r.usecInitialized}`);
  for (const [k, v] of props) lines.push(`E:${k}=${v}`);
  for (const t of r.tags) lines.push(`G:${t}`);
  for (const t of r.currentTags) lines.push(`Q:${t}`);
  lines.push(`V:${VERSION}`);
  return lines.join('\n') + '\n';
}

/** Parses db text as sd-device does: `<char>:<value>` lines, unknown keys (the obsolete W:) ignored. */
export function parseRecord(text: string): DbRecord {
  const r: DbRecord = { links: [], linkPriority: 0, properties: [], tags: [], currentTags: [] };
  for (const line of text.split('\n')) {
    if (line.length < 2 || line[1] !== ':') continue;
    const v = line.slice(2);
    switch (line[0]) {
      case 'S':
        r.links.push(v);
        break;
      case 'L':
        r.linkPriority = Number.parseInt(v, 10) || 0;
        break;
      case 'I':
        r.usecInitialized = Number(v);
        break;
      case 'E': {
        const eq = v.indexOf('=');
        if (eq > 0) r.properties.push([v.slice(0, eq), v.slice(eq + 1)]);
        break;
      }
      case 'G':
        r.tags.push(v);
        break;
      case 'Q':
        r.currentTags.push(v);
        break;
    }
  }
  return r;
}

/** Where devmaster keeps its database, control socket and queue: DEVMASTER_RUN_DIR, for tests and second instances. */
export const runDir = (env: NodeJS.ProcessEnv = process.env): string => env.DEVMASTER_RUN_DIR || '/run/devmaster';

export class DeviceDb {
  /** `root` is /run/devmaster outside tests; see exposeToUdevTools for /run/udev. */
  constructor(readonly root = '/run/devmaster') {}

  file(id: string): string {
    return path.join(this.root, 'data', id);
  }

  read(id: string): DbRecord | undefined {
    try {
      return parseRecord(fs.readFileSync(this.file(id), 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Replaces the record and the tag index: tags the old record had and this one lacks lose their files. */
  write(id: string, r: DbRecord): void {
    const old = this.read(id);
    const text = formatRecord(id, r);
    if (text === null) {
      this.remove(id);
      return;
    }
    const file = this.file(id);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    // World-readable: tools read the db as any user.
    writeAtomic(file, text, r.persist ? 0o1644 : 0o644);
    for (const t of old?.tags ?? []) if (!r.tags.includes(t)) this.untag(t, id);
    for (const t of r.tags) {
      const tagFile = path.join(this.root, 'tags', t, id);
      fs.mkdirSync(path.dirname(tagFile), { recursive: true, mode: 0o755 });
      fs.closeSync(fs.openSync(tagFile, 'a', 0o444));
    }
  }

  /** Drops the record and its tag files (a removed device). */
  remove(id: string): void {
    for (const t of this.read(id)?.tags ?? []) this.untag(t, id);
    fs.rmSync(this.file(id), { force: true });
  }

  private untag(tag: string, id: string): void {
    fs.rmSync(path.join(this.root, 'tags', tag, id), { force: true });
  }
}

/**
 * Makes `<udev>/data` and `<udev>/tags` symlinks to this database, where libudev and udevadm look. Refuses when they
 * are real directories: udevd owns them then, and two managers must not share one machine.
 */
export function exposeToUdevTools(db: DeviceDb, udev = '/run/udev'): void {
  fs.mkdirSync(udev, { recursive: true, mode: 0o755 });
  for (const sub of ['data', 'tags']) {
    const target = path.join(db.root, sub);
    const link = path.join(udev, sub);
    fs.mkdirSync(target, { recursive: true, mode: 0o755 });
    let current: string | undefined;
    try {
      current = fs.readlinkSync(link);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINVAL') throw new Error(`${link} is a real directory (is udevd running?); stop udevd or remove ${link}`);
      if (code !== 'ENOENT') throw e;
    }
    if (current === target) continue;
    if (current !== undefined) fs.rmSync(link);
    fs.symlinkSync(target, link);
  }
}
