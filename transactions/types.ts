// Jobs and dependency atoms. Nothing here names a unit type or a dependency keyword: units/atoms.ts reduces the
// spec's keywords to atoms once, at load.

export type JobType = 'start' | 'stop' | 'restart' | 'reload' | 'try-restart' | 'reload-or-restart' | 'verify-active' | 'nop';
export type JobMode = 'replace' | 'fail' | 'isolate';
/** systemd's job results. */
export type JobResult = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped';
export type JobState = 'waiting' | 'running';

export interface Job {
  id: number;
  unit: string;
  type: JobType;
  state: JobState;
  /** Whether the job's failure fails the transaction's anchor (Wants= pulls in jobs that do not matter). */
  matters: boolean;
  /** Id of the transaction that queued it. */
  transaction: number;
}

/** A unit's dependencies reduced to what the engine acts on (systemd's UnitDependencyAtom). */
export interface Atoms {
  /** Start these too; their failure fails us (Requires, BindsTo, reverse RequiredBy). */
  pullInStart: string[];
  /** Start these too; their failure is ignored (Wants, reverse WantedBy). */
  pullInStartIgnored: string[];
  /** They must already be active (Requisite). */
  pullInVerify: string[];
  /** Starting us stops them, and them us (Conflicts, symmetric). */
  pullInStop: string[];
  /** When we stop, stop them too (reverse of Requires, BindsTo, PartOf). */
  propagateStop: string[];
  /** When we restart, restart them too (reverse of Requires, BindsTo, PartOf). */
  propagateRestart: string[];
  /** When we go inactive on our own, stop them (reverse BindsTo). */
  boundBy: string[];
  /** A failed start of ours fails their pending start jobs with result `dependency` (reverse Requires, BindsTo, Requisite). */
  propagateStartFailure: string[];
  /** Ordering, already symmetric: A.after has B iff B.before has A. */
  after: string[];
  before: string[];
  onFailure: string[];
  onSuccess: string[];
}

export type AtomGraph = Record<string, Atoms>;
