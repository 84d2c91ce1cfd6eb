// What `udevadm info` prints (systemd 252, src/udev/udevadm-info.c): a device's record (--query=all) and the walk up
// its parents with every attribute in the rules' key format (--attribute-walk), byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import type { DbRecord } from './db.js';
import type { Device } from './sysfs.js';

/**
 * sd-device's properties in the order it learns them: DEVPATH, SUBSYSTEM, then the uevent's keys (DEVNAME as a
 * /dev path), MAJOR and MINOR last (device_read_uevent_file sets the devnum after the loop), then the database's.
 */
export function deviceProperties(d: Device, db?: DbRecord): [string, string][] {
  const out: [string, string][] = [['DEVPATH', d.devpath]];
  if (d.subsystem !== undefined) out.push(['SUBSYSTEM', d.subsystem]);
  const late: [string, string][] = [];
  for (const [k, v] of d.properties) {
    if (k === 'DEVPATH' || k === 'SUBSYSTEM' || k === 'ACTION' || k === 'SEQNUM') continue;
    if (k === 'MAJOR' || k === 'MINOR') late.push([k, v]);
    else out.push([k, k === 'DEVNAME' ? d.devname! : v]);
  }
  out.push(...late);
  const seen = new Set(out.map(([k]) => k));
  for (const [k, v] of db?.properties ?? []) if (!seen.has(k)) out.push([k, v]);
  return out;
}

/** `udevadm info --query=all`: P: M: R: U: T: D: I: N: L: S: Q: V: E: lines, then a blank line. */
export function formatRecord(d: Device, db?: DbRecord): string {
  const lines = [`P: ${d.devpath}`, `M: ${d.sysname}`];
  if (d.sysnum !== undefined) lines.push(`R: ${d.sysnum}`);
  if (d.subsystem !== undefined) lines.push(`U: ${d.subsystem}`);
  if (d.devtype !== undefined) lines.push(`T: ${d.devtype}`);
  const n = d.devnum;
  if (n) lines.push(`D: ${d.subsystem === 'block' ? 'b' : 'c'} ${n.major}:${n.minor}`);
  if (d.ifindex !== undefined) lines.push(`I: ${d.ifindex}`);
  if (d.devname !== undefined) {
    lines.push(`N: ${d.devname.slice('/dev/'.length)}`, `L: ${db?.linkPriority ?? 0}`);
    for (const link of db?.links ?? []) lines.push(`S: ${link}`);
  }
  const diskseq = d.properties.get('DISKSEQ');
  if (diskseq !== undefined) lines.push(`Q: ${diskseq}`);
  if (d.driver !== undefined) lines.push(`V: ${d.driver}`);
  for (const [k, v] of deviceProperties(d, db)) lines.push(`E: ${k}=${v}`);
  return lines.join('\n') + '\n\n';
}

/** Shown apart, or not at all (skip_attribute). */
const SKIPPED = new Set(['uevent', 'dev', 'modalias', 'resource', 'driver', 'subsystem', 'module']);

/**
 * Every attribute of a device as sd-device lists them (device_sysattrs_read_all): regular files and symlinks with a
 * user read or write bit, in subdirectories too, except those of child devices (a directory with a `uevent` file).
 */
export function attributeNames(d: Device): string[] {
  const names: string[] = [];
  const walk = (sub: string) => {
    const dir = path.join(d.syspath, sub);
    if (sub && fs.existsSync(path.join(dir, 'uevent'))) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const name = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(name);
      else if (e.isFile() || e.isSymbolicLink()) {
        try {
          if (fs.lstatSync(path.join(d.syspath, name)).mode & 0o600) names.push(name);
        } catch {
          // gone since the listing
        }
      }
    }
  };
  walk('');
  return names;
}

/** One attribute's shown value, "(not readable)", or null when udevadm leaves it out. */
function shownValue(d: Device, name: string): string | null {
  const file = path.join(d.syspath, name);
  let raw: string;
  try {
    // sd_device_get_sysattr_value: a symlink other than driver/subsystem/module is not a value.
    if (fs.lstatSync(file).isSymbolicLink()) return null;
    if (!(fs.statSync(file).mode & 0o400)) return '(not readable)';
    raw = fs.readFileSync(file, 'latin1');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? '(not readable)' : null;
  }
  const value = raw.split('\0')[0].replace(/\n+$/, '');
  // A value that looks like a path, or has anything unprintable, is not shown.
  if (value.startsWith('/') || /[^\x20-\x7e]/.test(value)) return null;
  return value;
}

function deviceAttributes(d: Device, parent: boolean): string {
  const k = (own: string, theirs: string) => (parent ? theirs : own);
  const lines = [
    `  looking at ${parent ? 'parent ' : ''}device '${d.devpath}':`,
    `    ${k('KERNEL', 'KERNELS')}=="${d.sysname}"`,
    `    ${k('SUBSYSTEM', 'SUBSYSTEMS')}=="${d.subsystem ?? ''}"`,
    `    ${k('DRIVER', 'DRIVERS')}=="${d.driver ?? ''}"`,
  ];
  const attrs = attributeNames(d)
    .filter((n) => !SKIPPED.has(n))
    .map((n) => [n, shownValue(d, n)] as const)
    .filter((a): a is readonly [string, string] => a[1] !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, value] of attrs) lines.push(`    ${k('ATTR', 'ATTRS')}{${name}}=="${value}"`);
  return (parent ? '\n' : '') + lines.join('\n') + '\n';
}

/** `udevadm info --attribute-walk`. */
export function formatAttributeWalk(d: Device): string {
  let out =
    '\nUdevadm info starts with the device specified by the devpath and then\n' +
    'walks up the chain of parent devices. It prints for every device\n' +
    'found, all possible attributes in the udev rules key format.\n' +
    'A rule to match, can be composed by the attributes of the device\n' +
    'and the attributes from one single parent device.\n\n';
  let parent = false;
  for (const dev of d.chain()) {
    out += deviceAttributes(dev, parent);
    parent = true;
  }
  return out + '\n';
}
