// The side-by-side benchmark's shared shapes (bench/peers/, issue 9): one workload, every manager in turn.

/** One unit of a workload: it requires, and is ordered after, `after`. */
export interface PeerUnit {
  name: string;
  after: string[];
}

export interface Workload {
  /** `flat` (independent services), `chain` (each after the one before), `dag` (the core benchmark's layers). */
  name: 'flat' | 'chain' | 'dag';
  units: PeerUnit[];
}

/** What a manager's run measured, in its own PID namespace or container. */
export interface RunResult {
  /** From starting the manager to every unit ready (its readiness seen by the manager). */
  readyMs: number;
  /** From asking it to stop to every payload gone. */
  stopMs: number;
  /** Summed over the manager's whole process tree (not the payloads), at all-ready. */
  rssKb: number;
  pssKb: number;
  /** CPU time of the manager's process tree (not the payloads) to all-ready. */
  cpuMs: number;
}

/** What a kill -9 of the manager (or of one of its supervisors) did to the services it ran. */
export interface CrashResult {
  /** What was killed. */
  killed: string;
  /** From the kill to the manager running every service again as before; null: it never does. */
  recoveryMs: number | null;
  services: number;
  /** Services whose process from before the kill still runs. */
  kept: number;
  /** Payload processes running afterwards: more than `services` means a service was started twice. */
  copies: number;
}

export interface Manager {
  name: string;
  /** How readiness is signalled and how dependencies are honoured, as really in force (for the table). */
  readiness: string;
  dependencies: string;
  /** Installs or checks what it needs; the reason it cannot run here, or null. */
  prepare(): Promise<string | null>;
  /** One measured bring-up and tear-down of `w`. `marker`: a number the payload's sleep carries, to find it. */
  run(w: Workload, marker: string): Promise<RunResult>;
  /** Brings `w` up, kills the manager (or a supervisor of it) with SIGKILL, and sees what becomes of the services. */
  crash?(w: Workload, marker: string): Promise<CrashResult>;
}
