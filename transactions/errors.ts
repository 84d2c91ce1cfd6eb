import type { JobType } from './types.js';

export type TransactionErrorCode =
  /** The After/Before graph of the jobs has a cycle that no droppable job breaks. */
  | 'ECYCLE'
  /** Two jobs for one unit that cannot merge (start and stop), both needed by the anchor. */
  | 'ECONFLICT'
  /** Mode `fail`, and the transaction would cancel a queued job. */
  | 'EDESTRUCTIVE'
  /** An anchor (or a unit it requires) is not loaded. */
  | 'ENOUNIT'
  /** A reload of a unit that cannot reload. */
  | 'ENORELOAD'
  /** wait() for a transaction the engine does not know (never queued, or finished long ago). */
  | 'ENOTRANSACTION';

export interface TransactionErrorDetail {
  /** ECYCLE: the units of the cycle in execution order, the first repeated at the end. */
  cycle?: string[];
  /** ECONFLICT, EDESTRUCTIVE: the two jobs that collide. */
  jobs?: { unit: string; type: JobType }[];
  /** ENOUNIT, ENORELOAD: the unit. */
  unit?: string;
}

/** Why a transaction could not be built; nothing was queued. */
export class TransactionError extends Error {
  constructor(
    readonly code: TransactionErrorCode,
    message: string,
    readonly detail: TransactionErrorDetail = {},
  ) {
    super(message);
    this.name = 'TransactionError';
  }
}
