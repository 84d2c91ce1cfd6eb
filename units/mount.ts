// The mount row of the unit-type registry, and its effects: mount(8) and umount(8) run as the unit's control
// process, and /proc/self/mountinfo followed for every mount, made by anyone. A mount no spec defines appears as a
// transient unit named after its mount point, and goes away once unmounted, as systemd shows every mount.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { MOUNT_ACTIVE, mountMachine, type MountCommand, type RunParams } from '../machines/mount.js';
import { readMountinfo, watchMountinfo, type MountEntry } from '../reconciler/mountinfo.js';
import { unitProcesses } from '../reconciler/proc.js';
import { mountKeys } from '../specs/keys/mount.js';
import { unitKeys } from '../specs/keys.js';
import type { MountConfig, UnitSpec } from '../specs/types.js';
import { pathUnitName } from '../specs/unitname.js';
import type { TypeEffects, UnitRuntime } from './runtime.js';
import { flatStates } from './states.js';
import type { UnitType } from './types.js';

export const mount: UnitType = {
  name: 'mount',
  keys: mountKeys,
  machine: mountMachine,
  ...flatStates(MOUNT_ACTIVE),
  canReload: () => true,
  liveKeys: ['Description'],
  effects: mountEffects,
  // Found in mountinfo: someone else mounted it, and the manager's exit leaves it mounted.
  keepOnExit: (spec) => spec.transient === true,
};

const MOUNT = '/bin/mount';
const UMOUNT = '/bin/umount';

/** mount(8) and umount(8) arguments, as systemd's mount_enter_mounting(), _remounting() and _unmounting() pass them. */
export function commandLine(command: MountCommand, c: MountConfig): [string, string[]] {
  if (command === 'umount') return [UMOUNT, [...(c.LazyUnmount ? ['-l'] : []), ...(c.ForceUnmount ? ['-f'] : []), c.Where]];
  const options = command === 'remount' ? ['remount', c.Options].filter(Boolean).join(',') : c.Options;
  return [
    MOUNT,
    [
      ...(c.SloppyOptions ? ['-s'] : []),
      ...(c.ReadWriteOnly ? ['-w'] : []),
      ...(c.Type ? ['-t', c.Type] : []),
      ...(options ? ['-o', options] : []),
      c.What,
      c.Where,
    ],
  ];
}

/** A mount found in mountinfo as a unit: its definition is what mountinfo says, every other key its default. */
function transientSpec(name: string, where: string, e: MountEntry): UnitSpec {
  const config = Object.fromEntries(unitKeys.mount.map((d) => [d.key, structuredClone(d.default)]));
  Object.assign(config, { Description: where, What: e.what, Where: where, Type: e.type, Options: e.options });
  return {
    name,
    type: 'mount',
    config: config as unknown as UnitSpec['config'],
    where: { file: '(/proc/self/mountinfo)', line: 0 },
    keys: {},
    transient: true,
    found: true,
  };
}

function mountEffects(rt: UnitRuntime): TypeEffects {
  /** The mount table as the units last heard of it, by mount point. */
  let table = new Map<string, MountEntry>();
  /** Read once for a takeover's adopt() calls, then dropped. */
  let fresh: Map<string, MountEntry> | null = null;
  const config = (name: string) => rt.config(name) as MountConfig;

  /** Tell each unit what changed since the last look; new mounts become units, gone ones stop being units. */
  const scan = () => {
    let next: Map<string, MountEntry>;
    try {
      next = readMountinfo();
    } catch (err) {
      return rt.note(`cannot read the mount table: ${(err as Error).message}`);
    }
    for (const [where, e] of next) {
      if (table.has(where)) continue;
      const name = pathUnitName(where, 'mount');
      if (!name || name.length > 255) continue; // systemd hashes such names; not done here
      if (!rt.config(name)) rt.addTransient(transientSpec(name, where, e));
      rt.send(name, { type: 'MOUNTINFO', mounted: true });
    }
    for (const where of table.keys()) {
      if (next.has(where)) continue;
      const name = pathUnitName(where, 'mount')!;
      rt.send(name, { type: 'MOUNTINFO', mounted: false });
      if (rt.spec(name)?.transient) rt.removeTransient(name);
    }
    table = next;
  };

  /** Run the command for `name`; its pid goes to the machine at once, its end once mountinfo has been read again. */
  const run = (name: string, command: MountCommand) => {
    const c = config(name);
    if (command === 'mount') {
      try {
        fs.mkdirSync(c.Where, { recursive: true, mode: c.DirectoryMode });
      } catch (err) {
        rt.note(`${name}: cannot create ${c.Where}: ${(err as Error).message}`);
      }
    }
    const [file, args] = commandLine(command, c);
    // SYSMASTER_UNIT: a core that takes over finds the command by it (adopt).
    const env = { PATH: rt.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', SYSMASTER_UNIT: name };
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      rt.note(`${name}: cannot run ${file}: ${err.message}`);
      rt.send(name, { type: 'SPAWN_FAILED', role: 'control', error: err.message });
    });
    const pid = child.pid;
    if (pid === undefined) return;
    rt.send(name, { type: 'SPAWNED', role: 'control', pid });
    child.on('exit', (code, signal) => {
      if (code !== 0) rt.note(`${name}: ${file} ${args.join(' ')}: ${stderr.trim() || (signal ?? `exit status ${code}`)}`);
      scan();
      rt.send(name, { type: 'EXIT', pid, code, signal, core: false });
    });
  };

  return {
    actions: {
      run: ({ self }, params: RunParams) => {
        const name = rt.nameOf(self);
        rt.defer(() => run(name, params.command));
      },
      kill: ({ self }) => {
        const name = rt.nameOf(self);
        rt.defer(() => {
          const pid = rt.context(name)?.controlPid;
          if (typeof pid !== 'number') return;
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone already: its EXIT is on its way
          }
        });
      },
    },
    start() {
      watchMountinfo(scan, (why) => rt.note(`mount units: no mountinfo notification (${why}); reading it every second`));
      fresh = null;
      scan();
    },
    // A core took over: each unit learns whether its mount point is mounted now (a mount or an unmount may have
    // finished while no core ran), and a command the dead core had asked for is found, or run again.
    adopt(name, context) {
      const c = config(name);
      fresh ??= readMountinfo();
      const entry = fresh.get(c.Where);
      if (entry) table.set(c.Where, entry);
      if (Boolean(entry) !== context.mounted) rt.send(name, { type: 'MOUNTINFO', mounted: Boolean(entry) });
      if (!entry && rt.spec(name)?.transient) rt.removeTransient(name);
      const command = context.command as MountCommand | null;
      if (command === null || context.controlPid !== null) return;
      // Asked for, but its pid was not saved: it may run (or have run) already.
      const live = unitProcesses(process.ppid).find((p) => p.unit === name);
      if (live) rt.send(name, { type: 'SPAWNED', role: 'control', pid: live.pid });
      else if ((command === 'umount') !== Boolean(entry)) {
        // What it was for is done: its outcome comes from mountinfo, as the machine reads it.
        rt.send(name, { type: 'SPAWN_FAILED', role: 'control', error: 'its end was lost with the previous core' });
      } else rt.defer(() => run(name, command));
    },
  };
}
