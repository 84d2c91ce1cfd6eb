// Model-based: every reachable state and transition of the mount machine, with every event mountinfo, the control
// process and the engine could send, checked against invariants; then the shortest path to each state replayed
// through a real actor. Scenarios after that pin down what systemd does in the cases that matter.
import { adjacencyMapToArray, getAdjacencyMap } from '@xstate/graph';
import t from 'tap';
import { createActor, type SnapshotFrom } from 'xstate';
import { MOUNT_ACTIVE, mountMachine, type MountEvent, type MountState } from '../../machines/mount.js';
import { mountConfig } from '../fixtures/units.js';
import { pathsByState, recording } from './model.js';

type Snap = SnapshotFrom<typeof mountMachine>;
type Action = { type: string; params?: unknown };

const { logic: recorded, effectsOf } = recording(mountMachine);
type Wrapped = SnapshotFrom<typeof recorded>;

const PID = 300;

/** Everything mountinfo, the control process and the engine could send in this state. */
function eventsFor(s: Snap): MountEvent[] {
  const c = s.context;
  const now = c.since + 1;
  const events: MountEvent[] = [
    { type: 'START', now },
    { type: 'STOP', now },
    { type: 'RELOAD', now },
    { type: 'RESET_FAILED', now },
    { type: 'TIMEOUT', now }, // stale unless no deadline is set
    { type: 'MOUNTINFO', mounted: true, now },
    { type: 'MOUNTINFO', mounted: false, now },
    { type: 'EXIT', pid: 999, code: 0, signal: null, core: false, now },
  ];
  if (c.deadline !== null) events.push({ type: 'TIMEOUT', now: c.deadline });
  if (c.command !== null && c.controlPid === null) {
    events.push({ type: 'SPAWNED', role: 'control', pid: PID, now }, { type: 'SPAWN_FAILED', role: 'control', error: 'ENOENT', now });
  }
  if (c.controlPid !== null) {
    events.push(
      { type: 'EXIT', pid: c.controlPid, code: 0, signal: null, core: false, now },
      { type: 'EXIT', pid: c.controlPid, code: 32, signal: null, core: false, now },
      { type: 'EXIT', pid: c.controlPid, code: null, signal: 'SIGKILL', core: false, now },
    );
  }
  return events;
}

/** Retries past the first merge (the bound itself has a scenario below), so the graph stays small. */
const serialize = (s: Snap) => {
  const c = s.context;
  return JSON.stringify([s.value, c.mounted, c.command, c.controlPid, c.killed, Math.min(c.retries, 1), c.result, c.reloadResult, c.deadline !== null]);
};

const ALL = Object.keys(MOUNT_ACTIVE) as MountState[];
const REST: MountState[] = ['dead', 'mounted', 'failed'];

t.test('every transition of the mount machine keeps its invariants', async (t) => {
  const options = {
    input: { config: mountConfig(), now: 1_000 },
    events: (w: Wrapped) => eventsFor(w.context),
    serializeState: (w: Wrapped) => serialize(w.context),
    limit: 100_000,
  };
  const adjacency = getAdjacencyMap(recorded, options);
  const edges = adjacencyMapToArray(adjacency).map((e) => ({ prev: e.state.context, event: e.event, next: e.nextState.context }));
  const seen = new Set<MountState>();
  const problems: string[] = [];
  for (const { prev, event, next } of edges) {
    const check = (ok: boolean, what: string) => {
      if (!ok && problems.length < 10) problems.push(`${what}: ${serialize(prev)} --${JSON.stringify(event)}--> ${serialize(next)}`);
    };
    const [from, to] = [prev.value as MountState, next.value as MountState];
    const c = next.context;
    const fx: Action[] = effectsOf(event);
    const runs = fx.filter((a) => a.type === 'run') as { params: { command: string } }[];
    seen.add(to);
    check(MOUNT_ACTIVE[to] !== undefined, 'the public state map is total');
    check(c.since === (MOUNT_ACTIVE[from] !== MOUNT_ACTIVE[to] ? event.now : prev.context.since), 'since moves exactly with the public state');
    if (REST.includes(to)) {
      check(c.command === null && c.controlPid === null && c.deadline === null, 'at rest: no command, no process, no timer');
      check(c.mounted === (to === 'mounted'), 'at rest, the state is what mountinfo says');
    } else {
      check(c.command !== null, 'a busy state has its command');
      check(c.deadline !== null, 'a busy state has its timeout');
    }
    if (to === 'failed') check(c.result !== 'success', 'failed has a failure result');
    check(c.failures - prev.context.failures === (to === 'failed' && from !== 'failed' ? 1 : 0), 'failures rises by one, on failing');
    check(runs.length <= 1, 'one command per event');
    for (const r of runs) check(c.command === r.params.command && c.controlPid === null, 'a command run is awaited');
    if (runs.length) {
      const expected = to === 'mounting' ? 'mount' : to === 'remounting' ? 'remount' : 'umount';
      check(runs[0].params.command === expected, `${to} runs ${expected}`);
    }
    if (fx.some((a) => a.type === 'kill')) check(prev.context.command !== null, 'only a running command is killed');
    if (from === 'remounting' && to === 'mounted') check(c.reloadResult !== null, 'a remount reports how it went');
  }
  t.same(problems, [], 'every invariant holds on every transition');
  t.same([...seen].sort(), [...ALL].sort(), 'every state is reached');
  t.ok(edges.length > 300, `${Object.keys(adjacency).length} states, ${edges.length} transitions walked`);

  for (const [state, events] of pathsByState(adjacency, serialize)) {
    const actor = createActor(mountMachine, { input: options.input }).start();
    for (const event of events) actor.send(event);
    t.equal(actor.getSnapshot().value, state, `an actor replays the path to ${state}`);
    actor.stop();
  }
});

/** An actor whose commands are answered by hand; `log` has the effects in order. */
function run(config = mountConfig()) {
  const log: string[] = [];
  const machine = mountMachine.provide({
    actions: { run: (_, p) => void log.push(p.command), kill: () => void log.push('kill') },
  });
  const actor = createActor(machine, { input: { config, now: 0 } }).start();
  let now = 0;
  let pid = 100;
  const send = (e: Record<string, unknown> & { type: string }, at = now) => {
    now = at;
    actor.send({ ...e, now } as MountEvent);
  };
  const p = {
    actor,
    log,
    send,
    get state() {
      return actor.getSnapshot().value;
    },
    get ctx() {
      return actor.getSnapshot().context;
    },
    spawned() {
      send({ type: 'SPAWNED', role: 'control', pid: ++pid });
      return p;
    },
    exit(code: number | null, signal: string | null = null) {
      send({ type: 'EXIT', pid, code, signal, core: false });
      return p;
    },
    mountinfo(mounted: boolean) {
      send({ type: 'MOUNTINFO', mounted });
      return p;
    },
  };
  return p;
}

t.test('mount(8) succeeds and mountinfo shows it: mounted; umount(8): dead', async (t) => {
  const p = run();
  p.send({ type: 'START' }, 10);
  t.same([p.state, p.ctx.deadline, p.log], ['mounting', 1_010, ['mount']]);
  p.spawned().mountinfo(true).exit(0);
  t.same([p.state, p.ctx.result, p.ctx.deadline, p.ctx.controlPid], ['mounted', 'success', null, null]);
  p.send({ type: 'STOP' });
  p.spawned().mountinfo(false).exit(0);
  t.same([p.state, p.log], ['dead', ['mount', 'umount']]);
});

t.test('mount(8) exits 0 but nothing is mounted: failed with protocol, as systemd says it', async (t) => {
  const p = run();
  p.send({ type: 'START' });
  p.spawned().exit(0);
  t.same([p.state, p.ctx.result, p.ctx.failures], ['failed', 'protocol', 1]);
});

t.test('mount(8) fails: failed with exit-code; it cannot run at all: resources', async (t) => {
  const p = run();
  p.send({ type: 'START' });
  p.spawned().exit(32);
  t.same([p.state, p.ctx.result], ['failed', 'exit-code']);
  p.send({ type: 'START' });
  p.send({ type: 'SPAWN_FAILED', role: 'control', error: 'ENOENT' });
  t.same([p.state, p.ctx.result, p.ctx.failures], ['failed', 'resources', 2]);
});

t.test('a hanging mount(8) is killed at TimeoutSec=, and abandoned if SIGKILL does not end it', async (t) => {
  const p = run();
  p.send({ type: 'START' }, 0);
  p.spawned();
  p.send({ type: 'TIMEOUT' }, 1_000);
  t.same([p.state, p.log.at(-1), p.ctx.deadline], ['mounting', 'kill', 2_000]);
  p.send({ type: 'TIMEOUT' }, 2_000);
  t.same([p.state, p.ctx.result, p.ctx.controlPid], ['failed', 'timeout', null]);
  p.exit(null, 'SIGKILL');
  t.equal(p.state, 'failed', 'its late end changes nothing');
});

t.test('mounted or unmounted by someone else, the unit follows', async (t) => {
  const p = run();
  p.mountinfo(true);
  t.same([p.state, p.log], ['mounted', []], 'a mount made outside: active, no command run');
  p.mountinfo(false);
  t.same([p.state, p.ctx.result], ['dead', 'success']);
});

t.test('stop while mounting kills mount(8), then unmounts what it mounted', async (t) => {
  const p = run();
  p.send({ type: 'START' });
  p.spawned();
  p.send({ type: 'STOP' });
  t.same([p.state, p.log], ['unmounting', ['mount', 'kill']]);
  p.mountinfo(true).exit(null, 'SIGKILL');
  t.same([p.state, p.log.at(-1), p.ctx.command], ['unmounting', 'umount', 'umount']);
  p.spawned().mountinfo(false).exit(0);
  t.equal(p.state, 'dead');
});

t.test('stacked mounts: umount(8) runs again while something is still mounted there', async (t) => {
  const p = run();
  p.mountinfo(true);
  p.send({ type: 'STOP' });
  p.spawned().exit(0);
  t.same([p.state, p.ctx.retries, p.log], ['unmounting', 1, ['umount', 'umount']]);
  p.spawned().mountinfo(false).exit(0);
  t.equal(p.state, 'dead');
});

t.test('umount(8) runs at most 32 times more for stacked mounts, then gives up', async (t) => {
  const p = run();
  p.mountinfo(true);
  p.send({ type: 'STOP' });
  for (let i = 0; i < 40 && p.state === 'unmounting'; i++) p.spawned().exit(0);
  t.same([p.state, p.log.length], ['mounted', 33]);
});

t.test('umount(8) fails (busy): the unit stays mounted with the failure as its result', async (t) => {
  const p = run();
  p.mountinfo(true);
  p.send({ type: 'STOP' });
  p.spawned().exit(32);
  t.same([p.state, p.ctx.result, p.ctx.failures], ['mounted', 'exit-code', 0]);
});

t.test('reload remounts; a failed remount keeps the mount and says so', async (t) => {
  const p = run();
  p.mountinfo(true);
  p.send({ type: 'RELOAD' });
  t.same([p.state, p.log], ['remounting', ['remount']]);
  p.spawned().exit(0);
  t.same([p.state, p.ctx.reloadResult], ['mounted', 'success']);
  p.send({ type: 'RELOAD' });
  p.spawned().exit(1);
  t.same([p.state, p.ctx.reloadResult], ['mounted', 'failed']);
});

t.test('TimeoutSec=infinity arms no timer', async (t) => {
  const p = run(mountConfig({ TimeoutSec: Infinity }));
  p.send({ type: 'START' });
  t.same([p.state, p.ctx.deadline], ['mounting', null]);
});
