// What the core and the log process say to each other on STATE_DIR/logger.sock: one JSON object per line
// (docs/logs.md, "The log process").
import path from 'node:path';
import type { LogFilter, LogLimits, LogRecord } from './store.js';

export type Stream = 'stdout' | 'stderr';

/** [manager] settings the log process follows. */
export interface LoggerConfig {
  /** LogMaxSize and LogMaxFiles; null before a spec is in force (files grow unrotated). */
  limits: LogLimits | null;
  /** ForwardToSyslog: every record also goes to the syslog socket. */
  syslog: boolean;
  /** The units the console shows: their names are padded to the longest, as the core pads its state lines. */
  names: string[];
}

export type LoggerRequest =
  | ({ op: 'config' } & LoggerConfig)
  /** Read the unit's FIFOs STATE_DIR/io/UNIT.STREAM (made by the core before it gives them to a process). */
  | { op: 'watch'; unit: string; streams: Stream[] }
  /** The unit's main pid, for its records; while `spawning`, lines wait for the pid of the process being started. */
  | { op: 'main'; unit: string; pid: number | null; spawning: boolean }
  /** A run ended: what its processes wrote is read to the end, and a last line without a newline is a line. */
  | { op: 'end'; unit: string }
  /** The unit is gone: its FIFOs are closed and removed. */
  | { op: 'forget'; unit: string }
  /** One of the manager's own messages (the `sysmaster` unit). */
  | { op: 'note'; time: number; pid: number; message: string }
  /**
   * The last `lines` records that match, oldest first, after everything written so far is read and stored; then
   * `{done: true}`, or with `follow` every new record that matches until the connection closes.
   */
  | { op: 'tail'; filter: LogFilter; lines: number; follow: boolean }
  /** Records lost so far, by unit (a write that failed: disk full, directory gone). */
  | { op: 'stats' }
  /** Store what is pending and exit 0 (the manager's orderly end). */
  | { op: 'exit' };

export type LoggerReply = { record: LogRecord } | { done: true } | { lost: Record<string, number> } | { error: string };

export const loggerSocket = (stateDir: string) => path.join(stateDir, 'logger.sock');

/** A unit's journal FIFO: STATE_DIR/io/UNIT.STREAM (docs/recovery.md). */
export const fifoPath = (stateDir: string, unit: string, stream: string) => path.join(stateDir, 'io', `${unit}.${stream}`);
