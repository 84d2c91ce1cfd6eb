// The socket machine: every reachable state and transition for Accept=no and Accept=yes with every event the
// runtime could send, invariants on each, and the fd effects paired (watch/unwatch, open/close).
import { adjacencyMapToArray, getAdjacencyMap } from '@xstate/graph';
import t from 'tap';
import { createActor, type SnapshotFrom } from 'xstate';
import { SOCKET_ACTIVE, socketMachine, type SocketEvent, type SocketState } from '../../machines/socket.js';
import type { SocketConfig } from '../../specs/types.js';
import { unitCommon } from '../fixtures/units.js';
import { pathsByState, recording } from './model.js';

type Snap = SnapshotFrom<typeof socketMachine>;

const { logic, effectsOf } = recording(socketMachine);
type Wrapped = SnapshotFrom<typeof logic>;

function socketConfig(over: Partial<SocketConfig> = {}): SocketConfig {
  return {
    ...unitCommon(),
    ListenStream: ['/run/x.sock'],
    ListenDatagram: [],
    ListenSequentialPacket: [],
    ListenFIFO: [],
    Accept: false,
    Service: 'x.service',
    SocketMode: 0o666,
    DirectoryMode: 0o755,
    SocketUser: null,
    SocketGroup: null,
    Backlog: 4096,
    MaxConnections: 64,
    FileDescriptorName: 'x',
    RemoveOnStop: false,
    ReusePort: false,
    TriggerLimitIntervalSec: 2_000,
    TriggerLimitBurst: 2,
    ...over,
  };
}

const TYPES: SocketEvent['type'][] = ['START', 'STOP', 'RELOAD', 'RESET_FAILED', 'TIMEOUT', 'OPENED', 'INCOMING', 'ACCEPTED', 'CLOSED', 'SERVICE_UP', 'SERVICE_DOWN'];

function eventsFor(s: Snap): SocketEvent[] {
  // All at one instant: the trigger window never closes, so the limit is reached.
  const now = 1_000;
  return [...TYPES.map((type) => ({ type, now }) as SocketEvent), { type: 'OPEN_FAILED', error: 'EADDRINUSE', now }];
}

const serialize = (s: Snap) => JSON.stringify([s.value, s.context.result, s.context.triggers.length, Math.min(s.context.connections, 2)]);

for (const accept of [false, true]) {
  t.test(`Accept=${accept}: every transition`, async (t) => {
    const config = socketConfig({ Accept: accept, Service: accept ? 'x@.service' : 'x.service' });
    const input = { config, now: 0 };
    const adjacency = getAdjacencyMap(logic, {
      input,
      events: (w: Wrapped) => eventsFor(w.context),
      serializeState: (w: Wrapped) => serialize(w.context),
    });
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const e of adjacencyMapToArray(adjacency)) {
      const prev = e.state.context;
      const next = e.nextState.context;
      const from = prev.value as SocketState;
      const to = next.value as SocketState;
      const did = effectsOf(e.event).map((a) => a.type);
      const check = (ok: boolean, what: string) => {
        if (!ok) problems.push(`${what}: ${from} --${e.event.type}--> ${to} [${did.join(' ')}]`);
      };
      seen.add(to);
      check(SOCKET_ACTIVE[to] !== undefined, 'the public state map is total');
      check((from === 'listening' && to !== 'listening') === did.includes('unwatch'), 'leaving listening unwatches, only then');
      check((from !== 'listening' && to === 'listening') === did.includes('watch'), 'entering listening watches, only then');
      const holding = (s: SocketState) => ['opening', 'listening', 'running'].includes(s);
      check((holding(from) && !holding(to)) === did.includes('close'), 'the fds close exactly when the socket stops holding them');
      check(did.includes('open') === (!holding(from) && to === 'opening'), 'the fds open on a start only');
      check(did.includes('activate') === (e.event.type === 'INCOMING' && from === 'listening' && to === 'running'), 'the service starts on an allowed INCOMING');
      if (accept) check(to !== 'running', 'Accept=yes never hands the socket over');
      if (to === 'failed' && from !== 'failed') check(next.context.failures === prev.context.failures + 1, 'failing counts');
      if (to === 'failed') check(next.context.result !== 'success', 'failed has a failure result');
    }
    t.same(problems, [], 'every invariant holds');
    const expected = (Object.keys(SOCKET_ACTIVE) as SocketState[]).filter((s) => !(accept && s === 'running'));
    t.same([...seen].sort(), expected.sort(), 'every state is reached');
    for (const [state, events] of pathsByState(adjacency, serialize)) {
      const actor = createActor(socketMachine, { input }).start();
      for (const event of events) actor.send(event);
      t.equal(actor.getSnapshot().value, state, `an actor replays the path to ${state}`);
      actor.stop();
    }
  });
}

t.test('the trigger limit fails the socket with trigger-limit-hit', async (t) => {
  const a = createActor(socketMachine, { input: { config: socketConfig({ TriggerLimitBurst: 2 }), now: 0 } }).start();
  a.send({ type: 'START', now: 1 });
  a.send({ type: 'OPENED', now: 2 });
  for (const now of [10, 20]) {
    a.send({ type: 'INCOMING', now });
    t.equal(a.getSnapshot().value, 'running');
    a.send({ type: 'SERVICE_DOWN', now: now + 1 });
  }
  a.send({ type: 'INCOMING', now: 30 });
  t.same([a.getSnapshot().value, a.getSnapshot().context.result], ['failed', 'trigger-limit-hit']);
  a.send({ type: 'START', now: 5_000 });
  a.send({ type: 'OPENED', now: 5_001 });
  a.send({ type: 'INCOMING', now: 5_002 });
  t.equal(a.getSnapshot().value, 'running', 'a new start opens a new window');
});
