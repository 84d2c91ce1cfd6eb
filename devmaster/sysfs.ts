// A device as libudev's sd-device sees it (systemd 252, src/libsystemd/sd-device/sd-device.c): made from a sysfs path
// or from a kernel uevent, with the kernel's view of it (devpath, subsystem, devtype, driver, sysname, sysnum, devnum,
// devname, ifindex, the `uevent` properties), its attributes read lazily and cached, and its parents. The rules
// engine matches KERNEL(S)/SUBSYSTEM(S)/DRIVER(S)/ATTR(S) against these. The sysfs root is a parameter so tests can
// use a fake tree.
import fs from 'node:fs';
import path from 'node:path';
import type { Uevent } from './uevents.js';

export interface Devnum {
  major: number;
  minor: number;
}

/** Symlinks whose target's name is the attribute's value (sd_device_get_sysattr_value). */
const LINK_ATTRS = new Set(['driver', 'subsystem', 'module']);

export class Device {
  private readonly attrs = new Map<string, string | undefined>();
  private uevent?: Map<string, string>;
  /** null: looked for, none. */
  private parentDevice?: Device | null;

  private constructor(
    /** The sysfs mount, `/sys` outside tests. */
    readonly root: string,
    /** The kernel's name for the device, relative to the root: `/devices/virtual/net/lo`. */
    readonly devpath: string,
    /** The uevent's properties, when the device came from one: they replace the `uevent` file. */
    event?: Record<string, string>,
  ) {
    if (event) this.uevent = new Map(Object.entries(event));
  }

  /** `path` is under `root` (`/sys/devices/...`, or `/sys/class/net/lo`, resolved through symlinks). */
  static fromSyspath(syspath: string, root = '/sys'): Device {
    let real: string;
    try {
      real = fs.realpathSync(syspath);
    } catch (e) {
      throw new Error(`${syspath}: no such device in sysfs (${(e as NodeJS.ErrnoException).code}); give a path under ${root}`);
    }
    const top = fs.realpathSync(root);
    const rel = path.relative(top, real);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new Error(`${syspath}: resolves to ${real}, outside the sysfs root ${root}; give a path under ${root}`);
    }
    // sd-device (device_set_syspath with verify) only takes directories with a `uevent` file under /sys/devices.
    if (!fs.existsSync(path.join(real, 'uevent'))) {
      throw new Error(`${syspath}: ${real} has no uevent file, so it is not a device; give a device directory`);
    }
    return new Device(top, `/${rel}`, undefined);
  }

  /** A device from a kernel uevent: its properties come from the event, attributes and parents from sysfs. */
  static fromUevent(ev: Pick<Uevent, 'devpath' | 'properties'>, root = '/sys'): Device {
    if (!ev.devpath.startsWith('/')) throw new Error(`uevent DEVPATH '${ev.devpath}': expected a path starting with '/'`);
    return new Device(root, ev.devpath, ev.properties);
  }

  get syspath(): string {
    return path.join(this.root, this.devpath);
  }

  /** The `uevent` file's KEY=VALUE lines (or the event's), as the kernel wrote them: DEVNAME is relative to /dev. */
  get properties(): ReadonlyMap<string, string> {
    if (!this.uevent) {
      this.uevent = new Map();
      const text = this.read('uevent') ?? '';
      for (const line of text.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) this.uevent.set(line.slice(0, eq), line.slice(eq + 1));
      }
    }
    return this.uevent;
  }

  /** The `subsystem` link's name; without one, what sd_device_get_subsystem derives from where the path is. */
  get subsystem(): string | undefined {
    const s = this.properties.get('SUBSYSTEM') ?? this.linkName('subsystem');
    if (s !== undefined) return s;
    if (this.devpath.startsWith('/module/')) return 'module';
    if (this.devpath.includes('/drivers/') || this.devpath.endsWith('/drivers')) return 'drivers';
    if (this.devpath.startsWith('/class/') || this.devpath.startsWith('/bus/')) return 'subsystem';
    return undefined;
  }

  get devtype(): string | undefined {
    return this.properties.get('DEVTYPE');
  }

  get driver(): string | undefined {
    return this.properties.get('DRIVER') ?? this.linkName('driver');
  }

  /** The last devpath component, with the kernel's '!' for '/' turned back (block/cciss!c0d0 → cciss/c0d0). */
  get sysname(): string {
    return path.basename(this.devpath).replaceAll('!', '/');
  }

  /** The sysname's trailing digits (sda1 → 1); none for a name that is all digits, as sd-device does. */
  get sysnum(): string | undefined {
    const m = /\d+$/.exec(this.sysname);
    return m && m[0].length < this.sysname.length ? m[0] : undefined;
  }

  /** MAJOR/MINOR of the uevent, else the `dev` attribute ("1:3"). */
  get devnum(): Devnum | undefined {
    const major = this.properties.get('MAJOR');
    const minor = this.properties.get('MINOR');
    if (major !== undefined && minor !== undefined) return { major: Number(major), minor: Number(minor) };
    const m = /^(\d+):(\d+)$/.exec(this.attr('dev') ?? '');
    return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
  }

  /** `/dev/` + DEVNAME. */
  get devname(): string | undefined {
    const name = this.properties.get('DEVNAME');
    if (name === undefined) return undefined;
    return name.startsWith('/dev/') ? name : `/dev/${name}`;
  }

  get ifindex(): number | undefined {
    const v = this.properties.get('IFINDEX');
    return v !== undefined && /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : undefined;
  }

  /**
   * A sysfs attribute (a file relative to the device, `queue/rotational` allowed) with its trailing newlines dropped,
   * as udev reads it; `driver`/`subsystem`/`module` links give the target's name. Unreadable → undefined. Cached, as
   * sd-device caches, so one event sees one value.
   */
  attr(name: string): string | undefined {
    if (this.attrs.has(name)) return this.attrs.get(name);
    const v = LINK_ATTRS.has(name) ? this.linkName(name) : this.read(name)?.replace(/[\n\r]+$/, '');
    this.attrs.set(name, v);
    return v;
  }

  /**
   * The nearest ancestor directory that is a device (has a `uevent` file), as sd_device_get_parent walks; found once
   * and kept, as sd-device keeps it, so one event's rules and builtins share the parents and their attributes.
   */
  parent(): Device | undefined {
    if (this.parentDevice !== undefined) return this.parentDevice ?? undefined;
    this.parentDevice = null;
    for (let dir = path.dirname(this.devpath); dir !== '/' && dir !== '.'; dir = path.dirname(dir)) {
      if (fs.existsSync(path.join(this.root, dir, 'uevent'))) {
        this.parentDevice = new Device(this.root, dir, undefined);
        break;
      }
    }
    return this.parentDevice ?? undefined;
  }

  /** The device, then each parent up to the top: what KERNELS/SUBSYSTEMS/DRIVERS/ATTRS try in turn. */
  *chain(): Generator<Device> {
    for (let d: Device | undefined = this; d; d = d.parent()) yield d;
  }

  /** sd_device_get_parent_with_subsystem_devtype: the nearest ancestor (never the device itself) that matches. */
  parentWith(subsystem: string, devtype?: string): Device | undefined {
    for (let d = this.parent(); d; d = d.parent()) {
      if (d.subsystem === subsystem && (devtype === undefined || d.devtype === devtype)) return d;
    }
    return undefined;
  }

  /** sd_device_new_child: the device at `name` below this one (`physfn`, `of_node`), links followed. */
  child(name: string): Device | undefined {
    return Device.find(path.join(this.syspath, name), this.root);
  }

  /**
   * sd_device_new_from_syspath without throwing, with sd-device's own test: below /devices a device needs a `uevent`
   * file, elsewhere (/bus/pci, /firmware/devicetree/...) any directory is one.
   */
  static find(syspath: string, root = '/sys'): Device | undefined {
    try {
      const real = fs.realpathSync(syspath);
      const top = fs.realpathSync(root);
      const rel = path.relative(top, real);
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
      const ok = rel.startsWith('devices/') ? fs.existsSync(path.join(real, 'uevent')) : fs.statSync(real).isDirectory();
      return ok ? new Device(top, `/${rel}`) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * sd_device_new_from_subsystem_sysname: /sys/bus/S/devices/NAME, /sys/class/S/NAME, then /sys/firmware/S/NAME
   * (and the "subsystem", "module" and "drivers" pseudo-subsystems). The first path that exists decides.
   */
  static fromSubsystemSysname(subsystem: string, sysname: string, root = '/sys'): Device | undefined {
    const bad = (p: string) => p === '' || p.split('/').some((c) => c === '.' || c === '..');
    if (bad(subsystem) || bad(sysname)) return undefined;
    const name = sysname.replaceAll('/', '!');
    const tries: string[] = [];
    if (subsystem === 'subsystem') tries.push(`bus/${name}`, `class/${name}`);
    else if (subsystem === 'module') tries.push(`module/${name}`);
    else if (subsystem === 'drivers') {
      const m = /^([^:]*):(.+)$/.exec(name);
      if (m) tries.push(m[2] === 'drivers' ? `bus/${m[1]}/drivers` : `bus/${m[1]}/drivers/${m[2]}`);
    }
    tries.push(`bus/${subsystem}/devices/${name}`, `class/${subsystem}/${name}`, `firmware/${subsystem}/${name}`);
    const hit = tries.map((p) => path.join(root, p)).find((p) => fs.existsSync(p));
    return hit === undefined ? undefined : Device.find(hit, root);
  }

  /**
   * sd_device_new_from_device_id: the device a database or tag file name (db.ts deviceId) stands for, if it is still
   * there: `b8:0`/`c1:3` through /sys/dev, `n3` the network interface with that ifindex, `+subsystem:sysname`.
   */
  static fromDeviceId(id: string, root = '/sys'): Device | undefined {
    const num = /^([bc])(\d+):(\d+)$/.exec(id);
    if (num) return Device.find(path.join(root, 'dev', num[1] === 'b' ? 'block' : 'char', `${num[2]}:${num[3]}`), root);
    const ifindex = /^n(\d+)$/.exec(id);
    if (ifindex) {
      let names: string[];
      try {
        names = fs.readdirSync(path.join(root, 'class/net'));
      } catch {
        return undefined;
      }
      // What if_indextoname() answers, read where sd_device_new_from_ifindex checks it.
      return names.map((n) => Device.find(path.join(root, 'class/net', n), root)).find((d) => d?.ifindex === Number(ifindex[1]));
    }
    const sub = /^\+([^:]+):(.+)$/.exec(id);
    return sub ? Device.fromSubsystemSysname(sub[1], sub[2], root) : undefined;
  }

  /** sd_device_new_from_devname: the device whose node `/dev/...` is, or a symlink to it resolves to; else undefined. */
  static fromDevname(devname: string, root = '/sys'): Device | undefined {
    let st: fs.BigIntStats;
    try {
      st = fs.statSync(devname, { bigint: true });
    } catch {
      return undefined;
    }
    if (!st.isBlockDevice() && !st.isCharacterDevice()) return undefined;
    // glibc's gnu_dev_major()/gnu_dev_minor() of the 64-bit dev_t.
    const major = ((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & ~0xfffn);
    const minor = (st.rdev & 0xffn) | ((st.rdev >> 12n) & ~0xffn);
    return Device.fromDeviceId(`${st.isBlockDevice() ? 'b' : 'c'}${major}:${minor}`, root);
  }

  private read(name: string): string | undefined {
    try {
      return fs.readFileSync(path.join(this.syspath, name), 'utf8');
    } catch {
      return undefined;
    }
  }

  private linkName(name: string): string | undefined {
    try {
      return path.basename(fs.readlinkSync(path.join(this.syspath, name)));
    } catch {
      return undefined;
    }
  }
}
