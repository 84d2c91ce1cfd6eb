// The socket statechart (systemd's socket unit): listening sockets opened on START and kept through a core's death
// by init's fd store; the service started on the first connection (Accept=no) or an instance per connection
// (Accept=yes). The effects (units/socket.ts) open, watch and close the fds, accept, and start the services.
import { assign, setup } from 'xstate';
import type { SocketConfig } from '../specs/types.js';
import { checkTrigger } from './ratelimit.js';
import { freshContext, type ActiveState, type CommonEvent, type UnitContextBase } from './types.js';

export type SocketState = 'dead' | 'opening' | 'listening' | 'running' | 'failed';

export const SOCKET_ACTIVE: Record<SocketState, ActiveState> = {
  dead: 'inactive',
  opening: 'activating',
  listening: 'active',
  running: 'active',
  failed: 'failed',
};

export type SocketEvent =
  | CommonEvent
  /** Every socket is open (and kept in init's store). */
  | { type: 'OPENED'; now: number }
  | { type: 'OPEN_FAILED'; error: string; now: number }
  /** Accept=no: a listening fd became readable (a connection, a datagram) while the service was down. */
  | { type: 'INCOMING'; now: number }
  /** Accept=yes: a connection was accepted and handed to a new instance. */
  | { type: 'ACCEPTED'; now: number }
  /** Accept=yes: an instance ended. */
  | { type: 'CLOSED'; now: number }
  /** The service went up or down, whoever started or stopped it. */
  | { type: 'SERVICE_UP'; now: number }
  | { type: 'SERVICE_DOWN'; now: number };

export interface SocketInput {
  config: SocketConfig;
  now: number;
}

export interface SocketContext extends UnitContextBase {
  config: SocketConfig;
  /** Start times of the current TriggerLimitIntervalSec= window. */
  triggers: number[];
  /** Connections accepted since the socket started (systemd's NAccepted), and those whose instance still runs. */
  accepted: number;
  connections: number;
  /** Why the last open failed. */
  error: string | null;
}

export const socketMachine = setup({
  types: {} as { context: SocketContext; events: SocketEvent; input: SocketInput },
  actions: {
    // Effects: units/socket.ts.
    open: () => {},
    close: () => {},
    watch: () => {},
    unwatch: () => {},
    activate: () => {},
    touch: assign(({ event }) => ({ since: event.now })),
    started: assign(({ event }) => ({ since: event.now, result: 'success' as const, triggers: [], accepted: 0, connections: 0, error: null })),
    trigger: assign(({ context, event }) => ({ triggers: checkTrigger(context, event.now).times })),
    accept: assign(({ context, event }) => ({
      triggers: checkTrigger(context, event.now).times,
      accepted: context.accepted + 1,
      connections: context.connections + 1,
    })),
    closed: assign(({ context }) => ({ connections: Math.max(0, context.connections - 1) })),
    limitHit: assign(({ context, event }) => ({ since: event.now, result: 'trigger-limit-hit' as const, failures: context.failures + 1 })),
    openFailed: assign(({ context, event }) => ({
      since: event.now,
      result: 'resources' as const,
      failures: context.failures + 1,
      error: event.type === 'OPEN_FAILED' ? event.error : null,
    })),
  },
  guards: {
    allowed: ({ context, event }) => checkTrigger(context, event.now).ok,
  },
}).createMachine({
  id: 'socket',
  context: ({ input }) => ({
    ...freshContext(input.now),
    config: input.config,
    triggers: [],
    accepted: 0,
    connections: 0,
    error: null,
  }),
  initial: 'dead',
  states: {
    dead: {
      on: { START: { target: 'opening', actions: ['started', 'open'] } },
    },
    opening: {
      on: {
        OPENED: { target: 'listening', actions: 'touch' },
        OPEN_FAILED: { target: 'failed', actions: ['openFailed', 'close'] },
        STOP: { target: 'dead', actions: ['touch', 'close'] },
      },
    },
    listening: {
      entry: 'watch',
      exit: 'unwatch',
      on: {
        INCOMING: [
          // Accept=yes accepts every connection itself (ACCEPTED): the socket is never handed over.
          { guard: ({ context }) => context.config.Accept },
          { guard: 'allowed', target: 'running', actions: ['trigger', 'activate'] },
          { target: 'failed', actions: ['limitHit', 'close'] },
        ],
        ACCEPTED: [{ guard: 'allowed', actions: 'accept' }, { target: 'failed', actions: ['limitHit', 'close'] }],
        CLOSED: { actions: 'closed' },
        SERVICE_UP: { target: 'running', guard: ({ context }) => !context.config.Accept },
        STOP: { target: 'dead', actions: ['touch', 'close'] },
      },
    },
    running: {
      on: {
        SERVICE_DOWN: 'listening',
        STOP: { target: 'dead', actions: ['touch', 'close'] },
      },
    },
    failed: {
      on: {
        START: { target: 'opening', actions: ['started', 'open'] },
        RESET_FAILED: { target: 'dead', actions: 'touch' },
        CLOSED: { actions: 'closed' },
      },
    },
  },
});

export type SocketMachine = typeof socketMachine;
