import type { AnyStateMachine, Snapshot } from 'xstate';
import type { ActiveState } from '../machines/types.js';
import type { UnitCommon, UnitSpec } from '../specs/types.js';
import type { KeyDef } from '../specs/keys.js';
import type { TypeEffects, UnitRuntime } from './runtime.js';

/**
 * One row of the unit-type registry (systemd's UnitVTable). transactions/ and reconciler/ only ever see this
 * interface: adding a unit type adds a module and a registry row, and touches no engine file.
 */
export interface UnitType {
  /** 'service': the suffix of unit names and the spec's table name ([service.NAME]). */
  name: string;
  /** Spec keys of this type's own section, on top of the common [Unit] keys. */
  keys: KeyDef[];
  /** The pure statechart; the runtime provides its effects. Input: { config, now }. */
  machine: AnyStateMachine;
  /** Total map private state → public state. */
  activeState(snapshot: Snapshot<unknown>): ActiveState;
  /** systemd's SubState (the private state's name: 'running', 'start-pre', 'auto-restart', ...). */
  subState(snapshot: Snapshot<unknown>): string;
  /** Deactivating, but on its way back by itself (a service's Restart=); absent: never. */
  comingBack?(snapshot: Snapshot<unknown>): boolean;
  /** Whether a reload job makes sense (service: ExecReload set). */
  canReload(config: UnitCommon): boolean;
  /** Keys whose change applies without restarting the unit (Description, ...). */
  liveKeys: string[];
  /** The effects its machine's actions name, made with the core's runtime; absent: the service effects (reconciler/effects.ts). */
  effects?(runtime: UnitRuntime): TypeEffects;
  /** Whether the manager's exit leaves the unit as it is (a mount it found, made by someone else); absent: never. */
  keepOnExit?(spec: UnitSpec): boolean;
  /**
   * Whether a stop job is done at once and leaves the unit as it is (a plugged device: the manager cannot unplug
   * it, systemd's unit without a stop method); absent: never.
   */
  unstoppable?(snapshot: Snapshot<unknown>): boolean;
}
