// The mount statechart (systemd's mount unit). Its state follows /proc/self/mountinfo: the effects (units/mount.ts)
// report whether Where= is mounted (MOUNTINFO), whoever mounted or unmounted it, and run mount(8) or umount(8) as
// the unit's control process (SPAWNED, then EXIT). What a command did is read in mountinfo, not in its exit status
// alone, as systemd does.
import { assign, raise, setup } from 'xstate';
import type { MountConfig } from '../specs/types.js';
import { exitResult } from './exit.js';
import { freshContext, type ActiveState, type CommonEvent, type ProcessEvent, type UnitContextBase, type UnitResult } from './types.js';

export type MountState = 'dead' | 'mounting' | 'mounted' | 'remounting' | 'unmounting' | 'failed';

export const MOUNT_ACTIVE: Record<MountState, ActiveState> = {
  dead: 'inactive',
  mounting: 'activating',
  mounted: 'active',
  remounting: 'reloading',
  unmounting: 'deactivating',
  failed: 'failed',
};

export type MountCommand = 'mount' | 'umount' | 'remount';

/** The control command ended: how (`timeout` when it had to be killed, `resources` when it could not run). */
type Ended = { type: 'ENDED'; result: UnitResult; now: number };

export type MountEvent =
  | CommonEvent
  | Extract<ProcessEvent, { type: 'SPAWNED' | 'SPAWN_FAILED' | 'EXIT' }>
  /** Whether mountinfo shows Where= mounted now. */
  | { type: 'MOUNTINFO'; mounted: boolean; now: number }
  | Ended;

export interface MountInput {
  config: MountConfig;
  now: number;
}

export interface MountContext extends UnitContextBase {
  config: MountConfig;
  /** Whether mountinfo showed Where= mounted, as the effects last said. */
  mounted: boolean;
  /** The command that runs (or is being spawned), and its pid once known: the unit's control process. */
  command: MountCommand | null;
  controlPid: number | null;
  /** The command was killed on TimeoutSec=: the next timeout gives up waiting for it. */
  killed: boolean;
  /** umount(8) runs again while a mount stacked below shows at Where= (systemd's RETRY_UMOUNT_MAX). */
  retries: number;
  reloadResult: 'success' | 'failed' | null;
}

export interface RunParams {
  command: MountCommand;
}

const RETRY_UMOUNT_MAX = 32;

const deadline = (c: MountContext, now: number) => (Number.isFinite(c.config.TimeoutSec) ? now + c.config.TimeoutSec : null);

/** Run `command`, with its timeout: the effect spawns it once the state is saved. */
const running = (command: MountCommand) => [
  { type: 'arm' as const, params: { command } },
  { type: 'run' as const, params: { command } },
];

export const mountMachine = setup({
  types: {} as { context: MountContext; events: MountEvent; input: MountInput },
  actions: {
    // Effects: units/mount.ts. `kill` sends SIGKILL to the control process.
    run: (_, _params: RunParams) => {},
    kill: () => {},
    arm: assign(({ context, event }, params: RunParams) => ({
      command: params.command,
      controlPid: null,
      killed: false,
      deadline: deadline(context, event.now),
    })),
    touch: assign(({ event }) => ({ since: event.now })),
    see: assign(({ context, event }) => ({ mounted: event.type === 'MOUNTINFO' ? event.mounted : context.mounted })),
    spawned: assign(({ context, event }) => ({ controlPid: event.type === 'SPAWNED' ? event.pid : context.controlPid })),
    /** Every process end comes back as ENDED, so each state decides in one place. */
    ended: raise(({ context, event }): Ended => {
      const result: UnitResult =
        context.killed || event.type === 'TIMEOUT'
          ? 'timeout'
          : event.type === 'EXIT'
            ? exitResult(event, { codes: [], signals: [] }, false)
            : 'resources';
      return { type: 'ENDED', result, now: event.now };
    }),
    idle: assign({ command: null, controlPid: null, killed: false, deadline: null }),
    begin: assign({ result: 'success' as const, retries: 0 }),
    timedOut: assign(({ context, event }) => ({ killed: true, deadline: deadline(context, event.now) })),
    fail: assign(({ context, event }) => ({
      failures: context.failures + 1,
      // mount(8) said it mounted, mountinfo shows nothing: systemd's "Mount process finished, but there is no mount."
      result: event.type === 'ENDED' ? (event.result === 'success' ? 'protocol' : event.result) : context.result,
    })),
    note: assign(({ context, event }) => ({ result: event.type === 'ENDED' && event.result !== 'success' ? event.result : context.result })),
    reloaded: assign(({ event }) => ({ reloadResult: event.type === 'ENDED' && event.result === 'success' ? ('success' as const) : ('failed' as const) })),
    retry: assign(({ context }) => ({ retries: context.retries + 1 })),
  },
  guards: {
    mounted: ({ context }) => context.mounted,
    appeared: ({ event }) => event.type === 'MOUNTINFO' && event.mounted,
    vanished: ({ event }) => event.type === 'MOUNTINFO' && !event.mounted,
    ours: ({ context, event }) => event.type === 'EXIT' && event.pid === context.controlPid,
    /** The first timeout kills the command; the next gives up on a process that SIGKILL does not end (D state). */
    killable: ({ context }) => !context.killed && context.controlPid !== null,
    /** A mount or remount killed by STOP has ended: Where= is unmounted next, if mounted. */
    stopping: ({ context }) => context.command !== 'umount' && context.mounted,
    stacked: ({ context, event }) =>
      context.mounted && event.type === 'ENDED' && event.result === 'success' && context.retries < RETRY_UMOUNT_MAX,
  },
}).createMachine({
  id: 'mount',
  context: ({ input }) => ({
    config: input.config,
    ...freshContext(input.now),
    mounted: false,
    command: null,
    controlPid: null,
    killed: false,
    retries: 0,
    reloadResult: null,
  }),
  initial: 'dead',
  // The control process's answers mean the same everywhere; MOUNTINFO is booked here, the states decide on it.
  on: {
    SPAWNED: { actions: 'spawned' },
    SPAWN_FAILED: { guard: ({ context }) => context.command !== null, actions: 'ended' },
    EXIT: { guard: 'ours', actions: 'ended' },
  },
  states: {
    dead: {
      on: {
        START: { target: 'mounting', actions: ['touch', 'begin', ...running('mount')] },
        MOUNTINFO: { guard: 'appeared', target: 'mounted', actions: ['see', 'touch', 'begin'] },
      },
    },
    mounting: {
      on: {
        MOUNTINFO: { actions: 'see' },
        ENDED: [
          { guard: 'mounted', target: 'mounted', actions: ['idle', 'touch'] },
          { target: 'failed', actions: ['idle', 'touch', 'fail'] },
        ],
        TIMEOUT: [{ guard: 'killable', actions: ['timedOut', 'kill'] }, { actions: 'ended' }],
        STOP: { target: 'unmounting', actions: ['touch', 'kill'] },
      },
    },
    mounted: {
      on: {
        MOUNTINFO: { guard: 'vanished', target: 'dead', actions: ['see', 'touch'] },
        STOP: { target: 'unmounting', actions: ['touch', ...running('umount')] },
        RELOAD: { target: 'remounting', actions: ['touch', ...running('remount')] },
      },
    },
    remounting: {
      on: {
        MOUNTINFO: { actions: 'see' },
        ENDED: [
          { guard: 'mounted', target: 'mounted', actions: ['idle', 'touch', 'reloaded'] },
          { target: 'dead', actions: ['idle', 'touch'] },
        ],
        TIMEOUT: [{ guard: 'killable', actions: ['timedOut', 'kill'] }, { actions: 'ended' }],
        STOP: { target: 'unmounting', actions: ['touch', 'kill'] },
      },
    },
    unmounting: {
      on: {
        MOUNTINFO: { actions: 'see' },
        // A SPAWNED that comes after STOP is for the mount that STOP ends: killed as soon as its pid is known.
        SPAWNED: { actions: ['spawned', 'kill'], guard: ({ context }) => context.command !== 'umount' },
        ENDED: [
          { guard: 'stopping', actions: running('umount') },
          { guard: 'stacked', actions: ['retry', ...running('umount')] },
          { guard: 'mounted', target: 'mounted', actions: ['idle', 'touch', 'note'] },
          { target: 'dead', actions: ['idle', 'touch'] },
        ],
        TIMEOUT: [{ guard: 'killable', actions: ['timedOut', 'kill'] }, { actions: 'ended' }],
      },
    },
    failed: {
      on: {
        START: { target: 'mounting', actions: ['touch', 'begin', ...running('mount')] },
        RESET_FAILED: { target: 'dead', actions: 'touch' },
        MOUNTINFO: { guard: 'appeared', target: 'mounted', actions: ['see', 'touch', 'begin'] },
      },
    },
  },
});

export type MountMachine = typeof mountMachine;
