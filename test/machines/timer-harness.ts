// Runs the timer machine the way the runtime does, on a simulated clock: `load` is answered with the clocks given,
// TIMEOUT comes when context.deadline is due, and the unit it triggers runs for `runFor` ms (UNIT active, then
// inactive), as the effect's watch would report it.
import { createActor, type Actor } from 'xstate';
import type { LocalZone } from '../../specs/calendar.js';
import type { ActiveState } from '../../machines/types.js';
import { TIMER_ACTIVE, timerMachine, type TimerContext, type TimerState } from '../../machines/timer.js';
import type { TimerConfig } from '../../specs/types.js';
import { unitCommon } from '../fixtures/units.js';

export function timerConfig(over: Partial<TimerConfig> = {}): TimerConfig {
  return {
    ...unitCommon(),
    OnActiveSec: [],
    OnBootSec: [],
    OnStartupSec: [],
    OnUnitActiveSec: [],
    OnUnitInactiveSec: [],
    OnCalendar: [],
    Persistent: false,
    RandomizedDelaySec: 0,
    FixedRandomDelay: false,
    AccuracySec: 60_000,
    WakeSystem: false,
    RemainAfterElapse: true,
    Unit: 'job.service',
    ...over,
  };
}

export interface SimOptions {
  now?: number;
  /** The machine's boot and the manager's start; default an hour and a minute before `now`. */
  boot?: number;
  startup?: number;
  zone?: LocalZone;
  seed?: number;
  /** What the Persistent= stamp holds at each start. */
  stamp?: number | null;
  /** How long each run of the unit lasts; null: the unit stays active until told otherwise. */
  runFor?: number | null;
}

export class TimerSim {
  now: number;
  readonly actor: Actor<typeof timerMachine>;
  /** The time of each trigger. */
  readonly triggers: number[] = [];
  loads = 0;
  unit: { active: ActiveState; since: number } = { active: 'inactive', since: 0 };
  private pending: { at: number; active: ActiveState }[] = [];
  private asked = false;

  constructor(
    config: Partial<TimerConfig>,
    readonly o: SimOptions = {},
  ) {
    this.now = o.now ?? Date.UTC(2026, 2, 10, 10, 7); // a Tuesday
    const machine = timerMachine.provide({
      actions: {
        load: () => {
          this.loads++;
          this.asked = true;
        },
        trigger: () => {
          this.triggers.push(this.now);
          const runFor = o.runFor === undefined ? 100 : o.runFor;
          this.pending.push({ at: this.now, active: 'active' });
          if (runFor !== null) this.pending.push({ at: this.now + runFor, active: 'inactive' });
        },
      },
    });
    this.actor = createActor(machine, { input: { config: timerConfig(config), now: this.now } }).start();
  }

  get state(): TimerState {
    return this.actor.getSnapshot().value as TimerState;
  }
  get active(): ActiveState {
    return TIMER_ACTIVE[this.state];
  }
  get ctx(): TimerContext {
    return this.actor.getSnapshot().context;
  }

  send(event: Record<string, unknown> & { type: string }): this {
    this.actor.send({ ...event, now: this.now } as never);
    if (this.asked) {
      this.asked = false;
      const o = this.o;
      this.actor.send({
        type: 'CLOCKS',
        now: this.now,
        boot: o.boot ?? this.now - 3_660_000,
        startup: o.startup ?? this.now - 60_000,
        zone: o.zone ?? { name: 'UTC' },
        seed: o.seed ?? 0,
        stamp: o.stamp ?? null,
        unit: this.unit,
      });
    }
    return this;
  }

  /** The unit changes state now (its own doing, or the end of its start job). */
  unitIs(active: ActiveState): this {
    this.unit = { active, since: this.now };
    return this.send({ type: 'UNIT', active });
  }

  /** Move the clock, delivering each TIMEOUT and each change of the unit at its own time. */
  advance(ms: number): this {
    const until = this.now + ms;
    for (let round = 0; ; round++) {
      if (round > 10_000) throw new Error(`the timer does not settle: ${JSON.stringify(this.ctx)}`);
      const d = this.ctx.deadline;
      const u = this.pending.reduce<{ at: number; active: ActiveState } | null>((a, p) => (!a || p.at < a.at ? p : a), null);
      const next = Math.min(d ?? Infinity, u?.at ?? Infinity);
      if (next > until) break;
      this.now = Math.max(this.now, next);
      if (u && u.at === next) {
        this.pending.splice(this.pending.indexOf(u), 1);
        this.unitIs(u.active);
      } else this.send({ type: 'TIMEOUT' });
    }
    this.now = until;
    return this;
  }

  /** The triggers so far, as ISO times. */
  get fired(): string[] {
    return this.triggers.map((t) => new Date(t).toISOString());
  }
}
