// The command line and the environment init runs in, resolved once at start into plain values.
import { existsSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stateDir } from '../reconciler/paths.js';

export const USAGE = `usage: sysmaster-init [--state-dir DIR] [--spec PATH] [--core PATH] [--watchdog-sec DUR]
                      [--grace DUR] [--max-failed-starts N] [--console prefix|plain|off] [-- CMD ARGS...]`;

export type ConsoleMode = 'prefix' | 'plain' | 'off';

export interface Options {
  stateDir: string;
  spec: string;
  /** The core's main script, run with this Node. */
  core: string;
  /** The main command after `--`, or null. */
  main: string[] | null;
  /** A core silent this long is killed and replaced; 0: never. */
  watchdogMs: number;
  /** How long an orderly shutdown may take before init kills what is left. */
  graceMs: number;
  /** Consecutive failed core starts after which init gives up and exits 1. */
  maxFailedStarts: number;
  /** We are process 1 of our PID namespace. */
  pid1: boolean;
  container: boolean;
  /** What the console shows: state changes and service output, `unit | line` (prefix) or bare (plain), or nothing. */
  console: ConsoleMode;
}

/** A bad command line; main prints it with the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'EUSAGE';
}

/** The initial PID namespace has this fixed inode number (PROC_PID_INIT_INO). */
const INITIAL_PID_NS = 'pid:[4026531836]';

/** docker, podman and systemd-nspawn each leave one of these marks. */
export function inContainer(env: NodeJS.ProcessEnv, pid1: boolean): boolean {
  if (env.container || existsSync('/.dockerenv') || existsSync('/run/.containerenv')) return true;
  // A PID 1 of any other PID namespace is a container without the marks (unshare, bare runc): reboot(2) there
  // would kill us rather than power anything off. On a host's early boot /proc may not be mounted yet.
  try {
    return pid1 && readlinkSync('/proc/self/ns/pid') !== INITIAL_PID_NS;
  } catch {
    return false;
  }
}

const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** systemd's time spans, as far as init needs them: `90`, `1.5s`, `500ms`, `1min 30s`. A bare number is seconds. */
export function parseDuration(text: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)\s*/g)];
  const whole = parts.map((p) => p[0]).join('');
  if (!parts.length || whole !== text.trim()) {
    throw new UsageError(`not a time span: "${text}" (write 8s, 500ms, 1min)`);
  }
  return parts.reduce((ms, [, n, unit]) => {
    const scale = units[unit || 's'];
    if (scale === undefined) throw new UsageError(`unknown time unit "${unit}" in "${text}" (use ms, s, min, h)`);
    return ms + Math.round(Number(n) * scale);
  }, 0);
}

/** The core next to this package: dist/reconciler/main.js. */
function defaultCore(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../reconciler/main.js');
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  let values;
  try {
    ({ values } = parseArgs({
      args: own,
      strict: true,
      allowPositionals: false,
      options: {
        'state-dir': { type: 'string' },
        spec: { type: 'string' },
        core: { type: 'string' },
        'watchdog-sec': { type: 'string' },
        grace: { type: 'string' },
        'max-failed-starts': { type: 'string' },
        console: { type: 'string' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const pid1 = process.pid === 1;
  const container = inContainer(env, pid1);
  const max = values['max-failed-starts'];
  if (max !== undefined && !/^\d+$/.test(max)) throw new UsageError(`--max-failed-starts wants a count, got "${max}"`);
  // `sysmaster up` chooses through the environment; a container's log is its console, so it shows everything.
  const consoleMode = values.console ?? (env.SYSMASTER_UP === 'prefix' || env.SYSMASTER_UP === 'plain' ? env.SYSMASTER_UP : container ? 'prefix' : 'off');
  if (!['prefix', 'plain', 'off'].includes(consoleMode)) throw new UsageError(`--console wants prefix, plain or off, got "${consoleMode}"`);
  const main = dash < 0 ? null : argv.slice(dash + 1);
  if (main && !main.length) throw new UsageError('nothing after "--": give the main command or drop the "--"');
  return {
    stateDir: stateDir(values['state-dir'], env),
    spec: path.resolve(values.spec ?? '/etc/sysmaster/system.toml'),
    core: path.resolve(values.core ?? defaultCore()),
    main,
    watchdogMs: parseDuration(values['watchdog-sec'] ?? '10'),
    graceMs: parseDuration(values.grace ?? (container ? '8s' : '90s')),
    // 0 means no limit, as on a host, where giving up would leave the machine without a manager.
    maxFailedStarts: max !== undefined ? Number(max) || Infinity : container ? 5 : Infinity,
    pid1,
    container,
    console: consoleMode as ConsoleMode,
  };
}
