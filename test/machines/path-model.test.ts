// Model-based: every reachable state and transition of the path machine, with every event the effects could send,
// checked against invariants; then the shortest path to each state replayed through a real actor. A few scenarios
// after that pin down systemd's behaviour by name.
import { adjacencyMapToArray, getAdjacencyMap } from '@xstate/graph';
import t from 'tap';
import { createActor, type SnapshotFrom } from 'xstate';
import { PATH_ACTIVE, pathMachine, type PathEvent, type PathState } from '../../machines/path.js';
import type { PathConfig } from '../../specs/types.js';
import { pathConfig } from '../fixtures/units.js';
import { pathsByState, recording } from './model.js';

type Snap = SnapshotFrom<typeof pathMachine>;
type Action = { type: string; params?: unknown };

const { logic: recorded, effectsOf } = recording(pathMachine);
type Wrapped = SnapshotFrom<typeof recorded>;

/** Everything the effects and the engine could send. Times follow the snapshot, so the graph stays finite. */
function eventsFor(s: Snap): PathEvent[] {
  const now = s.context.since + 1;
  return [
    { type: 'START', now },
    { type: 'STOP', now },
    { type: 'RELOAD', now },
    { type: 'RESET_FAILED', now },
    { type: 'TIMEOUT', now },
    { type: 'FIRED', path: '/run/x', edge: false, now },
    { type: 'FIRED', path: '/run/y', edge: true, now },
    { type: 'SEEN', stamps: { '/run/y': '1:1:7' }, now },
    { type: 'WATCH_FAILED', error: 'EMFILE', now },
    { type: 'UNIT_UP', now },
    { type: 'UNIT_DOWN', now },
  ];
}

const serialize = (s: Snap) => {
  const c = s.context;
  return JSON.stringify([s.value, c.result, c.triggers.length, c.missed, c.path, c.stamps, c.error]);
};

const ALL = Object.keys(PATH_ACTIVE) as PathState[];
const action = (actions: Action[], type: string) => actions.filter((a) => a.type === type);

t.test('every transition of the path machine keeps its invariants', async (t) => {
  // An endless window: only the count of triggers matters, so the graph is finite.
  const config = pathConfig({ TriggerLimitIntervalSec: Infinity, TriggerLimitBurst: 2 });
  const options = {
    input: { config, now: 1_000 },
    events: (w: Wrapped) => eventsFor(w.context),
    serializeState: (w: Wrapped) => serialize(w.context),
  };
  const adjacency = getAdjacencyMap(recorded, options);
  const edges = adjacencyMapToArray(adjacency).map((e) => ({ prev: e.state.context, event: e.event, next: e.nextState.context }));
  const seen = new Set<PathState>();
  const problems: string[] = [];
  for (const { prev, event, next } of edges) {
    const check = (ok: boolean, what: string) => {
      if (!ok && problems.length < 10) problems.push(`${what}: ${prev.value} --${JSON.stringify(event)}--> ${next.value}`);
    };
    const [from, to] = [prev.value as PathState, next.value as PathState];
    const c = next.context;
    const fx: Action[] = effectsOf(event);
    seen.add(to);
    check(PATH_ACTIVE[to] !== undefined, 'the public state map is total');
    check(c.since === (PATH_ACTIVE[from] !== PATH_ACTIVE[to] ? event.now : prev.context.since), 'since moves exactly with the public state');
    check(c.deadline === null, 'a path unit never arms a timer');
    if (to === 'failed') check(c.result !== 'success', 'failed has a failure result');
    const rise = c.failures - prev.context.failures;
    check(rise === (to === 'failed' && from !== 'failed' ? 1 : 0), 'failures rises by one, on failing');

    const triggers = action(fx, 'trigger').length;
    check(triggers <= 1, 'one trigger per event at most');
    const started = (from === 'dead' || from === 'failed') && to === 'waiting';
    const counted = c.triggers.length - (started ? 0 : prev.context.triggers.length);
    check(triggers === counted, 'every trigger is counted in the window (a START opens a new one)');
    if (triggers) check(to === 'running', 'a trigger leaves the unit running');
    if (triggers) check(event.type === 'FIRED' || (event.type === 'UNIT_DOWN' && prev.context.missed !== null), 'a trigger answers a fired path, or a change missed while the unit ran');
    if (to === 'failed' && c.result === 'trigger-limit-hit') check(prev.context.triggers.length === 2, 'the limit is hit only past the burst');
    if (event.type === 'FIRED' && event.edge && from === 'running' && to === 'running') check(c.missed === '/run/y', 'a change while the unit runs is remembered');

    const watches = action(fx, 'watch') as { params: { initial: boolean } }[];
    check(watches.length === (started || (from === 'running' && to === 'waiting') ? 1 : 0), 'watch on START and on going back to waiting');
    for (const w of watches) check(w.params.initial === (from !== 'running'), 'only START makes directories and ignores changes');
    const watching = (s: PathState) => s === 'waiting' || s === 'running';
    check(action(fx, 'unwatch').length === (watching(from) && !watching(to) ? 1 : 0), 'unwatch exactly when the watching ends');
  }
  t.same(problems, [], 'every invariant holds on every transition');
  t.same([...seen].sort(), [...ALL].sort(), 'every state is reached');
  t.ok(edges.length > 50, `${Object.keys(adjacency).length} states, ${edges.length} transitions walked`);

  for (const [state, events] of pathsByState(adjacency, serialize)) {
    const actor = createActor(pathMachine, { input: options.input }).start();
    for (const event of events) actor.send(event);
    t.equal(actor.getSnapshot().value, state, `an actor replays the path to ${state}`);
    actor.stop();
  }
});

/** An actor with the effects recorded in order. */
function run(config: PathConfig) {
  const log: string[] = [];
  const machine = pathMachine.provide({
    actions: {
      watch: (_, p) => void log.push(p.initial ? 'watch' : 'recheck'),
      unwatch: () => void log.push('unwatch'),
      trigger: () => void log.push('trigger'),
    },
  });
  const actor = createActor(machine, { input: { config, now: 0 } }).start();
  let now = 0;
  const send = (e: Record<string, unknown> & { type: string }, at = now) => {
    now = at;
    actor.send({ ...e, now } as PathEvent);
  };
  return { actor, log, send, get state() { return actor.getSnapshot().value; }, get ctx() { return actor.getSnapshot().context; } };
}

t.test('PathExists= that still holds when the unit stops triggers it again', async (t) => {
  const p = run(pathConfig());
  p.send({ type: 'START' });
  p.send({ type: 'FIRED', path: '/run/x', edge: false });
  t.equal(p.state, 'running');
  t.equal(p.ctx.path, '/run/x', 'the triggering path is kept (TRIGGER_PATH)');
  p.send({ type: 'UNIT_UP' });
  p.send({ type: 'UNIT_DOWN' });
  t.equal(p.state, 'waiting', 'back to waiting, where the effects look again');
  p.send({ type: 'FIRED', path: '/run/x', edge: false });
  t.same(p.log, ['watch', 'trigger', 'recheck', 'trigger']);
});

t.test('a change while the unit runs starts it once more after it stops', async (t) => {
  const p = run(pathConfig());
  p.send({ type: 'START' });
  p.send({ type: 'FIRED', path: '/run/y', edge: true });
  p.send({ type: 'FIRED', path: '/run/y', edge: true });
  p.send({ type: 'FIRED', path: '/run/x', edge: false });
  t.equal(p.ctx.missed, '/run/y');
  p.send({ type: 'UNIT_DOWN' });
  t.equal(p.state, 'running');
  t.same(p.log, ['watch', 'trigger', 'trigger'], 'two changes while it ran: one more run');
  p.send({ type: 'UNIT_DOWN' });
  t.equal(p.state, 'waiting');
});

t.test('the trigger limit fails the unit with trigger-limit-hit, and a start begins a new window', async (t) => {
  const p = run(pathConfig({ TriggerLimitBurst: 2, TriggerLimitIntervalSec: 2000 }));
  p.send({ type: 'START' });
  for (const at of [10, 20]) {
    p.send({ type: 'FIRED', path: '/run/x', edge: false }, at);
    p.send({ type: 'UNIT_DOWN' }, at);
  }
  p.send({ type: 'FIRED', path: '/run/x', edge: false }, 30);
  t.equal(p.state, 'failed');
  t.equal(p.ctx.result, 'trigger-limit-hit');
  t.equal(p.log.at(-1), 'unwatch');
  p.send({ type: 'START' }, 40);
  p.send({ type: 'FIRED', path: '/run/x', edge: false }, 50);
  t.equal(p.state, 'running', 'a new start counts from nothing');
  t.equal(p.ctx.result, 'success');
});

t.test('triggers more than the interval apart never hit the limit', async (t) => {
  const p = run(pathConfig({ TriggerLimitBurst: 1, TriggerLimitIntervalSec: 100 }));
  p.send({ type: 'START' });
  for (const at of [0, 200, 400]) {
    p.send({ type: 'FIRED', path: '/run/x', edge: false }, at);
    p.send({ type: 'UNIT_DOWN' }, at);
  }
  t.equal(p.state, 'waiting');
  t.equal(p.log.filter((x) => x === 'trigger').length, 3);
});

t.test('the unit started by someone else makes the path unit running, without a trigger', async (t) => {
  const p = run(pathConfig());
  p.send({ type: 'START' });
  p.send({ type: 'UNIT_UP' });
  t.equal(p.state, 'running');
  t.notOk(p.log.includes('trigger'));
  p.send({ type: 'STOP' }, 5);
  t.same([p.state, p.ctx.since, p.log.at(-1)], ['dead', 5, 'unwatch']);
});
