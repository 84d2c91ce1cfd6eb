// What init and the core say to each other over Node's IPC channel (JSON), and what init hands the core at start.
// docs/init.md describes the protocol; the core imports these types and inheritedFds().
import { sendNotify, type NotifyMessage } from '../reconciler/notify.js';
import type { RebootAction } from './sys.js';

/** One exit init reaped, forwarded until the core acknowledges its `seq`. */
export interface ForwardedExit {
  kind: 'exit';
  /** Numbers every event init forwards, from 1, increasing for the life of init. */
  seq: number;
  pid: number;
  /** Exit code, or null when a signal killed it. */
  code: number | null;
  /** 'SIGKILL', or null when it exited. */
  signal: string | null;
  core: boolean;
  /** When init observed it, ms since the epoch. */
  time: number;
}

/**
 * One sd_notify datagram init read from the notify socket, forwarded until acknowledged: a READY=1 read by a core
 * that dies before saving its effect is not lost.
 */
export interface ForwardedNotify extends NotifyMessage {
  kind: 'notify';
  seq: number;
  time: number;
}

export type ForwardedEvent = ForwardedExit | ForwardedNotify;

export type CoreMessage =
  | { type: 'ready' }
  | { type: 'heartbeat' }
  /** The effect of event `seq` is durable: init forgets it. */
  | { type: 'ack'; seq: number }
  /** Everything is stopped: init kills what is left and exits with `code` (a host PID 1 does `action`). */
  | { type: 'exit'; code: number; action?: RebootAction }
  /** The core exits next on purpose: start a fresh one at once, not counted as a failure. */
  | { type: 'reexec' };

export type ShutdownReason = 'SIGTERM' | 'SIGINT' | 'SIGRTMIN+3';

export type InitMessage =
  /** On 'ready': every unacknowledged event, in seq order; after that, new ones as they come. */
  | { type: 'events'; events: ForwardedEvent[] }
  /** Stop everything, then send 'exit'. `grace` is how many ms are left before init kills everything. */
  | { type: 'shutdown'; reason: ShutdownReason; grace: number }
  /** SIGHUP: daemon-reload. */
  | { type: 'reload' }
  /** SIGINT to a host PID 1: start ctrl-alt-del.target. */
  | { type: 'ctrl-alt-del' }
  /** A signal for the main command (`-- CMD`): SIGUSR1, SIGUSR2, SIGWINCH, as tini passes them on. */
  | { type: 'forward'; signal: ForwardedSignal };

export const FORWARDED = ['SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
export type ForwardedSignal = (typeof FORWARDED)[number];

/** The env variable naming the fds init passes (`control:3`): never probe fds, Node fills gaps. */
export const FDS_ENV = 'SYSMASTER_FDS';

/** Where the core finds its inherited control socket, or null when it was not started by init. */
export function inheritedFds(env: NodeJS.ProcessEnv = process.env): { control: number } | null {
  const m = /(?:^|,)control:(\d+)(?:,|$)/.exec(env[FDS_ENV] ?? '');
  return m ? { control: Number(m[1]) } : null;
}

/** The env variable with init's watchdog period in ms (0: none), so the core beats often enough for it. */
export const WATCHDOG_ENV = 'SYSMASTER_WATCHDOG_MS';

/** How often the core sends a heartbeat: four times per watchdog period, at most once a second. */
export function heartbeatMs(env: NodeJS.ProcessEnv = process.env): number {
  const period = Number(env[WATCHDOG_ENV]);
  return period > 0 ? Math.min(1000, Math.max(10, Math.floor(period / 4))) : 1000;
}

/** The env variable naming the fds init hands back from its fd store (`web:6,web:7,db:8`), like LISTEN_FDNAMES. */
export const STORED_ENV = 'SYSMASTER_STORED';

/** The fd number of the first stored fd in a core: after stdin/out/err, control, notify and the IPC channel. */
export const FIRST_STORED_FD = 6;

/** The fds init handed back to this core, by name (init/fdstore.ts). */
export function storedFds(env: NodeJS.ProcessEnv = process.env): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const item of (env[STORED_ENV] ?? '').split(',').filter(Boolean)) {
    const at = item.lastIndexOf(':');
    const name = item.slice(0, at);
    out.set(name, [...(out.get(name) ?? []), Number(item.slice(at + 1))]);
  }
  return out;
}

/** Keep `fds` in init's fd store under `name`, for every later core (systemd's FDSTORE=1 and FDNAME=). */
export function depositFds(storePath: string, name: string, fds: number[]): void {
  sendNotify(storePath, `FDSTORE=1\nFDNAME=${name}`, { fds });
}

/** Close and forget what the store holds under `name` (FDSTOREREMOVE=1). */
export function removeFds(storePath: string, name: string): void {
  sendNotify(storePath, `FDSTOREREMOVE=1\nFDNAME=${name}`);
}
