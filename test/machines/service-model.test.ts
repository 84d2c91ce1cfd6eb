// Model-based: walk every reachable state and transition of the service machine for a few configs, with every
// event the runtime could send in each state, and check invariants on each transition. Then replay the shortest
// path to each private state through a real actor and check it lands in the same state.
import { adjacencyMapToArray, getAdjacencyMap } from '@xstate/graph';
import t from 'tap';
import { createActor, type SnapshotFrom } from 'xstate';
import { SERVICE_ACTIVE, serviceMachine, type ServiceEvent, type ServiceState } from '../../machines/service.js';
import type { ProcRole } from '../../machines/types.js';
import type { ServiceConfig } from '../../specs/types.js';
import { cmd, serviceConfig } from './harness.js';
import { pathsByState, recording } from './model.js';

type Snap = SnapshotFrom<typeof serviceMachine>;
const { logic: recorded, effectsOf } = recording(serviceMachine);
type Wrapped = SnapshotFrom<typeof recorded>;

const PID: Record<ProcRole, number> = { main: 100, control: 200 };
const PIDFILE_PID = 300;

/** Everything the runtime could send in this state. Times follow the snapshot, so the graph stays finite. */
function eventsFor(s: Snap): ServiceEvent[] {
  const c = s.context;
  const now = c.since + 1;
  const events: ServiceEvent[] = [
    { type: 'START', now },
    { type: 'STOP', now },
    { type: 'RELOAD', now },
    { type: 'RESET_FAILED', now },
    { type: 'TIMEOUT', now }, // stale unless no deadline is set
    { type: 'EXIT', pid: 999, code: 1, signal: null, core: false, now },
    { type: 'OOM', now },
  ];
  if (c.config.Type === 'forking') events.push({ type: 'PIDFILE', pid: PIDFILE_PID, now }, { type: 'PIDFILE', pid: null, now });
  if (c.deadline !== null) events.push({ type: 'TIMEOUT', now: c.deadline });
  for (const role of ['main', 'control'] as const) {
    if (c.spawning[role]) {
      events.push({ type: 'SPAWNED', role, pid: PID[role], now }, { type: 'SPAWN_FAILED', role, error: 'ENOENT', now });
    }
    const pid = role === 'main' ? c.mainPid : c.controlPid;
    if (pid === null) continue;
    events.push(
      { type: 'EXIT', pid, code: 0, signal: null, core: false, now },
      { type: 'EXIT', pid, code: 1, signal: null, core: false, now },
      { type: 'EXIT', pid, code: null, signal: 'SIGKILL', core: false, now },
    );
  }
  if (c.mainPid !== null) {
    const messages: Record<string, string>[] = [{ READY: '1' }, { RELOADING: '1' }, { STOPPING: '1' }, { WATCHDOG: '1' }, { WATCHDOG: 'trigger' }];
    for (const fields of messages) {
      events.push({ type: 'NOTIFY', pid: c.mainPid, fields, now });
    }
  }
  return events;
}

/**
 * The state as far as it can still steer the machine, so that states differing only in history merge: absolute
 * times, counters no guard reads, and fields that are dead in this state (READY/RELOADING matter only until the
 * service stops, reloadResult only during a reload, the phase only while it has a process or commands left).
 */
function serialize(s: Snap): string {
  const c = s.context;
  const state = s.value as ServiceState;
  // At rest the next START resets everything but the start limit.
  if (['dead', 'failed', 'auto-restart'].includes(state)) return JSON.stringify([state, c.startTimes.length]);
  const busy = c.queue.length > 0 || c.controlPid !== null || c.spawning.control || c.spawning.main;
  const exit = c.mainExit && { code: c.mainExit.code, signal: c.mainExit.signal };
  return JSON.stringify([
    state,
    c.result,
    c.mainPid,
    c.controlPid,
    c.spawning,
    c.queue.length,
    busy ? c.phase : null,
    exit,
    c.deadline !== null,
    c.startTimes.length,
    c.forbidRestart,
    ['start', 'start-post', 'running', 'reload'].includes(state) ? c.notifyState : null,
    state === 'reload' ? c.reloadResult : null,
  ]);
}

const base: Partial<ServiceConfig> = {
  ExecStartPre: [cmd('pre')],
  ExecStartPost: [cmd('post')],
  ExecReload: [cmd('reload')],
  ExecStop: [cmd('stop')],
  ExecStopPost: [cmd('stop-post')],
  TimeoutStartSec: 1_000,
  TimeoutStopSec: 1_000,
  RestartSec: 100,
  StartLimitBurst: 2,
  StartLimitIntervalSec: Infinity, // only the count of starts matters then
};

const ALL = Object.keys(SERVICE_ACTIVE) as ServiceState[];

const models: { name: string; config: Partial<ServiceConfig>; unreachable: ServiceState[] }[] = [
  {
    name: 'Type=notify, Restart=on-failure, WatchdogSec=',
    config: { ...base, Type: 'notify', NotifyAccess: 'main', Restart: 'on-failure', WatchdogSec: 500 },
    unreachable: ['exited'],
  },
  {
    name: 'Type=oneshot, two ExecStart=, RemainAfterExit=',
    config: { ...base, Type: 'oneshot', ExecStart: [cmd('a'), cmd('b')], RemainAfterExit: true, TimeoutStartSec: Infinity },
    unreachable: ['auto-restart', 'running'], // a oneshot passes through running on its way to exited
  },
  {
    name: 'Type=forking, PIDFile=, SendSIGKILL=no, Restart=always',
    config: { ...base, Type: 'forking', PIDFile: '/run/f.pid', SendSIGKILL: false, Restart: 'always' },
    unreachable: ['exited', 'stop-sigkill', 'final-sigkill'],
  },
];

for (const model of models) {
  t.test(model.name, async (t) => {
    const config = serviceConfig(model.config);
    const options = {
      input: { config, now: 1_000 },
      events: (w: Wrapped) => eventsFor(w.context),
      serializeState: (w: Wrapped) => serialize(w.context),
      limit: 100_000,
    };
    const adjacency = getAdjacencyMap(recorded, options);
    const edges = adjacencyMapToArray(adjacency).map((e) => ({ state: e.state.context, event: e.event, nextState: e.nextState.context }));
    const seen = new Set<ServiceState>();
    const problems: string[] = [];
    const check = (ok: boolean, what: string, prev: Snap, event: ServiceEvent, next: Snap) => {
      if (!ok && problems.length < 10) problems.push(`${what}: ${prev.value} --${JSON.stringify(event)}--> ${next.value}`);
    };

    for (const { state: prev, event, nextState: next } of edges) {
      const state = next.value as ServiceState;
      const c = next.context;
      seen.add(state);
      check(next.status === 'active', 'the machine is still running', prev, event, next);
      check(SERVICE_ACTIVE[state] !== undefined, 'the public state map is total', prev, event, next);
      check(c.lastActive === SERVICE_ACTIVE[state], 'lastActive follows the state', prev, event, next);

      const changed = SERVICE_ACTIVE[prev.value as ServiceState] !== SERVICE_ACTIVE[state];
      check(c.since === (changed ? event.now : prev.context.since), 'since moves exactly with the public state', prev, event, next);

      if (['dead', 'failed', 'exited'].includes(state)) check(c.deadline === null, 'no timer at rest', prev, event, next);
      if (state === 'running') {
        check((c.deadline !== null) === config.WatchdogSec > 0, 'running arms only the watchdog', prev, event, next);
      }
      if (['auto-restart', 'stop', 'stop-sigterm', 'stop-sigkill', 'stop-post', 'final-sigterm', 'final-sigkill'].includes(state)) {
        check(c.deadline !== null, 'waiting states have a timer', prev, event, next);
      }
      if (['dead', 'failed', 'auto-restart'].includes(state)) {
        const none = c.mainPid === null && c.controlPid === null && !c.spawning.main && !c.spawning.control;
        check(none, 'no process is tracked at rest', prev, event, next);
      }
      if (state === 'failed') check(c.result !== 'success', 'failed has a failure result', prev, event, next);
      // A run ends in dead only on success; STOP in auto-restart and RESET_FAILED are not the end of a run.
      if (state === 'dead' && !['dead', 'failed', 'auto-restart'].includes(prev.value as string)) {
        check(c.result === 'success', 'a run ends dead only on success', prev, event, next);
      }

      const rise = c.failures - prev.context.failures;
      check(rise === 0 || (rise === 1 && ['failed', 'auto-restart'].includes(state)), 'failures rises by one, on failing', prev, event, next);
      if (state === 'failed' && prev.value !== 'failed') check(rise === 1, 'entering failed counts a failure', prev, event, next);

      // Effects: at most one spawn per role per event, and only for a role that is now being spawned.
      const actions = effectsOf(event);
      for (const role of ['main', 'control'] as const) {
        const spawns = actions.filter((a) => a.type === 'spawn' && (a.params as { role: string }).role === role);
        check(spawns.length <= 1, `one ${role} spawn per event`, prev, event, next);
        if (spawns.length) check(c.spawning[role], `a ${role} spawn is tracked`, prev, event, next);
      }
    }

    t.same(problems, [], 'every invariant holds on every transition');
    t.same(
      [...seen].sort(),
      ALL.filter((s) => !model.unreachable.includes(s)).sort(),
      'every state the config allows is reached',
    );
    t.ok(edges.length > 100, `${Object.keys(adjacency).length} states, ${edges.length} transitions walked`);

    // Replay: a shortest path to each private state, through a real actor.
    for (const [state, events] of pathsByState(adjacency, serialize)) {
      const actor = createActor(serviceMachine, { input: options.input }).start();
      for (const event of events) actor.send(event);
      t.equal(actor.getSnapshot().value, state, `an actor replays the path to ${state}`);
      actor.stop();
    }
  });
}
