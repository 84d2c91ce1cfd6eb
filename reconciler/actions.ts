// SuccessAction= / FailureAction= (systemd's emergency actions): a unit that ends may end the manager, and in a
// container the container, with the unit's exit status.
import { constants } from 'node:os';
import type { ActiveState, ExitInfo } from '../machines/types.js';
import type { UnitAction, UnitCommon } from '../specs/types.js';

export interface ActionRequest {
  action: Exclude<UnitAction, 'none'>;
  /** The exit status to pass on: the unit's main process's (128+N for signal N), else 0 on success, 1 on failure. */
  code: number;
  unit: string;
  why: 'success' | 'failure';
}

/** The action a unit's public change asks for, or null: entering failed, or becoming inactive after a success. */
export function unitAction(
  unit: string,
  config: UnitCommon,
  change: { from: ActiveState; to: ActiveState; failed: boolean },
  ctx: { result: string; mainExit?: ExitInfo | null },
): ActionRequest | null {
  const failure = change.to === 'failed' && change.from !== 'failed';
  const success = change.to === 'inactive' && change.from !== 'inactive' && ctx.result === 'success';
  const action = failure ? config.FailureAction : success ? config.SuccessAction : 'none';
  if (action === 'none') return null;
  return { action, code: exitStatus(ctx.mainExit ?? null, failure ? 1 : 0), unit, why: failure ? 'failure' : 'success' };
}

/** A process's end as a shell reports it: its code, or 128 + the signal's number. */
export function exitStatus(exit: Pick<ExitInfo, 'code' | 'signal'> | null, otherwise: number): number {
  if (exit?.code !== null && exit?.code !== undefined) return exit.code;
  const n = exit?.signal ? constants.signals[exit.signal as keyof typeof constants.signals] : undefined;
  return n ? 128 + n : otherwise;
}
