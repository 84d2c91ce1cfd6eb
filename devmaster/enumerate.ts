// Every device in sysfs, as sd-device's enumerator finds them for `udevadm trigger`, and the request that makes the
// kernel send an event for one: the entries of
// /sys/bus/*/devices and /sys/class/* (and /sys/block on kernels without /sys/class/block), each resolved to its
// /sys/devices directory once, sorted by path. `subsystems` lists the subsystems themselves (/sys/bus/*,
// /sys/class/*) and their drivers, as `--type=subsystems` does. Filters are fnmatch patterns, like udevadm's.
import fs from 'node:fs';
import path from 'node:path';
import { segmentRegex } from '../specs/glob.js';
import { Device } from './sysfs.js';

export interface DeviceFilter {
  subsystem?: string[];
  subsystemNot?: string[];
  sysname?: string[];
}

const list = (dir: string) => {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
};

function matcher(f: DeviceFilter): (d: Device) => boolean {
  const re = (ps?: string[]) => ps?.map(segmentRegex);
  const [sub, notSub, name] = [re(f.subsystem), re(f.subsystemNot), re(f.sysname)];
  return (d) => {
    const s = d.subsystem ?? '';
    if (sub?.length && !sub.some((r) => r.test(s))) return false;
    if (notSub?.some((r) => r.test(s))) return false;
    return !name?.length || name.some((r) => r.test(d.sysname));
  };
}

export function enumerate(type: 'devices' | 'subsystems', filter: DeviceFilter = {}, root = '/sys'): Device[] {
  const dirs: string[] = [];
  if (type === 'devices') {
    for (const bus of list(path.join(root, 'bus'))) for (const d of list(path.join(root, 'bus', bus, 'devices'))) dirs.push(path.join(root, 'bus', bus, 'devices', d));
    for (const cls of list(path.join(root, 'class'))) for (const d of list(path.join(root, 'class', cls))) dirs.push(path.join(root, 'class', cls, d));
    if (!fs.existsSync(path.join(root, 'class/block'))) for (const d of list(path.join(root, 'block'))) dirs.push(path.join(root, 'block', d));
  } else {
    for (const bus of list(path.join(root, 'bus'))) {
      dirs.push(path.join(root, 'bus', bus));
      for (const drv of list(path.join(root, 'bus', bus, 'drivers'))) dirs.push(path.join(root, 'bus', bus, 'drivers', drv));
    }
    for (const cls of list(path.join(root, 'class'))) dirs.push(path.join(root, 'class', cls));
  }
  const keep = matcher(filter);
  const seen = new Map<string, Device>();
  for (const dir of dirs) {
    let d: Device;
    try {
      d = Device.fromSyspath(dir, root);
    } catch {
      continue; // not a device (no uevent file), or gone meanwhile
    }
    if (!seen.has(d.devpath) && keep(d)) seen.set(d.devpath, d);
  }
  return [...seen.values()].sort((a, b) => (a.devpath < b.devpath ? -1 : a.devpath > b.devpath ? 1 : 0));
}

/**
 * Asks the kernel for an event of the device by writing ACTION (and a SYNTH_UUID) to its uevent file: true when
 * asked; false for a device that went away or takes no synthetic events (no failure: udevadm skips them); otherwise
 * the error.
 */
export function requestEvent(d: Device, action: string, uuid?: string): boolean | string {
  try {
    fs.writeFileSync(path.join(d.syspath, 'uevent'), uuid ? `${action} ${uuid}` : action);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'EINVAL') return false;
    return `${d.syspath}/uevent: ${(e as Error).message}`;
  }
}
