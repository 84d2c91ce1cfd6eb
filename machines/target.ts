// The target statechart: a target only groups units, so it is active from START to STOP and has no work of its own.
import { assign, setup } from 'xstate';
import type { TargetConfig } from '../specs/types.js';
import type { ActiveState, CommonEvent, UnitContextBase } from './types.js';

export type TargetState = 'inactive' | 'active';

export const TARGET_ACTIVE: Record<TargetState, ActiveState> = {
  inactive: 'inactive',
  active: 'active',
};

export interface TargetInput {
  config: TargetConfig;
  now: number;
}

export interface TargetContext extends UnitContextBase {
  config: TargetConfig;
}

export const targetMachine = setup({
  types: {} as { context: TargetContext; events: CommonEvent; input: TargetInput },
  actions: {
    /** Both transitions change the public state, so each dates it. */
    touch: assign(({ event }) => ({ since: event.now })),
  },
}).createMachine({
  id: 'target',
  context: ({ input }) => ({ config: input.config, result: 'success', failures: 0, since: input.now, deadline: null }),
  initial: 'inactive',
  states: {
    inactive: { on: { START: { target: 'active', actions: 'touch' } } },
    active: { on: { STOP: { target: 'inactive', actions: 'touch' } } },
  },
});

export type TargetMachine = typeof targetMachine;
