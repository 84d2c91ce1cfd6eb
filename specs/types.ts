// The normalised, fully-defaulted spec every other layer reads. The loader (specs/loader.ts) is the only
// producer: raw TOML never leaves specs/.

import type { Limits } from '../reconciler/cgroup-limits.js';

/** Where a table or key was written, for error messages. */
export interface Where {
  file: string;
  line: number;
}

/** Milliseconds. `Infinity` stands for systemd's "infinity" (and for 0 where systemd means "no timeout"). */
export type Duration = number;

/** One Exec*= command after systemd-style splitting. */
export interface Command {
  /** argv[0] as written (a bare name is looked up in PATH at spawn time). */
  path: string;
  argv: string[];
  /** The `-` prefix: a non-zero exit is not a failure. */
  ignoreFailure: boolean;
}

export type OutputTarget =
  | { kind: 'journal' } // captured by the manager: prefixed output in `up`, `sctl logs`, status lines
  | { kind: 'inherit' } // the manager's own stdout/stderr, unprefixed
  | { kind: 'null' }
  | { kind: 'file' | 'append' | 'truncate'; path: string };

export type ServiceType = 'simple' | 'exec' | 'notify' | 'oneshot' | 'forking';
export type RestartPolicy = 'no' | 'on-success' | 'on-failure' | 'on-abnormal' | 'on-abort' | 'on-watchdog' | 'always';
export type KillMode = 'control-group' | 'mixed' | 'process' | 'none';
export type NotifyAccess = 'none' | 'main' | 'exec' | 'all';

/** Exit statuses as systemd lists them: numbers and signal names (`SIGTERM`). */
export interface ExitStatusSet {
  codes: number[];
  signals: string[];
}

/** A condition entry; `negate` is systemd's leading `!`. */
export type UnitAction = 'none' | 'exit' | 'exit-force' | 'poweroff' | 'reboot' | 'halt';

export interface Condition {
  value: string;
  negate: boolean;
}

/** Keys every unit type has (systemd's [Unit] section). */
export interface UnitCommon {
  Description: string;
  Requires: string[];
  Wants: string[];
  Requisite: string[];
  BindsTo: string[];
  PartOf: string[];
  Conflicts: string[];
  Before: string[];
  After: string[];
  OnFailure: string[];
  OnSuccess: string[];
  SuccessAction: UnitAction;
  FailureAction: UnitAction;
  /** [Install] reverse dependencies, folded into the unit table. */
  WantedBy: string[];
  RequiredBy: string[];
  ConditionPathExists: Condition[];
  ConditionFileIsExecutable: Condition[];
  /** `NAME` (set and non-empty) or `NAME=VALUE`, checked against the manager's environment. */
  ConditionEnvironment: Condition[];
}

export interface ServiceConfig extends UnitCommon {
  Type: ServiceType;
  ExecStartPre: Command[];
  ExecStart: Command[]; // exactly one unless Type=oneshot (then zero or more)
  ExecStartPost: Command[];
  ExecReload: Command[];
  ExecStop: Command[];
  ExecStopPost: Command[];
  Restart: RestartPolicy;
  RestartSec: Duration;
  RestartPreventExitStatus: ExitStatusSet;
  SuccessExitStatus: ExitStatusSet;
  StartLimitIntervalSec: Duration;
  StartLimitBurst: number;
  TimeoutStartSec: Duration;
  TimeoutStopSec: Duration;
  KillMode: KillMode;
  /** What an OOM kill in the unit's cgroup does (docs/cgroups.md). */
  OOMPolicy: 'continue' | 'stop' | 'kill';
  KillSignal: string; // 'SIGTERM'
  SendSIGKILL: boolean;
  /** cgroup limits as parsed (reconciler/cgroup-limits.ts); null or absent when not set. */
  MemoryMax?: Limits['MemoryMax'] | null;
  MemoryHigh?: Limits['MemoryHigh'] | null;
  CPUWeight?: Limits['CPUWeight'] | null;
  CPUQuota?: Limits['CPUQuota'] | null;
  TasksMax?: Limits['TasksMax'] | null;
  IOWeight?: Limits['IOWeight'] | null;
  /** Delegate= (reconciler/delegate.ts): false, true (every controller), or the controllers asked for. */
  Delegate?: boolean | string[];
  RemainAfterExit: boolean;
  PIDFile: string | null;
  User: string | null;
  Group: string | null;
  WorkingDirectory: string | null;
  Environment: Record<string, string>;
  EnvironmentFile: { path: string; optional: boolean }[];
  StandardOutput: OutputTarget;
  StandardError: OutputTarget;
  WatchdogSec: Duration; // 0 = off
  NotifyAccess: NotifyAccess;
  NotifyFd: number; // 0 = off
  /** Paths relative to each key's root (specs/keys/directories.ts). */
  RuntimeDirectory: string[];
  RuntimeDirectoryMode: number;
  StateDirectory: string[];
  StateDirectoryMode: number;
  CacheDirectory: string[];
  CacheDirectoryMode: number;
  LogsDirectory: string[];
  LogsDirectoryMode: number;
  ConfigurationDirectory: string[];
  ConfigurationDirectoryMode: number;
  RuntimeDirectoryPreserve: 'no' | 'yes' | 'restart';
}

export type TargetConfig = UnitCommon;

export interface SocketConfig extends UnitCommon {
  ListenStream: string[];
  ListenDatagram: string[];
  ListenSequentialPacket: string[];
  ListenFIFO: string[];
  Accept: boolean;
  Service: string;
  SocketMode: number;
  DirectoryMode: number;
  SocketUser: string | null;
  SocketGroup: string | null;
  Backlog: number;
  MaxConnections: number;
  FileDescriptorName: string;
  RemoveOnStop: boolean;
  ReusePort: boolean;
  TriggerLimitIntervalSec: Duration;
  TriggerLimitBurst: number;
}

export interface TimerConfig extends UnitCommon {
  OnActiveSec: Duration[];
  OnBootSec: Duration[];
  OnStartupSec: Duration[];
  OnUnitActiveSec: Duration[];
  OnUnitInactiveSec: Duration[];
  /** In systemd's normalised form (specs/calendar.ts format()). */
  OnCalendar: string[];
  Persistent: boolean;
  RandomizedDelaySec: Duration;
  FixedRandomDelay: boolean;
  AccuracySec: Duration;
  WakeSystem: boolean;
  RemainAfterElapse: boolean;
  Unit: string;
}

export interface PathConfig extends UnitCommon {
  PathExists: string[];
  PathExistsGlob: string[];
  PathChanged: string[];
  PathModified: string[];
  DirectoryNotEmpty: string[];
  Unit: string;
  MakeDirectory: boolean;
  DirectoryMode: number;
  TriggerLimitIntervalSec: Duration;
  TriggerLimitBurst: number;
}

export interface MountConfig extends UnitCommon {
  What: string;
  Where: string;
  Type: string;
  Options: string;
  SloppyOptions: boolean;
  ReadWriteOnly: boolean;
  LazyUnmount: boolean;
  ForceUnmount: boolean;
  DirectoryMode: number;
  TimeoutSec: Duration;
}

export interface DeviceConfig extends UnitCommon {
  JobRunningTimeoutSec: Duration;
}

export type UnitConfig = ServiceConfig | TargetConfig;

export interface UnitSpec<C extends UnitCommon = UnitCommon> {
  /** Full unit name: `web.service`. */
  name: string;
  /** `service`, `target`, ... (the registry key in units/). */
  type: string;
  config: C;
  /** The table header. */
  where: Where;
  /** Where each key that was written stood (absent keys took their default). */
  keys: Record<string, Where>;
  /** Made by the core, not by a spec (a mount found in mountinfo, an Accept=yes instance): plan() leaves it alone. */
  transient?: boolean;
  /** Transient and found in the system, not run by sysmaster (a mount made by someone else): not shown by `up`. */
  found?: boolean;
}

export interface ManagerConfig {
  /** The target `up`/`apply` bring the system to. When absent, the loader synthesises `default.target` wanting every unit. */
  DefaultTarget: string;
  DefaultTimeoutStartSec: Duration;
  DefaultTimeoutStopSec: Duration;
  DefaultRestartSec: Duration;
  /** Under every unit's EnvironmentFile= and Environment=, as in systemd. */
  DefaultEnvironment: Record<string, string>;
  /** Where the manager's own log and journal-captured output go. */
  LogTarget: 'console' | 'file' | 'null';
  /** Bytes a unit's log file reaches before it is rotated (docs/logs.md). */
  LogMaxSize: number;
  /** Rotated log files kept per unit. */
  LogMaxFiles: number;
  /** Records also go to the syslog socket (docs/logs.md). */
  ForwardToSyslog: boolean;
  /** What the next core does with an apply a dead core left unfinished. */
  OnCrash: 'rollback' | 'resume';
  /** The FailureAction= of units that set none. */
  DefaultFailureAction: UnitAction;
}

export interface SystemSpec {
  manager: ManagerConfig;
  units: Record<string, UnitSpec>;
  /** Every file read, main file first (include order). */
  files: string[];
}
