// The device row of the unit-type registry, and its effects (systemd's src/core/device.c): the events devmaster
// broadcasts once it has processed a device (netlink group 2, devmaster/monitor.ts) plug and unplug device units,
// and its database (devmaster/db.ts) says what is there when the core starts. A device tagged `systemd`, or one
// that a unit of the spec names, is a unit under each of its names: its /sys path, its node, each /dev link, its
// network interface and each SYSTEMD_ALIAS; a name no spec defines is a transient unit, forgotten when the device
// goes. docs/device.md.
import fs from 'node:fs';
import path from 'node:path';
import type { AnyMachineSnapshot } from 'xstate';
import { deviceId, DeviceDb, runDir, type DbRecord } from '../devmaster/db.js';
import { deviceProperties } from '../devmaster/info.js';
import { MonitorListener } from '../devmaster/monitor.js';
import { Device } from '../devmaster/sysfs.js';
import { DEVICE_ACTIVE, deviceMachine, type DeviceContext, type PullInParams } from '../machines/device.js';
import type { ActiveState } from '../machines/types.js';
import { deviceKeys } from '../specs/keys/device.js';
import { unitKeys } from '../specs/keys.js';
import { mangleUnitName } from '../specs/names.js';
import { isUnitName } from '../specs/systemd/lookup.js';
import type { UnitSpec } from '../specs/types.js';
import { escapePath, pathUnitName, unescapePath } from '../specs/unitname.js';
import type { TypeEffects, UnitRuntime } from './runtime.js';
import { flatStates } from './states.js';
import type { UnitType } from './types.js';

export const device: UnitType = {
  name: 'device',
  keys: deviceKeys,
  machine: deviceMachine,
  ...flatStates(DEVICE_ACTIVE),
  canReload: () => false,
  liveKeys: ['Description'],
  effects: deviceEffects,
  // Nothing the manager could undo: its exit leaves devices as they are, and a stop job leaves a plugged one.
  keepOnExit: () => true,
  unstoppable: (snapshot) => (snapshot as AnyMachineSnapshot).value === 'plugged',
};

/** What one event (or a look at the database) says of a device. */
export interface DeviceView {
  /** `/sys` + DEVPATH: the device's identity. */
  sysfs: string;
  /** Tagged `systemd` now (CURRENT_TAGS, else TAGS). */
  tagged: boolean;
  /** Neither removed nor SYSTEMD_READY=0. */
  ready: boolean;
  /** Its unit names, each with the path it is named after; the /sys one (the main unit) first. */
  units: Map<string, string>;
  /** SYSTEMD_WANTS, as written: for the main unit only, as systemd reads it. */
  wants: string[];
  /** systemd's description of a device: its model (and label), else the unit's path. */
  model: string | undefined;
}

/** udev's list properties: words, quotes around one dropped, backslashes kept (EXTRACT_UNQUOTE|RETAIN_ESCAPE). */
const words = (v: string | undefined): string[] => (v ?? '').split(/\s+/).filter(Boolean).map((w) => w.replace(/^(["'])(.*)\1$/, '$2'));

/** systemd's parse_boolean() false values: SYSTEMD_READY=0 and the like make a device not ready. */
const FALSE = new Set(['0', 'no', 'n', 'false', 'f', 'off']);

/**
 * A device's units from its properties (systemd's device_setup_units()). `owns(link)`: whether a /dev link is the
 * device's own (two devices may claim one link: the one the link points to wins, as systemd checks by devnum).
 */
export function viewDevice(props: ReadonlyMap<string, string>, owns: (link: string) => boolean = () => true): DeviceView {
  const sysfs = `/sys${props.get('DEVPATH') ?? ''}`;
  const tags = props.get('CURRENT_TAGS') ?? props.get('TAGS') ?? '';
  const ready = props.get('ACTION') !== 'remove' && !FALSE.has((props.get('SYSTEMD_READY') ?? '').toLowerCase());
  const devname = props.get('DEVNAME');
  const iface = props.get('SUBSYSTEM') === 'net' ? props.get('INTERFACE') : undefined;
  const paths = [
    sysfs,
    ...(devname ? [devname.startsWith('/') ? devname : `/dev/${devname}`] : []),
    // /dev/block/ and /dev/char/ links are neither persistent nor predictable: no units, as in systemd.
    ...words(props.get('DEVLINKS')).filter((l) => !/^\/dev\/(block|char)\//.test(l) && owns(l)),
    // What systemd's 99-systemd.rules adds as SYSTEMD_ALIAS, so a net device has it without those rules too.
    ...(iface ? [`/sys/subsystem/net/devices/${iface}`] : []),
    ...words(props.get('SYSTEMD_ALIAS')).filter((a) => a.startsWith('/')),
  ];
  const units = new Map<string, string>();
  for (const p of paths) {
    const name = pathUnitName(p, 'device');
    // Longer names systemd would refuse too ("Failed to generate valid unit name from device path").
    if (name && name.length <= 255 && !units.has(name)) units.set(name, p);
  }
  const model = props.get('ID_MODEL_FROM_DATABASE') ?? props.get('ID_MODEL');
  const label = props.get('ID_FS_LABEL') ?? props.get('ID_PART_ENTRY_NAME') ?? props.get('ID_PART_ENTRY_NUMBER');
  return {
    sysfs,
    tagged: tags.split(':').includes('systemd'),
    ready,
    units,
    wants: words(props.get('SYSTEMD_WANTS')),
    model: model && label ? `${model} ${label}` : model,
  };
}

/**
 * What sd-device knows of a device read back from the database: the kernel's uevent and the rules' E: properties
 * (devmaster/info.ts), DEVLINKS from the S: lines, TAGS and CURRENT_TAGS from G: and Q:.
 */
export function recordedProperties(d: Device, r: DbRecord): Map<string, string> {
  const props = new Map(deviceProperties(d, r));
  props.set('ACTION', 'add');
  if (r.links.length) props.set('DEVLINKS', r.links.map((l) => `/dev/${l}`).join(' '));
  if (r.tags.length) props.set('TAGS', `:${r.tags.join(':')}:`);
  if (r.currentTags.length) props.set('CURRENT_TAGS', `:${r.currentTags.join(':')}:`);
  return props;
}

/** The device a device unit's name stands for, if it is there: by /sys path, /sys/subsystem alias or /dev node. */
export function deviceOfUnit(name: string, root = '/sys'): Device | undefined {
  const p = unescapePath(name.slice(0, name.lastIndexOf('.')));
  const alias = /^\/sys\/subsystem\/([^/]+)\/devices\/([^/]+)$/.exec(p);
  if (alias) return Device.fromSubsystemSysname(alias[1], alias[2], root);
  if (p.startsWith('/sys/')) return Device.find(path.join(root, p.slice('/sys'.length)), root);
  return p.startsWith('/dev/') ? Device.fromDevname(p, root) : undefined;
}

/** A device unit no spec defines: every key its default, described as systemd describes it. */
function foundSpec(name: string, description: string): UnitSpec {
  const config = Object.fromEntries(unitKeys.device.map((d) => [d.key, structuredClone(d.default)]));
  config.Description = description;
  return {
    name,
    type: 'device',
    config: config as unknown as UnitSpec['config'],
    where: { file: '(devmaster)', line: 0 },
    keys: {},
    transient: true,
    found: true,
  };
}

/** systemd's UNIT_IS_ACTIVE_OR_RELOADING(). */
const UP = new Set<ActiveState>(['active', 'reloading']);

function deviceEffects(rt: UnitRuntime): TypeEffects {
  const db = new DeviceDb(runDir(rt.env));
  /** Every device unit of the core (restored, made for a spec, or found), whatever its state. */
  const known = new Set<string>();
  /** The units the last event or look plugged, by the device's /sys path. */
  const plugged = new Map<string, Set<string>>();
  /** Template instances SYSTEMD_WANTS made: forgotten once they are down. */
  const instances = new Set<string>();
  /** Whether a dead core's units were taken over. */
  let adopted = false;
  /**
   * Devices the first core found before any spec was applied (start() comes first): what they want may not exist
   * yet, so it is started once a unit of the spec changes state, as systemd starts it when it catches up at boot.
   */
  let early: Set<string> | null = null;

  /** A unit of the spec (named by it, or its own [device.NAME] table), not one found. */
  const specified = (name: string) => {
    const spec = rt.spec(name);
    return spec !== undefined && !spec.transient;
  };
  const sysfsOf = (name: string) => (rt.context(name) as DeviceContext | undefined)?.sysfs ?? null;

  const unplug = (name: string, sysfs: string) => {
    // The name went to another device since (a /dev link both claim).
    if (sysfsOf(name) !== sysfs) return;
    rt.send(name, { type: 'UNPLUG' });
    if (rt.spec(name)?.transient) rt.removeTransient(name);
  };

  /** Plug or unplug the units of one device; returns those that were not plugged before. */
  const apply = (props: ReadonlyMap<string, string>): string[] => {
    const old = props.get('DEVPATH_OLD');
    if (props.get('ACTION') === 'move' && old) gone(`/sys${old}`);
    const d = viewDevice(props, (link) => {
      const owner = Device.fromDevname(link);
      return owner === undefined || owner.devpath === props.get('DEVPATH');
    });
    const names = [...d.units.keys()];
    const ours = d.tagged || names.some(specified);
    const now = ours && d.ready ? names : [];
    const before = new Set([...(plugged.get(d.sysfs) ?? []), ...names.filter((n) => sysfsOf(n) === d.sysfs)]);
    for (const n of before) if (!now.includes(n)) unplug(n, d.sysfs);
    if (now.length) plugged.set(d.sysfs, new Set(now));
    else plugged.delete(d.sysfs);
    const fresh = now.filter((n) => rt.state(n)?.active !== 'active');
    for (const n of now) {
      if (!rt.spec(n)) rt.addTransient(foundSpec(n, d.model ?? d.units.get(n)!));
      known.add(n);
      rt.send(n, { type: 'PLUG', sysfs: d.sysfs, wants: n === names[0] ? d.wants : [] });
    }
    return fresh;
  };

  const gone = (sysfs: string) => {
    for (const n of plugged.get(sysfs) ?? []) unplug(n, sysfs);
    plugged.delete(sysfs);
  };

  /** The device's properties as the database has them; undefined when it is gone or devmaster never processed it. */
  const lookup = (d: Device | undefined): Map<string, string> | undefined => {
    if (!d) return undefined;
    let r: DbRecord | undefined;
    try {
      r = db.read(deviceId(d));
    } catch (err) {
      rt.note(`device ${d.devpath}: cannot read its database record: ${(err as Error).message}`);
    }
    return r && recordedProperties(d, r);
  };

  /**
   * Every device tagged `systemd` in the database, and the device of each unit a spec defines: plugged; and every
   * plugged unit whose device is not among them: unplugged (it went while no core listened). Returns what it plugged.
   */
  const scan = (): string[] => {
    const found = new Map<string, Map<string, string>>();
    const add = (props: Map<string, string> | undefined) => props && found.set(`/sys${props.get('DEVPATH')}`, props);
    let ids: string[] = [];
    try {
      ids = fs.readdirSync(path.join(db.root, 'tags', 'systemd'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') rt.note(`device units: cannot read ${db.root}/tags/systemd: ${(err as Error).message}`);
    }
    for (const id of ids) add(lookup(Device.fromDeviceId(id)));
    for (const name of known) if (specified(name)) add(lookup(deviceOfUnit(name)));
    const fresh = [...found.values()].flatMap(apply);
    for (const name of [...known]) {
      const sysfs = sysfsOf(name);
      if (sysfs !== null && !found.has(sysfs)) unplug(name, sysfs);
    }
    return fresh;
  };

  /** A SYSTEMD_WANTS word as a unit: a template gets the device's escaped /sys path as its instance. */
  const wanted = (word: string, sysfs: string | null): string | undefined => {
    if (/^[^@]+@\.[^.]+$/.test(word) && isUnitName(word)) {
      if (!sysfs) return undefined;
      const instance = word.replace('@.', `@${escapePath(sysfs)}.`);
      const template = rt.spec(word);
      if (!rt.spec(instance) && template) {
        rt.addTransient({ ...template, name: instance, transient: true });
        instances.add(instance);
      }
      return instance;
    }
    try {
      return mangleUnitName(word);
    } catch {
      return undefined;
    }
  };

  const pullIn = (name: string, p: PullInParams) => {
    // Unplugged again before this ran: starting it now would wait for it.
    if (rt.state(name)?.active !== 'active') return;
    // A start of the plugged unit is done at once, and its transaction starts what the unit wants (a found unit wants
    // nothing: a unit the spec names is the spec's).
    if (p.own && specified(name)) rt.trigger(name, name);
    const sysfs = sysfsOf(name);
    for (const w of p.wants) {
      const unit = wanted(w, sysfs);
      if (!unit || (p.listed.includes(w) && UP.has(rt.state(unit)?.active ?? 'inactive'))) continue;
      rt.trigger(name, unit);
    }
  };

  const safely = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      rt.note(`device units: ${what}: ${(err as Error).message}`);
    }
  };

  rt.onChange((name, active) => {
    if (instances.has(name) && (active === 'inactive' || active === 'failed')) {
      instances.delete(name);
      rt.removeTransient(name);
    }
    if (early && specified(name)) {
      const list = early;
      early = null;
      rt.defer(() => {
        for (const n of list) pullIn(n, { own: true, wants: (rt.context(n) as DeviceContext | undefined)?.wants ?? [], listed: [] });
      });
    }
  });

  return {
    actions: {
      probe: ({ self }) => {
        const name = rt.nameOf(self);
        known.add(name);
        // A spec's unit may name a device that is there already (one no event will announce again).
        rt.defer(() => {
          if (!specified(name)) return;
          safely(name, () => {
            const props = lookup(deviceOfUnit(name));
            if (props) apply(props);
          });
        });
      },
      pullIn: ({ self }, p: PullInParams) => {
        const name = rt.nameOf(self);
        rt.defer(() => (early?.has(name) ? undefined : pullIn(name, p)));
      },
    },
    adopt(name, context) {
      adopted = true;
      known.add(name);
      const sysfs = (context as unknown as DeviceContext).sysfs;
      if (sysfs !== null) plugged.set(sysfs, (plugged.get(sysfs) ?? new Set()).add(name));
    },
    release(name) {
      known.delete(name);
      for (const [sysfs, names] of plugged) if (names.delete(name) && !names.size) plugged.delete(sysfs);
    },
    start() {
      try {
        // Listening before the look at the database: what changes meanwhile comes as an event after it.
        new MonitorListener(
          (props) => safely(`event for ${props.get('DEVPATH')}`, () => void apply(props)),
          () => safely('rescan after lost events', () => void scan()),
        );
      } catch (err) {
        rt.note(`device units: cannot listen to devmaster's events (${(err as Error).message}); devices are looked up at start only`);
      }
      let fresh: string[] = [];
      safely('looking up the devices', () => (fresh = scan()));
      if (!adopted && fresh.length) early = new Set(fresh);
    },
  };
}
