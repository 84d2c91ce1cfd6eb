// The device statechart (systemd's device unit). A device is plugged or not; the manager cannot make it appear or
// go. The effects (units/device.ts) say when it is there (PLUG, with its /sys path and the udev SYSTEMD_WANTS) and
// when it is gone (UNPLUG). A start job on an absent device waits for it, up to JobRunningTimeoutSec=; a stop job
// leaves a plugged device as it is (UnitType.unstoppable), and only cancels such a wait.
import { assign, setup } from 'xstate';
import type { DeviceConfig } from '../specs/types.js';
import { freshContext, type ActiveState, type CommonEvent, type UnitContextBase } from './types.js';

/** `waiting`: a start job waits for the device (systemd keeps such a unit `dead`, its job running). */
export type DeviceState = 'dead' | 'waiting' | 'plugged';

export const DEVICE_ACTIVE: Record<DeviceState, ActiveState> = {
  dead: 'inactive',
  waiting: 'activating',
  plugged: 'active',
};

export type DeviceEvent =
  | CommonEvent
  /** The device is there and ready: its /sys path, and the units its udev SYSTEMD_WANTS names (main unit only). */
  | { type: 'PLUG'; sysfs: string; wants: string[]; now: number }
  /** Removed, no longer tagged, or SYSTEMD_READY=0. */
  | { type: 'UNPLUG'; now: number };

export interface DeviceInput {
  config: DeviceConfig;
  now: number;
}

export interface DeviceContext extends UnitContextBase {
  config: DeviceConfig;
  /** The device's /sys path while plugged (systemd's SysFSPath=), else null. */
  sysfs: string | null;
  /** Its SYSTEMD_WANTS, as the last PLUG said. */
  wants: string[];
}

/** What the effects start: SYSTEMD_WANTS units, and with `own` what the unit itself wants (Wants=, WantedBy=, ...). */
export interface PullInParams {
  own: boolean;
  wants: string[];
  /** SYSTEMD_WANTS units listed before: started again only if they are not running (systemd's rule). */
  listed: string[];
}

const pullIn = (own: boolean) => ({
  type: 'pullIn' as const,
  params: ({ context, event }: { context: DeviceContext; event: DeviceEvent }): PullInParams => ({
    own,
    wants: event.type === 'PLUG' ? event.wants : [],
    listed: context.wants,
  }),
});

export const deviceMachine = setup({
  types: {} as { context: DeviceContext; events: DeviceEvent; input: DeviceInput },
  actions: {
    // Effects: units/device.ts. `probe` looks the device up (it may be there already), `pullIn` starts its wants.
    probe: () => {},
    pullIn: (_, _params: PullInParams) => {},
    touch: assign(({ event }) => ({ since: event.now })),
    see: assign(({ context, event }) => (event.type === 'PLUG' ? { sysfs: event.sysfs, wants: event.wants } : context)),
    forget: assign({ sysfs: null, wants: [] }),
    begin: assign({ result: 'success' as const }),
    arm: assign(({ context, event }) => ({
      deadline: Number.isFinite(context.config.JobRunningTimeoutSec) ? event.now + context.config.JobRunningTimeoutSec : null,
    })),
    disarm: assign({ deadline: null }),
    timedOut: assign(({ context }) => ({ result: 'timeout' as const, failures: context.failures + 1 })),
  },
}).createMachine({
  id: 'device',
  context: ({ input }) => ({ config: input.config, ...freshContext(input.now), sysfs: null, wants: [] }),
  // A new unit: the effects look whether its device is there already, which no event will say again. (An actor
  // restored after a crash of the manager does not run this: adopt() and the type's start() look instead.)
  entry: 'probe',
  initial: 'dead',
  states: {
    dead: {
      on: {
        START: { target: 'waiting', actions: ['touch', 'begin', 'arm'] },
        // Plugged without a job: what it wants starts, as systemd's retroactively_start_dependencies().
        PLUG: {
          target: 'plugged',
          actions: ['touch', 'begin', pullIn(true), 'see'],
        },
      },
    },
    waiting: {
      on: {
        // The start job's transaction pulled in the unit's own wants already; SYSTEMD_WANTS only the device knows.
        PLUG: {
          target: 'plugged',
          actions: ['touch', 'disarm', pullIn(false), 'see'],
        },
        TIMEOUT: { target: 'dead', actions: ['touch', 'disarm', 'timedOut'] },
        // The job was replaced or cancelled by a stop.
        STOP: { target: 'dead', actions: ['touch', 'disarm'] },
      },
    },
    plugged: {
      on: {
        // A change event: the same device, perhaps with other SYSTEMD_WANTS (systemd's device_add_udev_wants()).
        PLUG: [{ guard: ({ event }) => event.wants.length > 0, actions: [pullIn(false), 'see'] }, { actions: 'see' }],
        UNPLUG: { target: 'dead', actions: ['touch', 'forget'] },
      },
    },
  },
});

export type DeviceMachine = typeof deviceMachine;
