// Keeps one core running: a core that dies is replaced at once, one that goes silent is killed and replaced, and
// one that cannot even get ready is retried with a growing delay, until init gives up.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { log } from './log.js';
import { FDS_ENV, FIRST_STORED_FD, STORED_ENV, WATCHDOG_ENV, type CoreMessage, type InitMessage } from './protocol.js';
import type { InitSockets } from './sockets.js';
import type { RebootAction } from './sys.js';
import type { ConsoleMode } from './options.js';

export interface CoreSettings {
  script: string;
  env: NodeJS.ProcessEnv;
  sockets: InitSockets;
  /** What the fd store holds now: every core starts with it. */
  stored(): { name: string; fd: number }[];
  watchdogMs: number;
  maxFailedStarts: number;
}

export interface SupervisorEvents {
  /** A core process was started; it is not ready yet. */
  spawn: [pid: number];
  /** The current core serves: it is owed every unacknowledged exit. */
  ready: [];
  /** From any core, even one that has died since: its acknowledgement still stands. */
  ack: [seq: number];
  /** A core has stopped everything and asks init to end. */
  exit: [code: number, action: RebootAction | undefined];
  /** Too many failed starts in a row; says why. */
  giveUp: [why: string];
}

// These slow every Node start (NODE_EXTRA_CA_CERTS costs 45–60 ms) or change the core's runtime behind our back.
const STRIPPED = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE'];

/** The core's environment: ours minus what only slows it, plus where its inherited sockets and its work are. */
export function coreEnv(o: { stateDir: string; spec: string; main: string[] | null; watchdogMs: number; console: ConsoleMode }): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [...STRIPPED, 'SYSMASTER_MAIN_CMD', 'SYSMASTER_UP']) delete env[name];
  if (o.console !== 'off') env.SYSMASTER_UP = o.console;
  env.SYSMASTER_STATE_DIR = o.stateDir;
  env.SYSMASTER_SPEC = o.spec;
  env[FDS_ENV] = 'control:3'; // the stdio slot spawn() puts it in
  env[WATCHDOG_ENV] = String(o.watchdogMs);
  if (o.main) env.SYSMASTER_MAIN_CMD = JSON.stringify(o.main);
  return env;
}

const MAX_BACKOFF_MS = 5000;

/** The delay before the next start after `failures` failed starts in a row: 0, 100, 200, 400 ... 5000 ms. */
export function backoff(failures: number): number {
  return failures <= 1 ? 0 : Math.min(100 * 2 ** (failures - 2), MAX_BACKOFF_MS);
}

const actions = new Set<unknown>(['poweroff', 'reboot', 'halt']);

/** A message from the core, checked; null for anything else, which is logged and ignored. */
function parse(m: unknown): CoreMessage | null {
  const msg = m as Record<string, unknown> | null;
  switch (msg?.type) {
    case 'ready':
    case 'heartbeat':
    case 'reexec':
      return { type: msg.type };
    case 'ack':
      return Number.isSafeInteger(msg.seq) ? { type: 'ack', seq: msg.seq as number } : null;
    case 'exit': {
      const code = msg.code;
      if (!Number.isInteger(code) || (code as number) < 0 || (code as number) > 255) return null;
      if (msg.action !== undefined && !actions.has(msg.action)) return null;
      return { type: 'exit', code: code as number, action: msg.action as RebootAction | undefined };
    }
    default:
      return null;
  }
}

function describe(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private child: ChildProcess | null = null;
  private ready = false;
  private reexec = false;
  private failures = 0;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private onGone: (() => void) | null = null;

  constructor(private readonly s: CoreSettings) {
    super();
  }

  /** The current core's pid, or null. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** A core process exists, ready or not. */
  get running(): boolean {
    return this.child !== null;
  }

  get isReady(): boolean {
    return this.ready;
  }

  start(): void {
    this.retry = null;
    if (this.stopped) return;
    let child: ChildProcess;
    try {
      const stored = this.s.stored();
      child = spawn(process.execPath, ['--max-semi-space-size=2', '--liftoff-only', this.s.script], {
        // fd 4 stays free: the notify socket is init's to read (events reach the core through the ledger).
        stdio: ['inherit', 'inherit', 'inherit', this.s.sockets.control, 'ignore', 'ipc', ...stored.map((s) => s.fd)],
        env: { ...this.s.env, [STORED_ENV]: stored.map((s, i) => `${s.name}:${FIRST_STORED_FD + i}`).join(',') },
        // Its own session: a terminal's Ctrl-C or a group kill reaches init, which decides what the core hears.
        detached: true,
      });
    } catch (err) {
      this.failed(`could not be spawned (${(err as Error).message})`);
      return;
    }
    this.child = child;
    this.ready = false;
    this.reexec = false;
    child.on('message', (m) => this.onMessage(child, m));
    child.on('exit', (code, signal) => this.onExit(child, describe(code, signal)));
    // 'error' without a pid: the spawn failed, and no 'exit' follows. Any other (a failed kill) changes nothing.
    child.on('error', (err) => child.pid === undefined && this.onExit(child, `could not be spawned (${err.message})`));
    if (this.s.watchdogMs > 0) this.watchdog = setTimeout(() => this.hung(child), this.s.watchdogMs);
    if (child.pid !== undefined) this.emit('spawn', child.pid);
  }

  /** To the current core, if any; lost when it dies first, which is why exits wait in the ledger for an ack. */
  send(msg: InitMessage): void {
    if (this.child?.connected) this.child.send(msg, () => {});
  }

  /** No more starts. Resolves once no core runs: at once, or when the current one exits. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    return this.child ? new Promise((resolve) => (this.onGone = resolve)) : Promise.resolve();
  }

  private onMessage(child: ChildProcess, m: unknown): void {
    const msg = parse(m);
    if (!msg) return log(`ignoring a malformed message from core ${child.pid}: ${JSON.stringify(m)}`);
    const current = child === this.child;
    // Any message is a sign of life: the watchdog only needs to hear something.
    if (current) this.watchdog?.refresh();
    switch (msg.type) {
      case 'ready':
        if (!current || this.ready) return;
        this.ready = true;
        this.failures = 0;
        this.emit('ready');
        return;
      case 'ack':
        this.emit('ack', msg.seq);
        return;
      case 'exit':
        this.emit('exit', msg.code, msg.action);
        return;
      case 'reexec':
        if (current) this.reexec = true;
        return;
    }
  }

  private hung(child: ChildProcess): void {
    if (child !== this.child) return;
    log(`core ${child.pid} sent nothing for ${this.s.watchdogMs} ms: killing it`);
    child.kill('SIGKILL'); // works on a stopped process too; 'exit' follows
  }

  private onExit(child: ChildProcess, how: string): void {
    if (child !== this.child) return;
    this.child = null;
    if (this.watchdog) clearTimeout(this.watchdog);
    const wasReady = this.ready;
    this.ready = false;
    if (this.stopped) {
      this.onGone?.();
      return;
    }
    if (this.reexec) {
      log(`core ${child.pid} re-executes: starting a fresh one`);
      this.start();
    } else if (wasReady) {
      log(`core ${child.pid} ${how}: starting a new one`);
      this.start();
    } else {
      this.failed(`core ${child.pid} ${how} before it was ready`);
    }
  }

  private failed(what: string): void {
    this.failures++;
    if (this.failures >= this.s.maxFailedStarts) {
      this.emit('giveUp', `the core failed to start ${this.failures} times in a row; the last: ${what}`);
      return;
    }
    const delay = backoff(this.failures);
    log(`${what} (failed start ${this.failures}): next start in ${delay} ms`);
    this.retry = setTimeout(() => this.start(), delay);
  }
}
