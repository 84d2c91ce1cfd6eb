// The timer statechart (systemd's timer.c): waiting for the next elapse, running while the unit it started runs,
// elapsed once nothing can elapse any more. The next elapse is computed here, purely, from the config and the times
// events bring; it is context.deadline, which the runtime arms (and re-arms after a core crash) and answers with
// TIMEOUT. Effects (units/timer.ts): `load` answers CLOCKS, `trigger` starts Unit= and answers UNIT.
import { and, assign, setup } from 'xstate';
import { CalendarError, next as nextCalendar, parse as parseCalendar, type CalendarSpec, type LocalZone } from '../specs/calendar.js';
import type { TimerConfig } from '../specs/types.js';
import { freshContext, type ActiveState, type CommonEvent, type UnitContextBase } from './types.js';

export type TimerState = 'dead' | 'waiting' | 'running' | 'elapsed' | 'failed';

export const TIMER_ACTIVE: Record<TimerState, ActiveState> = {
  dead: 'inactive',
  waiting: 'active',
  running: 'active',
  elapsed: 'active',
  failed: 'failed',
};

/** What the `load` effect reads when the timer starts. Times are ms since the epoch, by the wall clock. */
export interface TimerClocks {
  /** The machine's boot (OnBootSec=) and the manager's start (OnStartupSec=). */
  boot: number;
  startup: number;
  /** The zone of calendar expressions that name none. */
  zone: LocalZone;
  /** Picks the RandomizedDelaySec= spans: random per start, or fixed by FixedRandomDelay=. A 32-bit integer. */
  seed: number;
}

export type TimerEvent =
  | CommonEvent
  /** Answer to `load`: the clocks, the Persistent= stamp (the last trigger kept on disk), and Unit='s state now. */
  | ({ type: 'CLOCKS'; stamp: number | null; unit: { active: ActiveState; since: number } | null; now: number } & TimerClocks)
  /** Unit='s public state changed, or the start job `trigger` queued for it ended (`active`: its state now). */
  | { type: 'UNIT'; active: ActiveState; now: number }
  /** There is no Unit= to start any more. */
  | { type: 'VANISHED'; now: number };

export interface TimerInput {
  config: TimerConfig;
  now: number;
}

/** `deadline` is the next elapse; while the timer is active, `since` is when it started. */
export interface TimerContext extends UnitContextBase {
  config: TimerConfig;
  /** From `load`, once per start; null until it answered. */
  clocks: TimerClocks | null;
  /** The last trigger, from the stamp or from this start on: OnCalendar= counts from it; `list-timers` shows it. */
  lastTrigger: number | null;
  /** The last trigger since this start (systemd's monotonic one): OnUnitActiveSec=/OnUnitInactiveSec= count from it. */
  triggered: number | null;
  /** When Unit= was last seen leaving the inactive state, and entering it (or failed), and how it was last seen. */
  unitActive: number | null;
  unitInactive: number | null;
  unitState: ActiveState | null;
  /** One-time settings past once the timer had triggered (`OnBootSec/0`): never again (OnActiveSec=: until a start). */
  spent: string[];
}

/** Not running: inactive, failed, or never seen. */
export const idle = (a: ActiveState | null) => a === null || a === 'inactive' || a === 'failed';

/** OnUnitActiveSec=/OnUnitInactiveSec=: a timer with these never goes dead on its own (the unit may run again). */
const repeats = (c: TimerConfig) => c.OnUnitActiveSec.length + c.OnUnitInactiveSec.length > 0;

/** Unit= seen in state `active` at `at`: when it left or entered the inactive state. */
function seen(c: TimerContext, active: ActiveState, at: number): Partial<TimerContext> {
  const was = idle(c.unitState);
  const is = idle(active);
  return {
    unitState: active,
    unitActive: was && !is ? at : c.unitActive,
    unitInactive: !was && is ? at : c.unitInactive,
  };
}

const parsed = new Map<string, CalendarSpec | null>();

/** The first elapse of a normalised expression strictly after `after`, or null (never again, or unreadable here). */
function calendarNext(expr: string, after: number, zone: LocalZone): number | null {
  const key = `${JSON.stringify(zone)} ${expr}`;
  let spec = parsed.get(key);
  if (spec === undefined) {
    try {
      spec = parseCalendar(expr, zone);
    } catch (e) {
      // The local zone changed since the spec was loaded and its abbreviation ("CEST") no longer names it.
      if (!(e instanceof CalendarError)) throw e;
      spec = null;
    }
    parsed.set(key, spec);
  }
  return spec && (nextCalendar(spec, new Date(after), zone)?.getTime() ?? null);
}

/** murmur3's 32-bit finaliser: a well-mixed, deterministic function of `h`. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** `at` plus its RandomizedDelaySec= span, from the seed: fixed, or one per elapse. */
function delayed(c: TimerConfig, seed: number, at: number): number {
  const range = c.RandomizedDelaySec;
  if (!Number.isFinite(at) || !(range > 0) || !Number.isFinite(range)) return at;
  const r = c.FixedRandomDelay ? seed : mix(seed ^ mix(at >>> 0) ^ mix(Math.floor(at / 2 ** 32)));
  return at + Math.floor((r / 2 ** 32) * range);
}

/** The one-time settings, and what each counts from. */
const ONCE = {
  OnActiveSec: (c: TimerContext) => c.since,
  OnBootSec: (c: TimerContext) => c.clocks!.boot,
  OnStartupSec: (c: TimerContext) => c.clocks!.startup,
} as const;

/** The settings that count from the unit's activity, and what they count from (null: not yet). */
const AFTER_UNIT = {
  OnUnitActiveSec: (c: TimerContext) => latest(c.unitActive, c.triggered),
  OnUnitInactiveSec: (c: TimerContext) => latest(c.unitInactive, c.triggered),
} as const;

const latest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * systemd's timer_enter_waiting(): the next elapse of a started timer at `now` (null: none, ever), and the one-time
 * settings spent by now. Each setting elapses at its base plus its span, or at the calendar's next time after the
 * last trigger (after the start when there was none; not before the manager's start); the earliest wins, monotonic
 * and calendar settings each delayed by RandomizedDelaySec=. A one-time setting that lies in the past once the timer
 * has triggered is spent; before any trigger it elapses at once (a timer started after OnBootSec= has passed).
 */
export function nextElapse(c: TimerContext, now: number): { at: number | null; spent: string[] } {
  const cfg = c.config;
  const clocks = c.clocks!;
  const spent = [...c.spent];
  let monotonic = Infinity;
  for (const key of Object.keys(ONCE) as (keyof typeof ONCE)[]) {
    cfg[key].forEach((span, i) => {
      const id = `${key}/${i}`;
      if (spent.includes(id)) return;
      const at = ONCE[key](c) + span;
      if (c.lastTrigger !== null && at <= now) spent.push(id);
      else monotonic = Math.min(monotonic, at);
    });
  }
  for (const key of Object.keys(AFTER_UNIT) as (keyof typeof AFTER_UNIT)[]) {
    const base = AFTER_UNIT[key](c);
    if (base !== null) for (const span of cfg[key]) monotonic = Math.min(monotonic, base + span);
  }
  let calendar = Infinity;
  for (const expr of cfg.OnCalendar) {
    const at = calendarNext(expr, c.lastTrigger ?? c.since, clocks.zone);
    if (at !== null) calendar = Math.min(calendar, Math.max(at, clocks.startup));
  }
  const at = Math.min(delayed(cfg, clocks.seed, monotonic), delayed(cfg, clocks.seed, calendar));
  return { at: Number.isFinite(at) ? at : null, spent };
}

export const timerMachine = setup({
  types: {} as { context: TimerContext; events: TimerEvent; input: TimerInput },
  actions: {
    /** Effect: read the clocks and the stamp, follow Unit=; answers CLOCKS. */
    load: () => {},
    /** Effect: once this state is durable, write the stamp (Persistent=) and start Unit=; answers UNIT or VANISHED. */
    trigger: () => {},
    begin: assign(({ context, event }) => ({
      since: event.now,
      result: 'success' as const,
      deadline: null,
      clocks: null,
      lastTrigger: null,
      triggered: null,
      spent: context.spent.filter((id) => !id.startsWith('OnActiveSec/')),
    })),
    clocks: assign(({ context, event }) => {
      const { type: _, now: __, stamp, unit, ...clocks } = event as Extract<TimerEvent, { type: 'CLOCKS' }>;
      return { clocks, lastTrigger: stamp, ...(unit && seen(context, unit.active, unit.since)) };
    }),
    observe: assign(({ context, event }) => seen(context, (event as Extract<TimerEvent, { type: 'UNIT' }>).active, event.now)),
    plan: assign(({ context, event }) => {
      if (!context.clocks) return {}; // `load` has not answered yet: CLOCKS plans
      const { at, spent } = nextElapse(context, event.now);
      return { deadline: at, spent };
    }),
    fire: assign(({ event }) => ({ lastTrigger: event.now, triggered: event.now, deadline: null })),
    /** A public change with nothing else to record. */
    touch: assign(({ event }) => ({ since: event.now, deadline: null })),
    vanished: assign(({ context, event }) => ({ since: event.now, result: 'resources' as const, failures: context.failures + 1 })),
  },
  guards: {
    due: ({ context, event }) => context.deadline !== null && event.now >= context.deadline,
    unitIdle: ({ event }) => idle((event as Extract<TimerEvent, { type: 'UNIT' }>).active),
    unread: ({ context }) => context.clocks === null,
    /** Started and planned, with nothing left to elapse. */
    over: ({ context }) => context.clocks !== null && context.deadline === null,
    remains: ({ context }) => context.config.RemainAfterElapse || repeats(context.config),
  },
}).createMachine({
  id: 'timer',
  context: ({ input }) => ({
    config: input.config,
    ...freshContext(input.now),
    clocks: null,
    lastTrigger: null,
    triggered: null,
    unitActive: null,
    unitInactive: null,
    unitState: null,
    spent: [],
  }),
  initial: 'dead',
  // In any state: the unit's times, so that OnUnitActiveSec= is right when the timer starts again.
  on: { UNIT: { actions: 'observe' } },
  states: {
    dead: { on: { START: { target: 'waiting', actions: ['begin', 'load'] } } },
    failed: {
      on: {
        START: { target: 'waiting', actions: ['begin', 'load'] },
        RESET_FAILED: { target: 'dead', actions: 'touch' },
      },
    },
    waiting: {
      always: [
        { guard: and(['over', 'remains']), target: 'elapsed' },
        { guard: 'over', target: 'dead', actions: 'touch' },
      ],
      on: {
        // Once per start: a second answer would take the stamp back over this start's triggers.
        CLOCKS: { guard: 'unread', actions: ['clocks', 'plan'] },
        UNIT: { actions: ['observe', 'plan'] },
        // A TIMEOUT before the elapse (the runtime's timer fired early) changes nothing: the runtime re-arms.
        TIMEOUT: { guard: 'due', target: 'running', actions: ['fire', 'trigger'] },
        STOP: { target: 'dead', actions: 'touch' },
      },
    },
    running: {
      on: {
        UNIT: [{ guard: 'unitIdle', target: 'waiting', actions: ['observe', 'plan'] }, { actions: 'observe' }],
        VANISHED: { target: 'failed', actions: 'vanished' },
        STOP: { target: 'dead', actions: 'touch' },
      },
    },
    elapsed: {
      on: {
        UNIT: { target: 'waiting', actions: ['observe', 'plan'] },
        STOP: { target: 'dead', actions: 'touch' },
      },
    },
  },
});

export type TimerMachine = typeof timerMachine;
