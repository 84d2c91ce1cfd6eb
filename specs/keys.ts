// The one source of truth for every spec key: specs/loader.ts validates and normalises with it, specs/gen.ts turns
// it into specs/schema.json and docs/spec.md, and units/ reads the key lists. Data only: what each kind of value
// means lives in specs/kinds.ts.

import { deviceKeys } from './keys/device.js';
import { directoryKeys } from './keys/directories.js';
import { mountKeys } from './keys/mount.js';
import { pathKeys } from './keys/path.js';
import { socketKeys } from './keys/socket.js';
import { timerKeys } from './keys/timer.js';

/** How a key's TOML value is written and what it normalises to (specs/kinds.ts implements each). */
export type KeyKind =
  | 'string' // → string
  | 'name' // user or group name → string | null
  | 'path' // absolute path → string | null
  | 'directory' // absolute, ~, or relative to the spec file → string | null
  | 'unit' // one full unit name → string
  | 'units' // unit names → string[]
  | 'pathConditions' // [!]ABSOLUTE-PATH → Condition[]
  | 'envConditions' // [!]NAME[=VALUE] → Condition[]
  | 'enum' // one of `values` → string
  | 'commands' // Exec*= → Command[]
  | 'duration' // time span → ms
  | 'timeout' // time span, 0 = infinity → ms
  | 'count' // non-negative integer → number
  | 'bytes' // size, "8M" (K/M/G/T: powers of 1024) or a number of bytes → bytes
  | 'bool' // → boolean
  | 'exitStatus' // → ExitStatusSet
  | 'signal' // → 'SIGTERM'
  | 'environment' // → Record<string, string>
  | 'environmentFiles' // → { path, optional }[]
  | 'output' // → OutputTarget
  | 'paths' // absolute paths (or globs of them) → string[]
  | 'relativePaths' // paths below a root the key implies, without `..` → string[]
  | 'mode' // octal file mode, "0755" → number
  | 'listens' // listen addresses (specs/listen.ts) → string[]
  | 'durations' // time spans → ms[]
  | 'calendar' // calendar events (specs/calendar.ts) → their normalised form, string[]
  | 'limit' // a cgroup limit in systemd's syntax (reconciler/cgroup-limits.ts) → its parsed value | null
  | 'delegate'; // Delegate=: a boolean or controller names (reconciler/delegate.ts) → boolean | string[]

export interface KeyDef {
  key: string;
  kind: KeyKind;
  /** The normalised value a unit gets when the key is absent (unless `derived` says otherwise). */
  default: unknown;
  /** One or two sentences: meaning, default, differences from systemd. */
  doc: string;
  /** The allowed values of an `enum` key. */
  values?: readonly string[];
  /** When the default depends on other settings: how, in words (docs/spec.md shows it; the loader implements it). */
  derived?: string;
  /**
   * The key (kind `unit`) names the unit this one starts (systemd's Triggers=: a socket's Service=, a timer's Unit=):
   * the unit is ordered before it, and the synthesised default.target does not want it (its trigger starts it).
   */
  triggers?: true;
}

/** SuccessAction= / FailureAction= values (systemd's emergency actions that make sense here). */
export const UNIT_ACTIONS = ['none', 'exit', 'exit-force', 'poweroff', 'reboot', 'halt'] as const;

const depNote =
  'Full unit names (`"db.service"`), a string or an array of strings; every name must be defined in the spec, but a device unit (`"dev-sdb.device"`, docs/device.md).';

export const commonKeys: KeyDef[] = [
  {
    key: 'Description',
    kind: 'string',
    default: '',
    derived: 'the unit name',
    doc: 'A human-readable title shown by `sctl status` and `list-units`; when absent the unit name is used, as systemd shows it.',
  },
  {
    key: 'Requires',
    kind: 'units',
    default: [],
    doc: `Units started together with this one; if one fails to start, or is stopped, this unit is stopped too. Add After= for ordering (Requires= alone does not order). ${depNote}`,
  },
  {
    key: 'Wants',
    kind: 'units',
    default: [],
    doc: `Units started together with this one; their failure does not affect it. ${depNote}`,
  },
  {
    key: 'Requisite',
    kind: 'units',
    default: [],
    doc: `Units that must already be active when this one starts; they are not started, and this start fails otherwise. ${depNote}`,
  },
  {
    key: 'BindsTo',
    kind: 'units',
    default: [],
    doc: `Like Requires=, and this unit also stops whenever one of these stops or fails for any reason. ${depNote}`,
  },
  {
    key: 'PartOf',
    kind: 'units',
    default: [],
    doc: `Stopping or restarting one of these units stops or restarts this one too (one direction only). ${depNote}`,
  },
  {
    key: 'Conflicts',
    kind: 'units',
    default: [],
    doc: `Starting this unit stops these, and starting one of these stops this unit. ${depNote}`,
  },
  {
    key: 'Before',
    kind: 'units',
    default: [],
    doc: `Ordering: when both start, this unit finishes starting before these begin (and stops after them). ${depNote}`,
  },
  {
    key: 'After',
    kind: 'units',
    default: [],
    doc: `Ordering: when both start, this unit begins only after these finished starting (and stops before them). ${depNote}`,
  },
  {
    key: 'OnFailure',
    kind: 'units',
    default: [],
    doc: `Units started when this unit enters the failed state. A unit named only here (and in OnSuccess=) is not wanted by the synthesised default.target. ${depNote}`,
  },
  {
    key: 'OnSuccess',
    kind: 'units',
    default: [],
    doc: `Units started when this unit finishes successfully and becomes inactive. ${depNote}`,
  },
  {
    key: 'SuccessAction',
    kind: 'enum',
    values: UNIT_ACTIONS,
    default: 'none',
    doc: "What the manager does when this unit finishes successfully and becomes inactive: `exit` stops every unit and exits (in a container: the container ends) with the unit's exit status; `exit-force` exits without stopping the units first; `poweroff`, `reboot`, `halt` stop everything and do that (on a host's PID 1; elsewhere they exit 0). Default `none`. systemd's names.",
  },
  {
    key: 'FailureAction',
    kind: 'enum',
    values: UNIT_ACTIONS,
    default: 'none',
    derived: '[manager] DefaultFailureAction',
    doc: "What the manager does when this unit enters the failed state (after Restart= gave up), with the values of SuccessAction=; `exit` passes on the unit's exit status (128+N for a signal, 1 when it has none). Default: [manager] DefaultFailureAction (`none`).",
  },
  {
    key: 'WantedBy',
    kind: 'units',
    default: [],
    doc: `systemd's [Install] WantedBy=, folded into the unit: each named unit Wants= this one. Always in effect, there is no enable step. ${depNote}`,
  },
  {
    key: 'RequiredBy',
    kind: 'units',
    default: [],
    doc: `systemd's [Install] RequiredBy=, folded into the unit: each named unit Requires= this one. Always in effect. ${depNote}`,
  },
  {
    key: 'ConditionPathExists',
    kind: 'pathConditions',
    default: [],
    doc: "Start only if every path exists (`!/path`: does not exist); otherwise the start is skipped, not failed. systemd's `|` (trigger) prefix is not supported.",
  },
  {
    key: 'ConditionFileIsExecutable',
    kind: 'pathConditions',
    default: [],
    doc: 'Start only if every path is an executable regular file (`!` negates); otherwise the start is skipped.',
  },
  {
    key: 'ConditionEnvironment',
    kind: 'envConditions',
    default: [],
    doc: "Start only if each `NAME` is set and non-empty, or each `NAME=VALUE` matches, in the manager's environment (`!` negates); otherwise the start is skipped.",
  },
];

export const serviceKeys: KeyDef[] = [
  {
    key: 'Type',
    kind: 'enum',
    values: ['simple', 'exec', 'notify', 'oneshot', 'forking'],
    default: 'simple',
    doc: 'When the start counts as done: `simple` once forked, `exec` once the binary runs, `notify` on READY=1 (sd_notify), `oneshot` when the process exits, `forking` when the parent exits (main PID from PIDFile=). Default `simple`.',
  },
  {
    key: 'ExecStartPre',
    kind: 'commands',
    default: [],
    doc: 'Commands run one after another before ExecStart=; a failure (unless prefixed `-`) fails the start.',
  },
  {
    key: 'ExecStart',
    kind: 'commands',
    default: [],
    doc: 'The main command: exactly one, except that Type=oneshot runs several in order, or none when it has ExecStop= and RemainAfterExit=true (as systemd requires).',
  },
  {
    key: 'ExecStartPost',
    kind: 'commands',
    default: [],
    doc: 'Commands run after the main process has started (after READY=1 for Type=notify).',
  },
  {
    key: 'ExecReload',
    kind: 'commands',
    default: [],
    doc: 'Commands run by `sctl reload`, e.g. `["/bin/kill", "-HUP", "$MAINPID"]`. Without it the unit cannot be reloaded.',
  },
  {
    key: 'ExecStop',
    kind: 'commands',
    default: [],
    doc: 'Commands that ask the service to stop; whatever still runs afterwards gets KillSignal=. Without it KillSignal= is sent right away.',
  },
  {
    key: 'ExecStopPost',
    kind: 'commands',
    default: [],
    doc: 'Commands run after the service stopped, also after a failed start.',
  },
  {
    key: 'Restart',
    kind: 'enum',
    values: ['no', 'on-success', 'on-failure', 'on-abnormal', 'on-abort', 'on-watchdog', 'always'],
    default: 'no',
    doc: 'When to restart the service after its main process exits, as systemd decides it. Default `no`; `always` and `on-success` are refused for Type=oneshot.',
  },
  {
    key: 'RestartSec',
    kind: 'duration',
    default: 100,
    derived: '[manager] DefaultRestartSec (100ms)',
    doc: 'How long to wait before a restart. Default: [manager] DefaultRestartSec (100ms).',
  },
  {
    key: 'RestartPreventExitStatus',
    kind: 'exitStatus',
    default: { codes: [], signals: [] },
    doc: 'Exit codes and signals after which Restart= never restarts the service. Default: none.',
  },
  {
    key: 'SuccessExitStatus',
    kind: 'exitStatus',
    default: { codes: [], signals: [] },
    doc: 'Exit codes and signals counted as success on top of 0, SIGHUP, SIGINT, SIGTERM and SIGPIPE. Default: none.',
  },
  {
    key: 'StartLimitIntervalSec',
    kind: 'duration',
    default: 10_000,
    doc: 'With StartLimitBurst=: more than that many starts within this interval fail the unit with start-limit-hit. 0 turns the limit off. Default 10s (a [Unit] key in systemd).',
  },
  {
    key: 'StartLimitBurst',
    kind: 'count',
    default: 5,
    doc: 'How many starts StartLimitIntervalSec= allows. Default 5.',
  },
  {
    key: 'TimeoutStartSec',
    kind: 'timeout',
    default: 90_000,
    derived: '[manager] DefaultTimeoutStartSec (90s); infinity for Type=oneshot, as in systemd',
    doc: 'How long starting may take before the unit fails with result timeout; 0 or `"infinity"` waits forever. Default: [manager] DefaultTimeoutStartSec (90s), infinity for Type=oneshot as in systemd.',
  },
  {
    key: 'TimeoutStopSec',
    kind: 'timeout',
    default: 90_000,
    derived: '[manager] DefaultTimeoutStopSec (90s)',
    doc: 'How long stopping may take before SIGKILL (when SendSIGKILL=true); 0 or `"infinity"` waits forever. Default: [manager] DefaultTimeoutStopSec (90s).',
  },
  {
    key: 'KillMode',
    kind: 'enum',
    values: ['control-group', 'mixed', 'process', 'none'],
    default: 'control-group',
    doc: "Which processes stop signals go to: all of the unit's processes, the main process first (`mixed`), only the main one, or none. Default `control-group`.",
  },
  {
    key: 'OOMPolicy',
    kind: 'enum',
    values: ['continue', 'stop', 'kill'],
    default: 'stop',
    doc: "What happens when the kernel's OOM killer kills a process of the unit's cgroup (docs/cgroups.md): `stop` stops the unit, `kill` SIGKILLs all its processes, both with the result `oom-kill` (which Restart= sees); `continue` only logs it. The main process's own OOM kill is always `oom-kill`. Needs the memory controller. Default `stop`, as systemd's.",
  },
  {
    key: 'KillSignal',
    kind: 'signal',
    default: 'SIGTERM',
    doc: 'The signal that stops the service: `"SIGTERM"`, `"TERM"` or a number, normalised to the `SIG` name. Default SIGTERM.',
  },
  {
    key: 'SendSIGKILL',
    kind: 'bool',
    default: true,
    doc: 'Whether processes still running after TimeoutStopSec= get SIGKILL. Default true.',
  },
  {
    key: 'MemoryMax',
    kind: 'limit',
    default: null,
    doc: 'Hard memory limit of the unit\'s cgroup: bytes with K/M/G/T/P/E (base 1024), a percentage of physical memory, or `"infinity"`; past it the kernel OOM-kills (result `oom-kill`). Needs root and the memory controller (docs/cgroups.md). Default none.',
  },
  {
    key: 'MemoryHigh',
    kind: 'limit',
    default: null,
    doc: 'Memory throttling limit, as MemoryMax=; on cgroup v1 only a soft limit (approximate: v1 cannot throttle). Default none.',
  },
  {
    key: 'CPUWeight',
    kind: 'limit',
    default: null,
    doc: 'Relative CPU share, 1 to 10000 (systemd\'s default 100), or `"idle"`; cgroup v1 gets cpu.shares. Default none.',
  },
  {
    key: 'CPUQuota',
    kind: 'limit',
    default: null,
    doc: 'CPU time ceiling as a percentage of one CPU (`"20%"`, `"150%"`), per 100 ms period. Default none.',
  },
  {
    key: 'TasksMax',
    kind: 'limit',
    default: null,
    doc: 'Most processes and threads the unit may have: a number, a percentage of the system\'s maximum, or `"infinity"`; a fork past it fails. Default none.',
  },
  {
    key: 'IOWeight',
    kind: 'limit',
    default: null,
    doc: 'Relative block I/O share, 1 to 10000; cgroup v1 gets blkio.weight (needs the CFQ or BFQ scheduler). Default none.',
  },
  {
    key: 'Delegate',
    kind: 'delegate',
    default: false,
    doc: 'Hand the service its cgroup to divide, as systemd\'s Delegate=: `true`, `false`, or controller names (`["memory", "pids"]`, made available in its cgroup where the cgroup2 offers them). With User=, the cgroup directory and its cgroup.procs, cgroup.subtree_control and cgroup.threads are chowned to the user; ExecStartPost=, ExecReload=, ExecStop= and ExecStopPost= run in its `.control` sub-cgroup. The service moves its own processes into sub-cgroups (docs/cgroups.md). Needs root. Default false.',
  },
  {
    key: 'RemainAfterExit',
    kind: 'bool',
    default: false,
    doc: 'Whether the unit stays active after all its processes exited (typical for Type=oneshot). Default false.',
  },
  {
    key: 'PIDFile',
    kind: 'path',
    default: null,
    doc: 'Absolute path of the file a Type=forking service writes its main PID to. Default: unset. Unlike systemd, a relative path is refused.',
  },
  {
    key: 'User',
    kind: 'name',
    default: null,
    doc: "User name or numeric UID (a string) the processes run as. Default: the manager's user.",
  },
  {
    key: 'Group',
    kind: 'name',
    default: null,
    doc: "Group name or numeric GID (a string). Default: the user's primary group, else the manager's group.",
  },
  {
    key: 'WorkingDirectory',
    kind: 'directory',
    default: null,
    doc: "The directory the processes start in: absolute, `~` (User='s home), or relative to the spec file that sets it (systemd refuses relative paths). Default: the manager's working directory.",
  },
  {
    key: 'Environment',
    kind: 'environment',
    default: {},
    doc: 'Variables for every Exec command, as a TOML table (`{ PORT = "8080" }`) or systemd\'s `"K=V"` strings. Default: none. `Environment.PATH` is also where bare program names are looked up.',
  },
  {
    key: 'EnvironmentFile',
    kind: 'environmentFiles',
    default: [],
    doc: 'Absolute paths of `K=V` files read at each start; a `-` prefix makes a missing file fine. Default: none. Values in these files override Environment=, as in systemd.',
  },
  {
    key: 'StandardOutput',
    kind: 'output',
    default: { kind: 'journal' },
    doc: "Where stdout goes: `journal` (captured: `sctl logs`, prefixed lines in `up`), `inherit` (the manager's own stdout), `null`, `file:PATH`, `append:PATH` or `truncate:PATH`. Default `journal`.",
  },
  {
    key: 'StandardError',
    kind: 'output',
    default: { kind: 'inherit' },
    derived: '`inherit`: the same target as StandardOutput=, as in systemd',
    doc: 'Where stderr goes, with the values of StandardOutput=. Default `inherit`: wherever stdout goes, as in systemd (the loader resolves it).',
  },
  {
    key: 'WatchdogSec',
    kind: 'duration',
    default: 0,
    doc: 'The service must send WATCHDOG=1 more often than this or it fails with result watchdog. Default 0: off.',
  },
  {
    key: 'NotifyAccess',
    kind: 'enum',
    values: ['none', 'main', 'exec', 'all'],
    default: 'none',
    derived: '`main` when Type=notify or WatchdogSec > 0, else `none`',
    doc: "Whose sd_notify messages are accepted: nobody, the main process, any Exec command's process, or every process of the unit. Default `main` when Type=notify or WatchdogSec > 0, else `none`.",
  },
  {
    key: 'NotifyFd',
    kind: 'count',
    default: 0,
    doc: "Not in systemd: s6's notification-fd, so s6 services run unchanged. With Type=notify, the main process gets this fd (3 or more, above the LISTEN_FDS sockets) open for writing; a newline written to it counts as READY=1 (docs/readiness.md). Default 0: off.",
  },
  ...directoryKeys,
];

export const managerKeys: KeyDef[] = [
  {
    key: 'DefaultTarget',
    kind: 'unit',
    default: 'default.target',
    doc: 'The unit `up` and `apply` bring the system to. When absent and there is no [target.default], the loader synthesises default.target, which Wants= every unit except those named only by OnFailure=/OnSuccess=.',
  },
  {
    key: 'DefaultTimeoutStartSec',
    kind: 'timeout',
    default: 90_000,
    doc: 'The default TimeoutStartSec= of every service. Default 90s.',
  },
  {
    key: 'DefaultTimeoutStopSec',
    kind: 'timeout',
    default: 90_000,
    doc: 'The default TimeoutStopSec= of every service. Default 90s.',
  },
  {
    key: 'DefaultRestartSec',
    kind: 'duration',
    default: 100,
    doc: 'The default RestartSec= of every service. Default 100ms.',
  },
  {
    key: 'DefaultEnvironment',
    kind: 'environment',
    default: {},
    doc: "systemd's system.conf DefaultEnvironment=: variables for every process of every unit, written as Environment= is; a unit's EnvironmentFile= and Environment= override them, and a change reaches only processes started after it. `sysmaster agent` sets it to pass the node's name and labels (docs/fleet.md). Default: none.",
  },
  {
    key: 'OnCrash',
    kind: 'enum',
    values: ['rollback', 'resume'],
    default: 'rollback',
    doc: 'What the next core does with an apply a dead core left unfinished (docs/transactions.md): `rollback` puts back what was in force before it; `resume` finishes it. A rollback that was under way always carries on. Default `rollback`.',
  },
  {
    key: 'DefaultFailureAction',
    kind: 'enum',
    values: UNIT_ACTIONS,
    default: 'none',
    doc: 'The FailureAction= of every unit that sets none. `"exit"` makes any unit that fails for good end the manager (in a container: the container, with that unit\'s exit status), as s6-overlay\'s S6_BEHAVIOUR_IF_STAGE2_FAILS does. Default `none`.',
  },
  {
    key: 'LogTarget',
    kind: 'enum',
    values: ['console', 'file', 'null'],
    default: 'console',
    doc: "Where the manager's own log and journal-captured output go: the console, a file in the state directory, or nowhere. Default `console`.",
  },
  {
    key: 'LogMaxSize',
    kind: 'bytes',
    default: 8 * 1024 ** 2,
    doc: 'How large a unit\'s log file in the state directory grows before it is rotated (docs/logs.md). Default `"8M"`.',
  },
  {
    key: 'LogMaxFiles',
    kind: 'count',
    default: 4,
    doc: 'How many rotated log files are kept per unit besides the current one; the oldest beyond that is deleted. Default 4.',
  },
  {
    key: 'ForwardToSyslog',
    kind: 'bool',
    default: false,
    doc: "Also send every captured record to the syslog socket (`/dev/log`), as journald.conf's ForwardToSyslog= does: `<PRI>` with facility daemon, the unit's name as identifier, its main pid (docs/logs.md). Default false.",
  },
];

/** Every key of each unit type, by the type's table name (`[service.NAME]`). */
export const unitKeys: Record<string, KeyDef[]> = {
  service: [...commonKeys, ...serviceKeys],
  target: [...commonKeys],
  socket: [...commonKeys, ...socketKeys],
  path: [...commonKeys, ...pathKeys],
  mount: [...commonKeys, ...mountKeys],
  timer: [...commonKeys, ...timerKeys],
  device: [...commonKeys, ...deviceKeys],
};
