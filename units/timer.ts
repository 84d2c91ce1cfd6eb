// The timer row of the unit-type registry, and its effects: the clocks and the Persistent= stamp a start reads, the
// start of Unit= at an elapse, and the watch on Unit= that tells the machine when it ran.
import { createHash, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AnyMachineSnapshot, Snapshot } from 'xstate';
import { idle, TIMER_ACTIVE, timerMachine, type TimerContext, type TimerState } from '../machines/timer.js';
import { timerKeys } from '../specs/keys/timer.js';
import type { TimerConfig } from '../specs/types.js';
import { localZone } from '../specs/zone.js';
import { persistentDir } from '../reconciler/paths.js';
import type { TypeEffects, UnitRuntime } from './runtime.js';
import type { UnitType } from './types.js';

function stateOf(snapshot: Snapshot<unknown>): TimerState {
  return (snapshot as AnyMachineSnapshot).value as TimerState;
}

export const timer: UnitType = {
  name: 'timer',
  keys: timerKeys,
  machine: timerMachine,
  activeState: (snapshot) => TIMER_ACTIVE[stateOf(snapshot)],
  subState: stateOf,
  canReload: () => false,
  liveKeys: ['Description'],
  effects: timerEffects,
};

/**
 * Where Persistent= stamps live: $SYSMASTER_TIMER_DIR, else `timers/` in the persistent directory (/var/lib/sysmaster
 * as root, ~/.local/state/sysmaster for a user), else, for an instance whose state directory was chosen, inside it.
 */
export function stampDir(stateDir: string, env: NodeJS.ProcessEnv): string {
  if (env.SYSMASTER_TIMER_DIR) return path.resolve(env.SYSMASTER_TIMER_DIR);
  return path.join(persistentDir(stateDir, env) ?? stateDir, 'timers');
}

/** FixedRandomDelay=: the same seed for this timer of this user on this machine, as systemd derives it. */
function fixedSeed(name: string): number {
  let machine = '';
  try {
    machine = fs.readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    // no machine ID (a bare container): the user and the name still tell timers apart
  }
  return createHash('sha256').update(`${machine}\0${process.getuid?.() ?? 0}\0${name}`).digest().readUInt32LE(0);
}

function timerEffects(rt: UnitRuntime): TypeEffects {
  /** Each started timer's Unit=, whose state changes go to the timer as UNIT. */
  const watched = new Map<string, string>();
  rt.onChange((name, active) => {
    for (const [t, unit] of watched) if (unit === name) rt.send(t, { type: 'UNIT', active });
  });
  const config = (name: string) => rt.config(name) as TimerConfig;
  const stamp = (name: string) => path.join(stampDir(rt.stateDir, rt.env), `stamp-${name}`);

  /** The last trigger kept on disk; a timer that never ran gets its stamp now, so a run missed from here on counts. */
  const readStamp = (name: string): number | null => {
    const file = stamp(name);
    try {
      const at = fs.statSync(file).mtimeMs;
      if (at < rt.now()) return at;
      rt.note(`${name}: not using the stamp ${file}: it lies in the future`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') writeStamp(name, rt.now());
      else rt.note(`${name}: cannot read ${file}: ${(err as Error).message}`);
    }
    return null;
  };

  const writeStamp = (name: string, at: number) => {
    const file = stamp(name);
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, '', { mode: 0o600 });
      fs.utimesSync(file, at / 1000, at / 1000);
    } catch (err) {
      rt.note(`${name}: cannot keep the last trigger in ${file}: ${(err as Error).message}`);
    }
  };

  const load = (name: string) => {
    const c = config(name);
    watched.set(name, c.Unit);
    const unit = rt.state(c.Unit);
    rt.send(name, {
      type: 'CLOCKS',
      ...rt.clocks(),
      zone: localZone(rt.env),
      seed: c.FixedRandomDelay ? fixedSeed(name) : randomInt(2 ** 32),
      stamp: c.Persistent ? readStamp(name) : null,
      unit: unit ? { active: unit.active, since: unit.since } : null,
    });
  };

  /** Start Unit=, unless the timer has moved on since it asked; its job's end is reported like a state change. */
  const fire = (name: string) => {
    const ctx = rt.context(name) as TimerContext | undefined;
    if (rt.state(name)?.sub !== 'running' || !ctx) return;
    const unit = config(name).Unit;
    if (!rt.config(unit)) return rt.send(name, { type: 'VANISHED' });
    if (config(name).Persistent && ctx.lastTrigger !== null) writeStamp(name, ctx.lastTrigger);
    rt.trigger(name, unit, () => rt.send(name, { type: 'UNIT', active: rt.state(unit)?.active ?? 'inactive' }));
  };

  return {
    actions: {
      load: ({ self }) => load(rt.nameOf(self)),
      trigger: ({ self }) => {
        const name = rt.nameOf(self);
        rt.defer(() => fire(name));
      },
    },
    adopt(name, context) {
      const sub = () => rt.state(name)?.sub;
      if (sub() === 'dead' || sub() === 'failed') return;
      watched.set(name, (context as unknown as TimerContext).config.Unit);
      // What follows sends events and may start a unit: not before the whole state is restored (and as it is then).
      rt.defer(() => {
        const ctx = rt.context(name) as TimerContext | undefined;
        if (!ctx || sub() === 'dead' || sub() === 'failed') return;
        // The dead core's `load` was never answered: ask again.
        if (!ctx.clocks) return load(name);
        const unit = rt.state(ctx.config.Unit);
        // The core died between deciding to trigger and starting the unit, which has not moved since: start it now
        // (a start job the dead core had queued is queued again, and this one joins it).
        if (sub() === 'running' && (!unit || (idle(unit.active) && unit.since <= (ctx.triggered ?? 0)))) return fire(name);
        // Only news: planning again for nothing could count a one-time elapse missed while no core ran as spent.
        if (unit && unit.active !== ctx.unitState) rt.send(name, { type: 'UNIT', active: unit.active });
      });
    },
    release(name) {
      watched.delete(name);
    },
  };
}
