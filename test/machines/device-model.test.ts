// Model-based: every reachable state and transition of the device machine, with every event devmaster's effects and
// the engine could send, checked against invariants; then the shortest path to each state replayed through a real
// actor. Scenarios after that, on a simulated clock, pin down what systemd does with device jobs.
import { adjacencyMapToArray, getAdjacencyMap } from '@xstate/graph';
import t from 'tap';
import { createActor, type SnapshotFrom } from 'xstate';
import { DEVICE_ACTIVE, deviceMachine, type DeviceEvent, type DeviceState, type PullInParams } from '../../machines/device.js';
import type { DeviceConfig } from '../../specs/types.js';
import { unitCommon } from '../fixtures/units.js';
import { pathsByState, recording } from './model.js';

type Snap = SnapshotFrom<typeof deviceMachine>;
type Action = { type: string; params?: unknown };

const config = (over: Partial<DeviceConfig> = {}): DeviceConfig => ({ ...unitCommon(), JobRunningTimeoutSec: 5_000, ...over });

const { logic: recorded, effectsOf } = recording(deviceMachine);
type Wrapped = SnapshotFrom<typeof recorded>;

const SYS = '/sys/devices/virtual/net/dm0';

/** Everything the effects and the engine could send in this state. */
function eventsFor(s: Snap): DeviceEvent[] {
  const c = s.context;
  const now = c.since + 1;
  const events: DeviceEvent[] = [
    { type: 'START', now },
    { type: 'STOP', now },
    { type: 'RELOAD', now },
    { type: 'RESET_FAILED', now },
    { type: 'TIMEOUT', now },
    { type: 'PLUG', sysfs: SYS, wants: [], now },
    { type: 'PLUG', sysfs: SYS, wants: ['a.service'], now },
    // A /dev link that moved to another device.
    { type: 'PLUG', sysfs: '/sys/devices/virtual/block/loop1', wants: [], now },
    { type: 'UNPLUG', now },
  ];
  if (c.deadline !== null) events.push({ type: 'TIMEOUT', now: c.deadline });
  return events;
}

const serialize = (s: Snap) => {
  const c = s.context;
  return JSON.stringify([s.value, c.sysfs, c.wants, c.result, Math.min(c.failures, 1), c.deadline !== null]);
};

const ALL = Object.keys(DEVICE_ACTIVE) as DeviceState[];

t.test('every transition of the device machine keeps its invariants', async (t) => {
  const options = {
    input: { config: config(), now: 1_000 },
    events: (w: Wrapped) => eventsFor(w.context),
    serializeState: (w: Wrapped) => serialize(w.context),
    limit: 10_000,
  };
  const adjacency = getAdjacencyMap(recorded, options);
  const edges = adjacencyMapToArray(adjacency).map((e) => ({ prev: e.state.context, event: e.event, next: e.nextState.context }));
  const seen = new Set<DeviceState>();
  const problems: string[] = [];
  for (const { prev, event, next } of edges) {
    const check = (ok: boolean, what: string) => {
      if (!ok && problems.length < 10) problems.push(`${what}: ${serialize(prev)} --${JSON.stringify(event)}--> ${serialize(next)}`);
    };
    const [from, to] = [prev.value as DeviceState, next.value as DeviceState];
    const c = next.context;
    const fx: Action[] = effectsOf(event);
    const pulls = fx.filter((a) => a.type === 'pullIn').map((a) => a.params as PullInParams);
    seen.add(to);
    check(DEVICE_ACTIVE[to] !== undefined, 'the public state map is total');
    check(c.since === (DEVICE_ACTIVE[from] !== DEVICE_ACTIVE[to] ? event.now : prev.context.since), 'since moves exactly with the public state');
    check((c.sysfs !== null) === (to === 'plugged'), 'a /sys path exactly while plugged');
    if (event.type === 'PLUG' && to === 'plugged') check(c.sysfs === event.sysfs && c.wants === event.wants, 'a plug says where the device is and what it wants');
    check((c.deadline !== null) === (to === 'waiting'), 'a timer exactly while a start waits');
    if (to === 'waiting' && from !== 'waiting') check(c.deadline === event.now + 5_000, 'the wait is JobRunningTimeoutSec=');
    // The runtime sends TIMEOUT only when the deadline is due (a timer may fire a little early: no check of now).
    const timedOut = from === 'waiting' && event.type === 'TIMEOUT';
    check(c.failures - prev.context.failures === (timedOut ? 1 : 0), 'failures rises by one, when a wait times out');
    if (timedOut) check(to === 'dead' && c.result === 'timeout', 'a wait that times out leaves the unit dead with result timeout');
    check(!fx.some((a) => a.type === 'probe'), 'the device is looked up on creation only: events say the rest');
    check(pulls.length <= 1, 'one pull-in per event');
    if (from === 'dead' && to === 'plugged') check(pulls[0]?.own === true, 'plugged without a job: what the unit wants starts');
    if (from === 'waiting' && to === 'plugged') check(pulls[0]?.own === false, 'plugged for a job: its transaction started what the unit wants');
    if (from === 'plugged' && to === 'plugged') {
      const wants = event.type === 'PLUG' ? event.wants : [];
      check(wants.length ? pulls[0]?.own === false && pulls[0].listed === prev.context.wants : pulls.length === 0, 'a change starts only SYSTEMD_WANTS');
    }
    if (to !== 'plugged' || from === 'plugged') check(!pulls.some((p) => p.own), 'the unit\'s own wants only on an unasked plug');
    if (from === 'plugged' && event.type === 'STOP') check(to === 'plugged', 'a stop leaves a plugged device plugged');
  }
  t.same(problems, [], 'every invariant holds on every transition');
  t.same([...seen].sort(), [...ALL].sort(), 'every state is reached');
  t.ok(edges.length > 50, `${Object.keys(adjacency).length} states, ${edges.length} transitions walked`);

  for (const [state, events] of pathsByState(adjacency, serialize)) {
    const actor = createActor(deviceMachine, { input: options.input }).start();
    for (const event of events) actor.send(event);
    t.equal(actor.getSnapshot().value, state, `an actor replays the path to ${state}`);
    actor.stop();
  }
});

/** An actor on a simulated clock; `log` has its effects in order. */
function run(c = config()) {
  const log: string[] = [];
  const machine = deviceMachine.provide({
    actions: {
      probe: () => void log.push('probe'),
      pullIn: (_, p) => void log.push(`pullIn ${p.own ? 'own+' : ''}${p.wants.join(',')}${p.listed.length ? ` (listed ${p.listed.join(',')})` : ''}`),
    },
  });
  const actor = createActor(machine, { input: { config: c, now: 0 } }).start();
  let now = 0;
  const p = {
    actor,
    log,
    send(e: Record<string, unknown> & { type: string }, at = now) {
      now = at;
      actor.send({ ...e, now } as DeviceEvent);
      return p;
    },
    /** Move the clock, delivering the TIMEOUT the runtime would when the deadline falls due. */
    advance(ms: number) {
      const until = now + ms;
      const d = actor.getSnapshot().context.deadline;
      if (d !== null && d <= until) p.send({ type: 'TIMEOUT' }, d);
      now = until;
      return p;
    },
    get state() {
      return actor.getSnapshot().value;
    },
    get ctx() {
      return actor.getSnapshot().context;
    },
  };
  return p;
}

t.test('a new unit looks its device up; plugged by itself, it starts what it wants', async (t) => {
  const p = run();
  t.same(p.log, ['probe'], 'on creation');
  p.send({ type: 'PLUG', sysfs: SYS, wants: ['x@.service'] }, 10);
  t.same([p.state, p.ctx.sysfs, p.ctx.since, p.log.at(-1)], ['plugged', SYS, 10, 'pullIn own+x@.service']);
  p.send({ type: 'PLUG', sysfs: SYS, wants: ['x@.service', 'y.service'] }, 20);
  t.same([p.ctx.since, p.log.at(-1)], [10, 'pullIn x@.service,y.service (listed x@.service)'], 'a change: SYSTEMD_WANTS only, with what was listed');
  p.send({ type: 'PLUG', sysfs: SYS, wants: [] }, 25);
  t.equal(p.log.length, 3, 'a change without SYSTEMD_WANTS starts nothing');
  p.send({ type: 'UNPLUG' }, 30);
  t.same([p.state, p.ctx.sysfs, p.ctx.wants, p.ctx.since, p.log.length], ['dead', null, [], 30, 3]);
});

t.test('an actor restored from its saved snapshot (a crash of the manager) does not look its device up again', async (t) => {
  const p = run();
  p.send({ type: 'PLUG', sysfs: SYS, wants: [] }, 10);
  const log: string[] = [];
  const machine = deviceMachine.provide({ actions: { probe: () => void log.push('probe'), pullIn: () => void log.push('pullIn') } });
  const snapshot = p.actor.getPersistedSnapshot();
  const again = createActor(machine, { snapshot, input: { config: config(), now: 0 } }).start();
  t.same([again.getSnapshot().value, again.getSnapshot().context.sysfs, log], ['plugged', SYS, []]);
});

t.test('a start waits for the device, which comes in time', async (t) => {
  const p = run();
  p.send({ type: 'START' }, 100);
  t.same([p.state, p.ctx.deadline], ['waiting', 5_100]);
  p.advance(4_000).send({ type: 'PLUG', sysfs: SYS, wants: ['a.service'] });
  t.same([p.state, p.ctx.deadline, p.ctx.result, p.ctx.failures], ['plugged', null, 'success', 0]);
  t.equal(p.log.at(-1), 'pullIn a.service', 'the job pulled in what the unit wants; SYSTEMD_WANTS only the device knows');
});

t.test('a start that waits longer than JobRunningTimeoutSec= fails with result timeout', async (t) => {
  const p = run();
  p.send({ type: 'START' }, 100).advance(10_000);
  t.same([p.state, p.ctx.result, p.ctx.failures, p.ctx.deadline, p.ctx.since], ['dead', 'timeout', 1, null, 5_100]);
  p.send({ type: 'PLUG', sysfs: SYS, wants: [] });
  t.same([p.state, p.ctx.result], ['plugged', 'success'], 'the device appearing later still plugs it');
});

t.test('JobRunningTimeoutSec=infinity waits for ever', async (t) => {
  const p = run(config({ JobRunningTimeoutSec: Infinity }));
  p.send({ type: 'START' }).advance(1e12);
  t.same([p.state, p.ctx.deadline], ['waiting', null]);
});

t.test('a stop ends a wait without a failure, and leaves a plugged device plugged', async (t) => {
  const p = run();
  p.send({ type: 'START' }).send({ type: 'STOP' }, 50);
  t.same([p.state, p.ctx.deadline, p.ctx.failures, p.ctx.result], ['dead', null, 0, 'success']);
  p.send({ type: 'PLUG', sysfs: SYS, wants: [] }).send({ type: 'STOP' });
  t.equal(p.state, 'plugged');
});

t.test('an unplug while a start waits changes nothing: the device was not there', async (t) => {
  const p = run();
  p.send({ type: 'START' }, 10).send({ type: 'UNPLUG' }, 20);
  t.same([p.state, p.ctx.since], ['waiting', 10]);
});
