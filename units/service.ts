// The service row of the unit-type registry.
import type { AnyMachineSnapshot, Snapshot } from 'xstate';
import { SERVICE_ACTIVE, serviceMachine, shallRestart, type ServiceContext, type ServiceState } from '../machines/service.js';
import { serviceKeys } from '../specs/keys.js';
import type { ServiceConfig, UnitCommon } from '../specs/types.js';
import type { UnitType } from './types.js';

function stateOf(snapshot: Snapshot<unknown>): ServiceState {
  return (snapshot as AnyMachineSnapshot).value as ServiceState;
}

export const service: UnitType = {
  name: 'service',
  keys: serviceKeys,
  machine: serviceMachine,
  activeState: (snapshot) => SERVICE_ACTIVE[stateOf(snapshot)],
  subState: stateOf,
  // Going down on its own after its process ended, with Restart= due: it is crash-looping, not stopping.
  comingBack: (snapshot) =>
    SERVICE_ACTIVE[stateOf(snapshot)] === 'deactivating' && shallRestart((snapshot as AnyMachineSnapshot).context as ServiceContext),
  canReload: (config: UnitCommon) => (config as ServiceConfig).ExecReload.length > 0,
  liveKeys: ['Description'],
};
