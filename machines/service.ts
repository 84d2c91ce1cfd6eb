// The service statechart: systemd's service.c states and transitions, with every effect injected.
//
// How to read it: states carry systemd's names. A state's `entry` says which timer it arms and which commands it
// runs; its `always` list says where it goes once its work is done (systemd's service_enter_*() decisions); its
// `on` list reacts to requests (START/STOP/RELOAD), to the runtime's answers (SPAWNED/EXIT/NOTIFY/PIDFILE) and to
// its timer (TIMEOUT). Process ends are booked once, at the root (`reap`), so the states only decide.
import { and, assign, setup } from 'xstate';
import type { Command, KillMode, ServiceConfig } from '../specs/types.js';
import { EXIT_EXEC, exitListed, exitResult } from './exit.js';
import { checkStart } from './ratelimit.js';
import { restartAllowed } from './restart.js';
import type {
  ActiveState,
  CommonEvent,
  ExitInfo,
  ProcRole,
  ProcessEvent,
  UnitContextBase,
  UnitResult,
} from './types.js';

export type ServiceState =
  | 'dead'
  | 'start-pre'
  | 'start'
  | 'start-post'
  | 'running'
  | 'exited'
  | 'reload'
  | 'stop'
  | 'stop-sigterm'
  | 'stop-sigkill'
  | 'stop-post'
  | 'final-sigterm'
  | 'final-sigkill'
  | 'failed'
  | 'auto-restart';

/** systemd's state_translation_table. */
export const SERVICE_ACTIVE: Record<ServiceState, ActiveState> = {
  dead: 'inactive',
  'start-pre': 'activating',
  start: 'activating',
  'start-post': 'activating',
  'auto-restart': 'activating',
  running: 'active',
  exited: 'active',
  reload: 'reloading',
  stop: 'deactivating',
  'stop-sigterm': 'deactivating',
  'stop-sigkill': 'deactivating',
  'stop-post': 'deactivating',
  'final-sigterm': 'deactivating',
  'final-sigkill': 'deactivating',
  failed: 'failed',
};

export type Phase = 'ExecStartPre' | 'ExecStart' | 'ExecStartPost' | 'ExecReload' | 'ExecStop' | 'ExecStopPost';

export type ServiceEvent = CommonEvent | ProcessEvent;

export interface ServiceInput {
  config: ServiceConfig;
  now: number;
}

export interface ServiceContext extends UnitContextBase {
  config: ServiceConfig;
  /** The public state `since` dates; kept so a state's entry can tell whether the public state changed. */
  lastActive: ActiveState;
  /** null while unknown (not spawned yet, exited, or a forking daemon without PIDFile=). */
  mainPid: number | null;
  controlPid: number | null;
  /** A spawn was asked for and its SPAWNED or SPAWN_FAILED has not come back yet. */
  spawning: Record<ProcRole, boolean>;
  /** The phase whose commands run now, and the commands still to run after the current one. */
  phase: Phase | null;
  queue: Command[];
  mainCommand: Command | null;
  controlCommand: Command | null;
  /** How the main process ended (systemd's ExecMainCode/ExecMainStatus); null while it runs or never ran. */
  mainExit: ExitInfo | null;
  reloadResult: 'success' | 'failed' | null;
  /** The last of READY=1, RELOADING=1, STOPPING=1; STOPPING sticks until the run ends. */
  notifyState: 'ready' | 'reloading' | 'stopping' | null;
  statusText: string | null;
  statusErrno: number | null;
  /** systemd's NRestarts: automatic restarts since the last manual start. */
  nRestarts: number;
  /** Start attempts in the current StartLimitIntervalSec window. */
  startTimes: number[];
  /** Set by STOP: this run must not restart automatically. */
  forbidRestart: boolean;
}

/** Effect parameters. The runtime answers spawn with SPAWNED or SPAWN_FAILED, then EXIT for the pid. */
export interface SpawnParams {
  role: ProcRole;
  command: Command;
  phase: Phase;
}

/**
 * Signal mainPid and controlPid (each when not null), then the rest of the unit's processes as `mode` says:
 * 'process' signals exactly the pids given, 'none' nothing at all. Signalling a dead pid is a no-op.
 */
export interface KillParams {
  signal: string;
  mainPid: number | null;
  controlPid: number | null;
  mode: KillMode;
}

/** Answered with PIDFILE: the pid read from `path`, checked alive, or null. */
export interface ReadPidFileParams {
  path: string;
}

type Timer = 'none' | 'keep' | 'start' | 'stop' | 'restart' | 'watchdog';
type SignalKind = 'term' | 'kill' | 'abort';
type Ended = { role: ProcRole; exit: ExitInfo };

function nowOf(event: { type: string }, context: ServiceContext): number {
  return 'now' in event && typeof event.now === 'number' ? event.now : context.since;
}

/** now + ms, or null when the timeout is off (0 or infinity, as systemd reads both for timeouts). */
function after(now: number, ms: number): number | null {
  return Number.isFinite(ms) && ms > 0 ? now + ms : null;
}

function deadlineFor(timer: Timer, c: ServiceContext, now: number): number | null {
  switch (timer) {
    case 'none':
      return null;
    case 'keep':
      return c.deadline;
    case 'start':
      return after(now, c.config.TimeoutStartSec);
    case 'stop':
      return after(now, c.config.TimeoutStopSec);
    case 'watchdog':
      return after(now, c.config.WatchdogSec);
    case 'restart':
      return Number.isFinite(c.config.RestartSec) ? now + Math.max(0, c.config.RestartSec) : null;
  }
}

function roleOf(phase: Phase | null, c: ServiceContext): ProcRole {
  return phase === 'ExecStart' && c.config.Type !== 'forking' ? 'main' : 'control';
}

function idle(c: ServiceContext, role: ProcRole): boolean {
  return (role === 'main' ? c.mainPid : c.controlPid) === null && !c.spawning[role];
}

/** Which of our processes an EXIT or SPAWN_FAILED ends; null for pids we do not track. */
function ended(c: ServiceContext, e: ServiceEvent): Ended | null {
  if (e.type === 'EXIT') {
    const exit = { pid: e.pid, code: e.code, signal: e.signal, core: e.core, ...(e.oom && { oom: true }) };
    if (e.pid === c.mainPid) return { role: 'main', exit };
    if (e.pid === c.controlPid) return { role: 'control', exit };
  }
  if (e.type === 'SPAWN_FAILED' && c.spawning[e.role]) {
    return { role: e.role, exit: { pid: 0, code: e.code ?? EXIT_EXEC, signal: null, core: false } };
  }
  return null;
}

/** The result a process end means for this service, `-` commands included. */
function endResult(c: ServiceContext, end: Ended): UnitResult {
  const main = end.role === 'main';
  const command = main ? (c.mainCommand ?? c.config.ExecStart[0] ?? null) : c.controlCommand;
  if (command?.ignoreFailure) return 'success';
  if (end.exit.oom) return 'oom-kill';
  const daemon = main ? c.config.Type !== 'oneshot' : c.phase === 'ExecStart';
  return exitResult(end.exit, c.config.SuccessExitStatus, daemon);
}

/** Book a process end: forget the pid, keep the main exit status, fold the result in, drop the phase on failure. */
function reap(c: ServiceContext, end: Ended, into: 'result' | 'reloadResult'): Partial<ServiceContext> {
  const f = endResult(c, end);
  const next: Partial<ServiceContext> = {
    spawning: { ...c.spawning, [end.role]: false },
    ...(end.role === 'main'
      ? { mainPid: null, mainCommand: null, mainExit: end.exit }
      : { controlPid: null, controlCommand: null }),
  };
  if (f !== 'success') {
    if (into === 'result' && c.result === 'success') next.result = f;
    if (into === 'reloadResult') next.reloadResult = 'failed';
    if (roleOf(c.phase, c) === end.role) next.queue = [];
  }
  return next;
}

function mainGone(c: ServiceContext): boolean {
  // A forking daemon whose pid we never learnt counts as alive until it is stopped (systemd asks the cgroup).
  const unknown = c.mainExit === null && c.config.Type === 'forking';
  return idle(c, 'main') && !unknown;
}

function signalOf(kind: SignalKind, c: ServiceContext): string {
  return kind === 'term' ? c.config.KillSignal : kind === 'kill' ? 'SIGKILL' : 'SIGABRT';
}

/** A decimal sd_notify value (MAINPID=, ERRNO=), or null. */
function count(value: string | undefined): number | null {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : null;
}

function notifyState(c: ServiceContext, f: Record<string, string>): ServiceContext['notifyState'] {
  if (f.STOPPING === '1') return 'stopping';
  if (c.notifyState === 'stopping') return 'stopping';
  if (f.READY === '1') return 'ready';
  if (f.RELOADING === '1') return 'reloading';
  return c.notifyState;
}

const machineSetup = setup({
  types: {} as { context: ServiceContext; events: ServiceEvent; input: ServiceInput },
  actions: {
    // Effects: no-ops here; the runtime provides the real ones with machine.provide().
    spawn: (_, _params: SpawnParams) => {},
    kill: (_, _params: KillParams) => {},
    readPidFile: (_, _params: ReadPidFileParams) => {},

    /** Every state's first entry action: arm its timer and date a public state change. */
    enter: assign(({ context, event }, p: { state: ServiceState; timer: Timer }) => {
      const now = nowOf(event, context);
      const active = SERVICE_ACTIVE[p.state];
      const changed = active !== context.lastActive;
      return {
        deadline: deadlineFor(p.timer, context, now),
        lastActive: active,
        since: changed ? now : context.since,
      };
    }),
    load: assign(({ context }, p: { phase: Phase }) => ({ phase: p.phase, queue: [...context.config[p.phase]] })),
    /** Take the command just handed to spawn off the queue. */
    pop: assign(({ context }) => {
      const [command, ...queue] = context.queue;
      const role = roleOf(context.phase, context);
      return {
        queue,
        spawning: { ...context.spawning, [role]: true },
        ...(role === 'main' ? { mainCommand: command } : { controlCommand: command }),
      };
    }),
    reap: assign(({ context, event }, p: { into: 'result' | 'reloadResult' }) => {
      const end = ended(context, event);
      return end ? reap(context, end, p.into) : {};
    }),
    record: assign(({ context, event }) => {
      if (event.type !== 'SPAWNED') return {};
      const spawning = { ...context.spawning, [event.role]: false };
      return event.role === 'main'
        ? { spawning, mainPid: event.pid, mainExit: null }
        : { spawning, controlPid: event.pid };
    }),
    /** Give up on processes that would not die: their later EXIT is ignored, a late SPAWNED is killed. */
    forget: assign(({ context }, p: { roles: ProcRole[] }) => {
      const gone = (role: ProcRole) => p.roles.includes(role);
      return {
        spawning: { main: context.spawning.main && !gone('main'), control: context.spawning.control && !gone('control') },
        mainPid: gone('main') ? null : context.mainPid,
        controlPid: gone('control') ? null : context.controlPid,
      };
    }),
    /** Keep the first failure, as systemd does. */
    fail: assign(({ context }, p: { result: UnitResult }) => ({
      result: context.result === 'success' ? p.result : context.result,
    })),
    noteStart: assign(({ context, event }) => ({
      startTimes: checkStart(context.startTimes, nowOf(event, context), context.config.StartLimitIntervalSec, context.config.StartLimitBurst).times,
    })),
    hitStartLimit: assign({ result: 'start-limit-hit' as UnitResult }),
    beginStart: assign({
      result: 'success' as UnitResult,
      reloadResult: null,
      statusText: null,
      statusErrno: null,
      notifyState: null,
      mainExit: null,
      mainCommand: null,
      controlCommand: null,
      forbidRestart: false,
    }),
    resetRestarts: assign({ nRestarts: 0 }),
    countRestart: assign(({ context }) => ({ nRestarts: context.nRestarts + 1 })),
    countFailure: assign(({ context }) => ({ failures: context.failures + 1 })),
    countFailureIfFailed: assign(({ context }) => ({
      failures: context.result === 'success' ? context.failures : context.failures + 1,
    })),
    endRun: assign({ forbidRestart: false, notifyState: null, phase: null, queue: [] }),
    forbidRestart: assign({ forbidRestart: true }),
    resetCounters: assign({ nRestarts: 0, startTimes: [] }),
    resetResult: assign({ result: 'success' as UnitResult, reloadResult: null }),
    noteNotify: assign(({ context, event }) => {
      if (event.type !== 'NOTIFY') return {};
      const f = event.fields;
      return {
        notifyState: notifyState(context, f),
        statusText: f.STATUS === undefined ? context.statusText : f.STATUS || null,
        statusErrno: count(f.ERRNO) ?? context.statusErrno,
      };
    }),
    adoptMainPid: assign(({ event }) => {
      const pid = event.type === 'NOTIFY' ? count(event.fields.MAINPID) : null;
      return pid !== null && pid > 1 ? { mainPid: pid, mainExit: null } : {};
    }),
    petWatchdog: assign(({ context, event }) =>
      event.type === 'NOTIFY' && event.fields.WATCHDOG === '1'
        ? { deadline: after(event.now, context.config.WatchdogSec) }
        : {},
    ),
    adoptPidFile: assign(({ event }) => (event.type === 'PIDFILE' && event.pid !== null ? { mainPid: event.pid } : {})),
    beginReload: assign({ reloadResult: null }),
    finishReload: assign(({ context }) => ({ reloadResult: context.reloadResult ?? 'success' })),
    abandonReload: assign(({ context }) => ({
      reloadResult: 'failed' as const,
      deadline: null,
      notifyState: context.notifyState === 'reloading' ? null : context.notifyState,
    })),
  },
  guards: {
    due: ({ context, event }) => context.deadline !== null && event.now >= context.deadline,
    startLimitHit: ({ context, event }) =>
      !checkStart(context.startTimes, event.now, context.config.StartLimitIntervalSec, context.config.StartLimitBurst).ok,
    failed: ({ context }) => context.result !== 'success',
    queued: ({ context }) => context.queue.length > 0 && idle(context, roleOf(context.phase, context)),
    controlIdle: ({ context }) => idle(context, 'control'),
    allIdle: ({ context }) => idle(context, 'control') && idle(context, 'main'),
    ended: ({ context, event }) => ended(context, event) !== null,
    controlEnded: ({ context, event }) => ended(context, event)?.role === 'control',
    expected: ({ context, event }) => event.type === 'SPAWNED' && context.spawning[event.role],
    // Readiness, per Type=.
    simpleStarted: ({ context }) => ['simple', 'exec'].includes(context.config.Type) && context.mainPid !== null,
    oneshotDone: ({ context }) => context.config.Type === 'oneshot' && context.queue.length === 0 && idle(context, 'main'),
    forkingDone: ({ context }) =>
      context.config.Type === 'forking' && context.config.PIDFile === null && idle(context, 'control'),
    notifyReady: ({ context }) => context.config.Type === 'notify' && context.notifyState === 'ready',
    /** Type=notify's main process exited cleanly before READY=1 and nobody else may send it. */
    notifyLost: ({ context }) =>
      context.config.Type === 'notify' &&
      idle(context, 'main') &&
      context.mainExit !== null &&
      (!context.config.RemainAfterExit || context.config.NotifyAccess === 'main'),
    /** Forking's ExecStart exited 0 and PIDFile= names the daemon. */
    pidFileDue: ({ context, event }) => {
      const end = ended(context, event);
      return (
        context.config.Type === 'forking' &&
        context.config.PIDFile !== null &&
        end?.role === 'control' &&
        endResult(context, end) === 'success'
      );
    },
    awaitingPidFile: ({ context }) =>
      context.config.Type === 'forking' &&
      context.config.PIDFile !== null &&
      idle(context, 'control') &&
      context.mainPid === null &&
      context.result === 'success',
    pidFound: ({ event }) => event.type === 'PIDFILE' && event.pid !== null,
    hasStartPost: ({ context }) => context.config.ExecStartPost.length > 0,
    mainGone: ({ context }) => mainGone(context),
    remainAfterExit: ({ context }) => context.config.RemainAfterExit,
    stoppingNotified: ({ context }) => context.notifyState === 'stopping',
    reloadingNotified: ({ context }) => context.notifyState === 'reloading',
    canReload: ({ context }) => context.config.ExecReload.length > 0,
    oomStop: ({ context }) => context.config.OOMPolicy === 'stop',
    oomKill: ({ context }) => context.config.OOMPolicy === 'kill',
    watchdogTriggered: ({ event }) => event.type === 'NOTIFY' && event.fields.WATCHDOG === 'trigger',
    reloadDone: ({ context }) =>
      idle(context, 'control') && context.queue.length === 0 && (context.notifyState !== 'reloading' || mainGone(context)),
    reloadAbandoned: ({ context }) => context.reloadResult === 'failed',
    sendSigkill: ({ context }) => context.config.SendSIGKILL,
    shallRestart: ({ context }) => shallRestart(context),
  },
});

/** Restart= will bring the service back once nothing of it runs (systemd's service_shall_restart). */
export function shallRestart(context: ServiceContext): boolean {
  return (
    !context.forbidRestart &&
    !exitListed(context.mainExit, context.config.RestartPreventExitStatus) &&
    restartAllowed(context.config.Restart, context.result)
  );
}

const enter = (state: ServiceState, timer: Timer) => ({ type: 'enter', params: { state, timer } }) as const;
const load = (phase: Phase) => ({ type: 'load', params: { phase } }) as const;
const fail = (result: UnitResult) => ({ type: 'fail', params: { result } }) as const;
const forget = (...roles: ProcRole[]) => ({ type: 'forget', params: { roles } }) as const;

/** Signal everything we track (and, per KillMode, the rest of the unit). */
const killAll = (kind: SignalKind) =>
  ({
    type: 'kill',
    params: ({ context }: { context: ServiceContext }): KillParams => ({
      signal: signalOf(kind, context),
      mainPid: context.mainPid,
      controlPid: context.controlPid,
      mode: context.config.KillMode,
    }),
  }) as const;

/** Signal the process a SPAWNED just named, and only it. */
const killSpawned = (kind: SignalKind) =>
  ({
    type: 'kill',
    params: ({ context, event }: { context: ServiceContext; event: ServiceEvent }): KillParams => {
      const pid = event.type === 'SPAWNED' ? event.pid : null;
      const main = event.type === 'SPAWNED' && event.role === 'main';
      return { signal: signalOf(kind, context), mainPid: main ? pid : null, controlPid: main ? null : pid, mode: 'process' };
    },
  }) as const;

const killControl = {
  type: 'kill',
  params: ({ context }: { context: ServiceContext }): KillParams => ({
    signal: 'SIGKILL',
    mainPid: null,
    controlPid: context.controlPid,
    mode: 'process',
  }),
} as const;

/** Hand the next queued command of the phase to the runtime. */
const next = {
  guard: 'queued',
  actions: [
    {
      type: 'spawn',
      params: ({ context }: { context: ServiceContext }): SpawnParams => ({
        role: roleOf(context.phase, context),
        command: context.queue[0],
        // `queued` holds, so `load` set the phase.
        phase: context.phase!,
      }),
    },
    'pop',
  ],
} as const;

/** systemd's service_enter_signal(STOP_SIGTERM): the way out of any failed or cancelled start. */
const terminate = (first?: ReturnType<typeof fail> | 'forbidRestart') =>
  ({ target: 'stop-sigterm', actions: first ? [first, killAll('term')] : [killAll('term')] }) as const;

/**
 * systemd's service_notify_cgroup_oom_event() while the unit starts or runs: OOMPolicy=stop fails it, and the
 * state's `failed` guard stops it; kill SIGKILLs everything at once; continue leaves it be (effects.ts logs it).
 */
const oom = {
  OOM: [
    { guard: 'oomKill', target: 'stop-sigkill', actions: fail('oom-kill') },
    { guard: 'oomStop', actions: fail('oom-kill') },
  ],
} as const;

/** systemd's service_enter_dead(): restart, fail or rest, once nothing of ours runs. */
const finish = [
  { guard: and(['allIdle', 'shallRestart']), target: 'auto-restart' },
  { guard: and(['allIdle', 'failed']), target: 'failed' },
  { guard: 'allIdle', target: 'dead' },
] as const;

/** START from rest, and the end of RestartSec=: through the start limit into ExecStartPre=. */
const start = (count: 'resetRestarts' | 'countRestart', when?: 'due') =>
  [
    {
      guard: when ? and([when, 'startLimitHit']) : 'startLimitHit',
      target: 'failed',
      // From failed itself too: re-entering is what counts the failure.
      reenter: true,
      actions: [count, 'noteStart', 'hitStartLimit'],
    },
    { guard: when, target: 'start-pre', actions: [count, 'noteStart', 'beginStart'] },
  ] as const;

/** States where MAINPID= may name a new main process (systemd's list). */
const adoptsMainPid = { NOTIFY: { actions: ['noteNotify', 'adoptMainPid'] } } as const;

/** Stop requests while something runs go straight to the kill (systemd's service_stop()). */
const cancel = { STOP: terminate('forbidRestart') } as const;

export const serviceMachine = machineSetup.createMachine({
  id: 'service',
  context: ({ input }) => ({
    config: input.config,
    result: 'success',
    failures: 0,
    since: input.now,
    deadline: null,
    lastActive: 'inactive',
    mainPid: null,
    controlPid: null,
    spawning: { main: false, control: false },
    phase: null,
    queue: [],
    mainCommand: null,
    controlCommand: null,
    mainExit: null,
    reloadResult: null,
    notifyState: null,
    statusText: null,
    statusErrno: null,
    nRestarts: 0,
    startTimes: [],
    forbidRestart: false,
  }),
  initial: 'dead',
  on: {
    SPAWNED: [{ guard: 'expected', actions: 'record' }, { actions: killSpawned('kill') }],
    SPAWN_FAILED: { guard: 'ended', actions: { type: 'reap', params: { into: 'result' } } },
    EXIT: { guard: 'ended', actions: { type: 'reap', params: { into: 'result' } } },
    NOTIFY: { actions: 'noteNotify' },
    STOP: { actions: 'forbidRestart' },
    RESET_FAILED: { actions: 'resetCounters' },
  },
  states: {
    dead: {
      entry: [enter('dead', 'none'), 'endRun'],
      on: { START: start('resetRestarts') },
    },
    failed: {
      entry: [enter('failed', 'none'), 'endRun', 'countFailure'],
      on: {
        START: start('resetRestarts'),
        RESET_FAILED: { target: 'dead', actions: ['resetCounters', 'resetResult'] },
      },
    },
    'auto-restart': {
      entry: [enter('auto-restart', 'restart'), 'endRun', 'countFailureIfFailed'],
      on: {
        TIMEOUT: start('countRestart', 'due'),
        START: start('countRestart'),
        STOP: { target: 'dead', actions: 'forbidRestart' },
      },
    },
    'start-pre': {
      entry: [enter('start-pre', 'start'), load('ExecStartPre')],
      always: [next, { guard: 'failed', ...terminate() }, { guard: 'controlIdle', target: 'start' }],
      on: { TIMEOUT: { guard: 'due', ...terminate(fail('timeout')) }, ...oom, ...cancel },
    },
    start: {
      entry: [enter('start', 'keep'), load('ExecStart')],
      always: [
        next,
        { guard: 'failed', ...terminate() },
        { guard: 'simpleStarted', target: 'start-post' },
        { guard: 'oneshotDone', target: 'start-post' },
        { guard: 'forkingDone', target: 'start-post' },
        { guard: 'notifyReady', target: 'start-post' },
        { guard: 'notifyLost', ...terminate(fail('protocol')) },
      ],
      on: {
        EXIT: {
          guard: 'pidFileDue',
          actions: [
            { type: 'reap', params: { into: 'result' } },
            // `pidFileDue` holds, so PIDFile= is set.
            { type: 'readPidFile', params: ({ context }) => ({ path: context.config.PIDFile! }) },
          ],
        },
        PIDFILE: [
          { guard: and(['awaitingPidFile', 'pidFound']), target: 'start-post', actions: 'adoptPidFile' },
          // systemd reads the file again after ExecStartPost=, which may be what writes it; we go on without.
          { guard: and(['awaitingPidFile', 'hasStartPost']), target: 'start-post' },
          { guard: 'awaitingPidFile', ...terminate(fail('protocol')) },
        ],
        TIMEOUT: { guard: 'due', ...terminate(fail('timeout')) },
        ...oom,
        ...adoptsMainPid,
        ...cancel,
      },
    },
    'start-post': {
      entry: [enter('start-post', 'keep'), load('ExecStartPost')],
      always: [next, { guard: 'failed', ...terminate() }, { guard: 'controlIdle', target: 'running' }],
      on: { TIMEOUT: { guard: 'due', ...terminate(fail('timeout')) }, ...oom, ...adoptsMainPid, ...cancel },
    },
    // systemd's service_enter_running(): the service stays here only while it is good.
    running: {
      entry: enter('running', 'watchdog'),
      always: [
        { guard: 'failed', ...terminate() },
        { guard: and(['mainGone', 'remainAfterExit']), target: 'exited' },
        { guard: 'mainGone', target: 'stop' },
        // STOPPING=1: the service stops by itself, as if we had sent SIGTERM.
        { guard: 'stoppingNotified', target: 'stop-sigterm' },
        { guard: 'reloadingNotified', target: 'reload', actions: 'beginReload' },
      ],
      on: {
        RELOAD: { guard: 'canReload', target: 'reload', actions: ['beginReload', load('ExecReload')] },
        STOP: { target: 'stop', actions: 'forbidRestart' },
        NOTIFY: [
          { guard: 'watchdogTriggered', target: 'stop-sigterm', actions: ['noteNotify', fail('watchdog'), killAll('abort')] },
          { actions: ['noteNotify', 'adoptMainPid', 'petWatchdog'] },
        ],
        TIMEOUT: { guard: 'due', target: 'stop-sigterm', actions: [fail('watchdog'), killAll('abort')] },
        ...oom,
      },
    },
    exited: {
      entry: enter('exited', 'none'),
      on: {
        RELOAD: { guard: 'canReload', target: 'reload', actions: ['beginReload', load('ExecReload')] },
        STOP: { target: 'stop', actions: 'forbidRestart' },
      },
    },
    reload: {
      entry: enter('reload', 'start'),
      always: [next, { guard: 'reloadDone', target: 'running', actions: 'finishReload' }],
      on: {
        // A failed reload fails the reload, not the service.
        EXIT: { guard: 'controlEnded', actions: { type: 'reap', params: { into: 'reloadResult' } } },
        SPAWN_FAILED: { guard: 'controlEnded', actions: { type: 'reap', params: { into: 'reloadResult' } } },
        SPAWNED: { guard: and(['expected', 'reloadAbandoned']), actions: ['record', killSpawned('kill')] },
        TIMEOUT: { guard: 'due', actions: [killControl, 'abandonReload'] },
        ...adoptsMainPid,
        ...cancel,
      },
    },
    stop: {
      entry: [enter('stop', 'stop'), load('ExecStop')],
      always: [next, { guard: 'controlIdle', ...terminate() }],
      on: { TIMEOUT: { guard: 'due', ...terminate(fail('timeout')) }, ...adoptsMainPid },
    },
    'stop-sigterm': {
      entry: enter('stop-sigterm', 'stop'),
      always: { guard: 'allIdle', target: 'stop-post' },
      on: {
        SPAWNED: { guard: 'expected', actions: ['record', killSpawned('term')] },
        TIMEOUT: [
          { guard: and(['due', 'sendSigkill']), target: 'stop-sigkill', actions: fail('timeout') },
          { guard: 'due', target: 'stop-post', actions: fail('timeout') },
        ],
        ...adoptsMainPid,
      },
    },
    'stop-sigkill': {
      entry: [enter('stop-sigkill', 'stop'), killAll('kill')],
      always: { guard: 'allIdle', target: 'stop-post' },
      on: {
        SPAWNED: { guard: 'expected', actions: ['record', killSpawned('kill')] },
        // Still there after SIGKILL: go on with ExecStopPost= anyway, as systemd does.
        TIMEOUT: { guard: 'due', target: 'stop-post', actions: [fail('timeout'), forget('control')] },
      },
    },
    'stop-post': {
      entry: [enter('stop-post', 'stop'), load('ExecStopPost')],
      always: [next, { guard: 'allIdle', target: 'final-sigterm' }],
      on: { TIMEOUT: { guard: 'due', target: 'final-sigterm', actions: fail('timeout') } },
    },
    'final-sigterm': {
      entry: [enter('final-sigterm', 'stop'), killAll('term')],
      always: finish,
      on: {
        SPAWNED: { guard: 'expected', actions: ['record', killSpawned('term')] },
        TIMEOUT: [
          { guard: and(['due', 'sendSigkill']), target: 'final-sigkill', actions: fail('timeout') },
          { guard: 'due', actions: [fail('timeout'), forget('main', 'control'), 'forbidRestart'] },
        ],
      },
    },
    'final-sigkill': {
      entry: [enter('final-sigkill', 'stop'), killAll('kill')],
      always: finish,
      on: {
        SPAWNED: { guard: 'expected', actions: ['record', killSpawned('kill')] },
        TIMEOUT: { guard: 'due', actions: [fail('timeout'), forget('main', 'control')] },
      },
    },
  },
});

export type ServiceMachine = typeof serviceMachine;
