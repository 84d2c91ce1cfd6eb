// Model-based: walk every reachable state and transition of the timer machine for a few configs, with every event
// the runtime could send in each state, and check invariants on each transition; then replay the shortest path to
// each private state through a real actor.
import { adjacencyMapToArray, getAdjacencyMap } from '@xstate/graph';
import t from 'tap';
import { createActor, type SnapshotFrom } from 'xstate';
import { format, parse } from '../../specs/calendar.js';
import { TIMER_ACTIVE, timerMachine, type TimerEvent, type TimerState } from '../../machines/timer.js';
import type { TimerConfig } from '../../specs/types.js';
import { pathsByState, recording } from './model.js';
import { timerConfig } from './timer-harness.js';

type Snap = SnapshotFrom<typeof timerMachine>;
const { logic: recorded, effectsOf } = recording(timerMachine);
type Wrapped = SnapshotFrom<typeof recorded>;

const T0 = Date.UTC(2026, 2, 10, 10, 7);

/** The latest time the context holds: events come after it, so the clock never runs backwards. */
function latest(s: Snap): number {
  const c = s.context;
  return Math.max(c.since, c.lastTrigger ?? 0, c.unitActive ?? 0, c.unitInactive ?? 0);
}

/** Everything the runtime could send in this state. */
function eventsFor(s: Snap): TimerEvent[] {
  const c = s.context;
  const now = latest(s) + 250;
  const events: TimerEvent[] = [
    { type: 'START', now },
    { type: 'STOP', now },
    { type: 'RELOAD', now },
    { type: 'RESET_FAILED', now },
    { type: 'VANISHED', now },
    ...(['inactive', 'activating', 'active', 'failed'] as const).map((active) => ({ type: 'UNIT' as const, active, now })),
    {
      type: 'CLOCKS',
      now,
      boot: T0 - 3_600_000,
      startup: T0 - 60_000,
      zone: { name: 'UTC' },
      seed: 7,
      stamp: c.config.Persistent ? T0 - 86_400_000 : null,
      unit: { active: 'inactive', since: T0 - 1 },
    },
  ];
  if (c.deadline !== null) {
    events.push({ type: 'TIMEOUT', now: Math.max(c.deadline, latest(s)) });
    // Early (the runtime's timer fired before the elapse): ignored.
    if (c.deadline > latest(s) + 1) events.push({ type: 'TIMEOUT', now: c.deadline - 1 });
  } else events.push({ type: 'TIMEOUT', now });
  return events;
}

/** The state as far as it can still steer the machine: absolute times are left out, what is set is kept. */
function serialize(s: Snap): string {
  const c = s.context;
  return JSON.stringify([
    s.value,
    c.result,
    c.clocks !== null,
    c.deadline !== null,
    c.lastTrigger !== null,
    c.triggered !== null,
    c.unitActive !== null,
    c.unitInactive !== null,
    c.unitState,
    [...c.spent].sort(),
  ]);
}

const ALL = Object.keys(TIMER_ACTIVE) as TimerState[];
const cal = (expr: string) => format(parse(expr, { name: 'UTC' }));

const models: { name: string; config: Partial<TimerConfig>; unreachable: TimerState[] }[] = [
  {
    name: 'two OnActiveSec=, OnUnitActiveSec=',
    config: { OnActiveSec: [1000, 3000], OnUnitActiveSec: [2000] },
    unreachable: ['elapsed'], // once started, OnActiveSec= or the unit's activity always has an elapse ahead
  },
  {
    name: 'OnBootSec= (past), OnCalendar=, Persistent=, RemainAfterElapse=false',
    config: { OnBootSec: [60_000], OnCalendar: [cal('*:0/15')], Persistent: true, RemainAfterElapse: false },
    unreachable: ['elapsed'], // the calendar always elapses again
  },
  {
    name: 'OnStartupSec=, OnUnitInactiveSec=, RandomizedDelaySec=',
    config: { OnStartupSec: [120_000], OnUnitInactiveSec: [5000], RandomizedDelaySec: 30_000 },
    unreachable: [],
  },
  {
    name: 'a calendar that never elapses, RemainAfterElapse=false',
    config: { OnCalendar: [cal('2025-01-01')], RemainAfterElapse: false },
    unreachable: ['running', 'elapsed', 'failed'],
  },
];

for (const model of models) {
  t.test(model.name, async (t) => {
    const config = timerConfig(model.config);
    const options = {
      input: { config, now: T0 },
      events: (w: Wrapped) => eventsFor(w.context),
      serializeState: (w: Wrapped) => serialize(w.context),
      limit: 100_000,
    };
    const adjacency = getAdjacencyMap(recorded, options);
    const edges = adjacencyMapToArray(adjacency).map((e) => ({ state: e.state.context, event: e.event, nextState: e.nextState.context }));
    const seen = new Set<TimerState>();
    const problems: string[] = [];
    const check = (ok: boolean, what: string, prev: Snap, event: TimerEvent, next: Snap) => {
      if (!ok && problems.length < 10) problems.push(`${what}: ${prev.value} --${JSON.stringify(event)}--> ${next.value}`);
    };

    for (const { state: prev, event, nextState: next } of edges) {
      const state = next.value as TimerState;
      const c = next.context;
      const p = prev.context;
      seen.add(state);
      const actions = effectsOf(event).map((a) => a.type);
      check(next.status === 'active', 'the machine is still running', prev, event, next);
      check(TIMER_ACTIVE[state] !== undefined, 'the public state map is total', prev, event, next);

      const changed = TIMER_ACTIVE[prev.value as TimerState] !== TIMER_ACTIVE[state];
      check(c.since === (changed ? event.now : p.since), 'since moves exactly with the public state', prev, event, next);

      check(c.deadline === null || state === 'waiting', 'only waiting has an elapse armed', prev, event, next);
      check(state !== 'waiting' || c.clocks === null || c.deadline !== null, 'waiting with the clocks read has an elapse', prev, event, next);

      const starts = prev.value !== 'waiting' && prev.value !== 'running' && prev.value !== 'elapsed' && TIMER_ACTIVE[state] === 'active';
      check(actions.filter((a) => a === 'load').length === (starts ? 1 : 0), 'the clocks are read once per start', prev, event, next);
      const fired = state === 'running' && prev.value !== 'running';
      check(actions.filter((a) => a === 'trigger').length === (fired ? 1 : 0), 'one trigger per elapse, and only then', prev, event, next);
      if (fired) {
        check(event.type === 'TIMEOUT' && event.now >= p.deadline!, 'a trigger only when the elapse is due', prev, event, next);
        check(c.lastTrigger === event.now && c.triggered === event.now, 'a trigger is dated', prev, event, next);
      }
      // A one-time elapse is never armed again once it fired: the next one lies after the trigger.
      if (c.deadline !== null && c.triggered !== null) check(c.deadline > c.triggered, 'no elapse at or before the last trigger', prev, event, next);

      if (state === 'failed') check(c.result !== 'success', 'failed has a failure result', prev, event, next);
      const rise = c.failures - p.failures;
      check(rise === (state === 'failed' && prev.value !== 'failed' ? 1 : 0), 'failures rises by one, on failing', prev, event, next);
      if (event.type !== 'START') {
        check(p.spent.every((id) => c.spent.includes(id)), 'a spent setting stays spent until the next start', prev, event, next);
      }
    }

    t.same(problems, [], 'every invariant holds on every transition');
    t.same([...seen].sort(), ALL.filter((x) => !model.unreachable.includes(x)).sort(), 'every state the config allows is reached');
    t.ok(edges.length > 50, `${Object.keys(adjacency).length} states, ${edges.length} transitions walked`);

    for (const [state, events] of pathsByState(adjacency, serialize)) {
      const actor = createActor(timerMachine, { input: options.input }).start();
      for (const event of events) actor.send(event);
      t.equal(actor.getSnapshot().value, state, `an actor replays the path to ${state}`);
      actor.stop();
    }
  });
}
