// The path statechart (systemd's path unit): watches paths while it runs and starts Unit= when a condition holds
// (PathExists=, PathExistsGlob=, DirectoryNotEmpty=) or a change happens (PathChanged=, PathModified=). The effects
// (units/path.ts) keep the inotify watches, look at the paths and report what they see as events.
import { and, assign, setup } from 'xstate';
import type { PathConfig } from '../specs/types.js';
import { checkTrigger } from './ratelimit.js';
import { freshContext, type ActiveState, type CommonEvent, type UnitContextBase } from './types.js';

export type PathState = 'dead' | 'waiting' | 'running' | 'failed';

export const PATH_ACTIVE: Record<PathState, ActiveState> = {
  dead: 'inactive',
  waiting: 'active',
  running: 'active',
  failed: 'failed',
};

/** What the effects know of a PathChanged=/PathModified= path: mtime, ctime and inode, or null while it is missing. */
export type Stamps = Record<string, string | null>;

export type PathEvent =
  | CommonEvent
  /**
   * At `path`, a condition holds (PathExists=, PathExistsGlob=, DirectoryNotEmpty=: `edge` false) or a change
   * happened (PathChanged=, PathModified=: `edge` true).
   */
  | { type: 'FIRED'; path: string; edge: boolean; now: number }
  /** How the changed paths look now (sent when it differs from the context's). */
  | { type: 'SEEN'; stamps: Stamps; now: number }
  /** The watches cannot be set (no inotify instance left, permission denied on every parent). */
  | { type: 'WATCH_FAILED'; error: string; now: number }
  /** Unit= went up or down, whoever started or stopped it. */
  | { type: 'UNIT_UP'; now: number }
  | { type: 'UNIT_DOWN'; now: number };

export interface PathInput {
  config: PathConfig;
  now: number;
}

export interface PathContext extends UnitContextBase {
  config: PathConfig;
  /** Trigger times of the current TriggerLimitIntervalSec= window. */
  triggers: number[];
  /** Where a change came while Unit= ran: it is started again for it once it stops. */
  missed: string | null;
  /** The path that last triggered Unit= (systemd's TRIGGER_PATH). */
  path: string | null;
  /** The changed paths as last seen: a change made while no core ran shows as a difference (units/path.ts adopt). */
  stamps: Stamps;
  /** Why the watches failed. */
  error: string | null;
}

/** Params of `watch`: `initial` on START (MakeDirectory=, and a change is not looked for), else a re-check. */
export interface WatchParams {
  initial: boolean;
}

export const pathMachine = setup({
  types: {} as { context: PathContext; events: PathEvent; input: PathInput },
  actions: {
    // Effects: units/path.ts.
    watch: (_, _params: WatchParams) => {},
    unwatch: () => {},
    trigger: () => {},
    touch: assign(({ event }) => ({ since: event.now })),
    started: assign(({ event }) => ({ since: event.now, result: 'success' as const, triggers: [], missed: null, path: null, error: null })),
    fire: assign(({ context, event }) => ({
      triggers: checkTrigger(context, event.now).times,
      missed: null,
      path: event.type === 'FIRED' ? event.path : context.missed,
    })),
    miss: assign(({ context, event }) => ({ missed: event.type === 'FIRED' ? event.path : context.missed })),
    see: assign(({ context, event }) => ({ stamps: event.type === 'SEEN' ? event.stamps : context.stamps })),
    limitHit: assign(({ context, event }) => ({ since: event.now, result: 'trigger-limit-hit' as const, failures: context.failures + 1 })),
    watchFailed: assign(({ context, event }) => ({
      since: event.now,
      result: 'resources' as const,
      failures: context.failures + 1,
      error: event.type === 'WATCH_FAILED' ? event.error : null,
    })),
  },
  guards: {
    allowed: ({ context, event }) => checkTrigger(context, event.now).ok,
    edge: ({ event }) => event.type === 'FIRED' && event.edge,
    missed: ({ context }) => context.missed !== null,
  },
}).createMachine({
  id: 'path',
  context: ({ input }) => ({
    config: input.config,
    ...freshContext(input.now),
    triggers: [],
    missed: null,
    path: null,
    stamps: {},
    error: null,
  }),
  initial: 'dead',
  states: {
    dead: {
      on: { START: { target: 'waiting', actions: ['started', { type: 'watch', params: { initial: true } }] } },
    },
    waiting: {
      on: {
        FIRED: [
          { guard: 'allowed', target: 'running', actions: ['fire', 'trigger'] },
          { target: 'failed', actions: ['limitHit', 'unwatch'] },
        ],
        UNIT_UP: 'running',
        SEEN: { actions: 'see' },
        WATCH_FAILED: { target: 'failed', actions: ['watchFailed', 'unwatch'] },
        STOP: { target: 'dead', actions: ['touch', 'unwatch'] },
      },
    },
    running: {
      on: {
        FIRED: { guard: 'edge', actions: 'miss' },
        // Back to waiting, where the conditions are looked at again; a change that came meanwhile triggers at once.
        UNIT_DOWN: [
          { guard: and(['missed', 'allowed']), actions: ['fire', 'trigger'] },
          { guard: 'missed', target: 'failed', actions: ['limitHit', 'unwatch'] },
          { target: 'waiting', actions: { type: 'watch', params: { initial: false } } },
        ],
        SEEN: { actions: 'see' },
        WATCH_FAILED: { target: 'failed', actions: ['watchFailed', 'unwatch'] },
        STOP: { target: 'dead', actions: ['touch', 'unwatch'] },
      },
    },
    failed: {
      on: {
        START: { target: 'waiting', actions: ['started', { type: 'watch', params: { initial: true } }] },
        RESET_FAILED: { target: 'dead', actions: 'touch' },
      },
    },
  },
});

export type PathMachine = typeof pathMachine;
