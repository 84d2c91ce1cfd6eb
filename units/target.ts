// The target row of the unit-type registry.
import type { AnyMachineSnapshot, Snapshot } from 'xstate';
import { TARGET_ACTIVE, targetMachine, type TargetState } from '../machines/target.js';
import type { UnitType } from './types.js';

function stateOf(snapshot: Snapshot<unknown>): TargetState {
  return (snapshot as AnyMachineSnapshot).value as TargetState;
}

export const target: UnitType = {
  name: 'target',
  // A target has no section of its own: only the common [Unit] keys.
  keys: [],
  machine: targetMachine,
  activeState: (snapshot) => TARGET_ACTIVE[stateOf(snapshot)],
  subState: stateOf,
  canReload: () => false,
  liveKeys: ['Description'],
};
