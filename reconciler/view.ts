import { constants } from 'node:os';
import type { ServiceConfig, SocketConfig, TimerConfig } from '../specs/types.js';
import type { Daemon, Unit } from './daemon.js';
import type { LogRecord } from '../logger/store.js';

/** A row of `list-units`: the public contract's fields (docs/protocol.md). */
export interface UnitInfo {
  name: string;
  type: string;
  load: 'loaded';
  active: string;
  sub: string;
  mainPid: number | null;
  description: string;
}

export interface UnitStatus extends UnitInfo {
  result: string;
  restarts: number;
  /** When the public state last changed, ISO 8601. */
  since: string;
  controlPid: number | null;
  statusText: string | null;
  exitCode: number | null;
  exitSignal: string | null;
  file: string;
  line: number;
  logs: LogRecord[];
  /** Records of the unit the log process could not store or forward (disk full: docs/logs.md), when there are any. */
  logsLost?: number;
  /** The units this one starts (a timer's Unit=, a socket's Service=), when its type has such a key. */
  triggers?: string[];
  /** A socket's addresses, as systemctl status shows them: `127.0.0.1:80 (Stream)`. */
  listen?: string[];
  /** An Accept=yes socket's connections so far, and those whose instance still runs. */
  accepted?: number;
  connected?: number;
  /** A timer's next elapse (systemctl status's Trigger:), ISO 8601, or null when none is due. */
  trigger?: string | null;
  /** A device's /sys path while it is plugged, else null (systemctl status's Device:, show's SysFSPath=). */
  sysfs?: string | null;
  /** A service's cgroup accounting (docs/cgroups.md), when it has a cgroup; each figure null where no controller counts it. */
  resources?: Resources;
}

export interface Resources {
  memoryCurrent: number | null;
  memoryPeak: number | null;
  tasksCurrent: number | null;
  /** TasksMax= when it is a number of tasks. */
  tasksMax: number | null;
  cpuUsageNs: number | null;
}

/** A row of `list-timers`, with systemctl's columns: ISO 8601 times, spans in ms. */
export interface TimerInfo {
  unit: string;
  activates: string;
  next: string | null;
  left: number | null;
  last: string | null;
  passed: number | null;
}

export function unitInfo(d: Daemon, u: Unit): UnitInfo {
  const ctx = d.context(u);
  return {
    name: u.name,
    type: u.type.name,
    load: 'loaded',
    active: u.active,
    sub: u.sub,
    mainPid: typeof ctx.mainPid === 'number' ? ctx.mainPid : null,
    description: u.spec.config.Description || u.name,
  };
}

/** `logs`: the unit's last records, which the log process reads (Daemon.logs.tail). */
export function unitStatus(d: Daemon, u: Unit, logs: LogRecord[]): UnitStatus {
  const ctx = d.context(u);
  const exit = ctx.mainExit as { code: number | null; signal: string | null } | null | undefined;
  return {
    ...unitInfo(d, u),
    result: ctx.result,
    restarts: typeof ctx.nRestarts === 'number' ? ctx.nRestarts : 0,
    since: new Date(ctx.since).toISOString(),
    controlPid: typeof ctx.controlPid === 'number' ? ctx.controlPid : null,
    statusText: typeof ctx.statusText === 'string' && ctx.statusText ? ctx.statusText : null,
    exitCode: exit?.code ?? null,
    exitSignal: exit?.signal ?? null,
    file: u.spec.where.file,
    line: u.spec.where.line,
    logs,
    ...triggersOf(u),
    ...(u.type.name === 'timer' && { trigger: timerInfo(d, u).next }),
    ...(u.type.name === 'device' && { sysfs: (ctx.sysfs as string | null) ?? null }),
    ...(u.type.name === 'service' && u.active !== 'inactive' && u.active !== 'failed' && resourcesOf(d, u)),
    ...(u.type.name === 'socket' && {
      listen: socketInfo(u).map((l) => `${l.listen} (${l.type})`),
      ...((u.spec.config as SocketConfig).Accept && { accepted: ctx.accepted as number, connected: ctx.connections as number }),
    }),
  };
}

/** One unit's accounting in a `resources` sample (sctl top): tasks, bytes of memory, CPU nanoseconds so far; null where nothing counts it. */
export interface UnitUsage {
  unit: string;
  tasks: number | null;
  memoryBytes: number | null;
  cpuNs: number | null;
}

/** Every unit that has a cgroup, read at once; `time` (ms, monotonic) is when, for rates between two samples. */
export interface ResourceSample {
  time: number;
  units: UnitUsage[];
}

/** The `resources` method: the accounting of every service with a cgroup now, or null when this manager has no cgroups. */
export function resourceSample(d: Daemon): ResourceSample | null {
  const cg = d.effects.cgroups.cgroups;
  if (!cg) return null;
  const units: UnitUsage[] = [];
  for (const u of d.units.values()) {
    if (u.type.name !== 'service' || !cg.has(u.name)) continue;
    const use = cg.usage(u.name);
    units.push({ unit: u.name, tasks: use.tasks, memoryBytes: use.memory, cpuNs: use.cpuNs });
  }
  return { time: performance.now(), units };
}

function resourcesOf(d: Daemon, u: Unit): { resources?: Resources } {
  const cg = d.effects.cgroups.cgroups;
  if (!cg) return {};
  const use = cg.usage(u.name);
  const max = (u.spec.config as ServiceConfig).TasksMax;
  return {
    resources: {
      memoryCurrent: use.memory,
      memoryPeak: use.memoryPeak,
      tasksCurrent: use.tasks,
      tasksMax: typeof max === 'number' ? max : null,
      cpuUsageNs: use.cpuNs,
    },
  };
}

function triggersOf(u: Unit): { triggers?: string[] } {
  const config = u.spec.config as unknown as Record<string, string>;
  const keys = u.type.keys.filter((k) => k.triggers);
  return keys.length ? { triggers: keys.map((k) => config[k.key]) } : {};
}

/** A timer's row: its next elapse only while it waits for one (deadline is the next elapse then). */
export function timerInfo(d: Daemon, u: Unit): TimerInfo {
  const ctx = d.context(u);
  const now = d.now();
  const next = u.sub === 'waiting' ? ctx.deadline : null;
  const last = (ctx.lastTrigger as number | null | undefined) ?? null;
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    unit: u.name,
    activates: (u.spec.config as TimerConfig).Unit,
    next: iso(next),
    left: next === null ? null : Math.max(0, next - now),
    last: iso(last),
    passed: last === null ? null : Math.max(0, now - last),
  };
}

/** A row of `list-sockets`: one per listening address, as systemctl prints them. */
export interface SocketInfo {
  listen: string;
  /** Stream, Datagram, SequentialPacket, FIFO (systemctl's --show-types names). */
  type: string;
  unit: string;
  activates: string;
}

export function socketInfo(u: Unit): SocketInfo[] {
  const c = u.spec.config as SocketConfig;
  const kinds = [['Stream', c.ListenStream], ['Datagram', c.ListenDatagram], ['SequentialPacket', c.ListenSequentialPacket], ['FIFO', c.ListenFIFO]] as const;
  return kinds.flatMap(([type, list]) => list.map((listen) => ({ listen, type, unit: u.name, activates: c.Service })));
}

/** systemctl show's Key=Value properties, with systemctl's names, then every spec key as written. */
export function unitProperties(d: Daemon, u: Unit): Record<string, string> {
  const s = unitStatus(d, u, []);
  const exitCode = s.exitSignal ? 'killed' : s.exitCode !== null ? 'exited' : '';
  const props: Record<string, string> = {
    Id: u.name,
    Names: u.name,
    Description: s.description,
    LoadState: 'loaded',
    ActiveState: s.active,
    SubState: s.sub,
    Result: s.result,
    MainPID: String(s.mainPid ?? 0),
    ControlPID: String(s.controlPid ?? 0),
    NRestarts: String(s.restarts),
    StatusText: s.statusText ?? '',
    ExecMainCode: exitCode,
    ExecMainStatus: String(s.exitSignal ? signalNumber(s.exitSignal) : (s.exitCode ?? 0)),
    StateChangeTimestamp: s.since,
    FragmentPath: s.file,
    CanReload: u.type.canReload(u.spec.config) ? 'yes' : 'no',
    ConfigHash: u.hash,
    ...(s.sysfs !== undefined && { SysFSPath: s.sysfs ?? '' }),
    // systemctl show's names; [not set] where nothing counts it, as systemd prints it.
    ...(s.resources && {
      MemoryCurrent: String(s.resources.memoryCurrent ?? '[not set]'),
      MemoryPeak: String(s.resources.memoryPeak ?? '[not set]'),
      TasksCurrent: String(s.resources.tasksCurrent ?? '[not set]'),
      CPUUsageNSec: String(s.resources.cpuUsageNs ?? '[not set]'),
    }),
  };
  // File modes in octal, as systemctl shows them (SocketMode=0666).
  const modes = new Set(u.type.keys.filter((k) => k.kind === 'mode').map((k) => k.key));
  for (const [k, v] of Object.entries(u.spec.config as unknown as ServiceConfig)) {
    if (!(k in props)) props[k] = modes.has(k) ? (v as number).toString(8).padStart(4, '0') : formatValue(v);
  }
  return props;
}

const osSignals = constants.signals;

function signalNumber(name: string): number {
  return osSignals[name as keyof typeof osSignals] ?? 0;
}

/** Values the way systemctl show prints them: lists space-separated, commands as their argv. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v === Infinity) return 'infinity';
  if (Array.isArray(v)) return v.map(formatValue).join(' ');
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.argv)) return (o.ignoreFailure ? '-' : '') + (o.argv as string[]).join(' ');
    if ('kind' in o) return o.path ? `${o.kind}:${o.path}` : String(o.kind);
    if ('value' in o && 'negate' in o) return (o.negate ? '!' : '') + String(o.value);
    if (Array.isArray(o.codes) && Array.isArray(o.signals)) return [...(o.codes as number[]), ...(o.signals as string[])].join(' ');
    if ('path' in o && 'optional' in o) return (o.optional ? '-' : '') + String(o.path);
    return Object.entries(o).map(([k, val]) => `${k}=${formatValue(val)}`).join(' ');
  }
  return String(v);
}
