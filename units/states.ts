// A unit type's two state readings, for a machine whose states are flat: the state's name is systemd's SubState,
// and a total table maps it to the public state.
import type { AnyMachineSnapshot, Snapshot } from 'xstate';
import type { ActiveState } from '../machines/types.js';
import type { UnitType } from './types.js';

export function flatStates<S extends string>(table: Record<S, ActiveState>): Pick<UnitType, 'activeState' | 'subState'> {
  const stateOf = (snapshot: Snapshot<unknown>) => (snapshot as AnyMachineSnapshot).value as S;
  return { activeState: (snapshot) => table[stateOf(snapshot)], subState: stateOf };
}
