// The core's side of the log process: it finds the one the previous core left running, or starts one, and starts
// a new one whenever it dies, telling it again what the dead one knew (docs/logs.md, "The log process").
import { spawn } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loggerSocket, type LoggerConfig, type LoggerReply, type LoggerRequest, type Stream } from './protocol.js';
import type { LogFilter, LogRecord } from './store.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** Messages kept while no log process listens (it is being started): the manager's notes mostly. */
const QUEUE_MAX = 10_000;

export class LoggerClient {
  private sock: net.Socket | null = null;
  private connecting: Promise<void> | null = null;
  private queue: LoggerRequest[] = [];
  /** Requests of this turn of the loop, written together at its end: one write, not one per request. */
  private out: LoggerRequest[] = [];
  private config: LoggerConfig = { limits: null, syslog: false, names: [] };
  /** What a new log process must be told again: the FIFOs to read, and each unit's main pid. */
  private watched = new Map<string, Set<Stream>>();
  private mains = new Map<string, { pid: number | null; spawning: boolean }>();
  private closed = false;
  /** Log processes started by this core, for `restarts`. */
  started = 0;

  constructor(
    private readonly stateDir: string,
    private readonly console: 'prefix' | 'plain' | null,
    private readonly note: (message: string) => void = () => {},
  ) {}

  /** Connects to the log process, starting one if none runs; resolves once it listens. */
  start(): Promise<void> {
    // Connected already: every query calls this, and a second control connection would replay everything.
    if (this.sock) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  configure(c: LoggerConfig): void {
    this.config = c;
    this.send({ op: 'config', ...c });
  }

  watch(unit: string, streams: Stream[]): void {
    const had = this.watched.get(unit) ?? new Set();
    const fresh = streams.filter((s) => !had.has(s));
    if (!fresh.length) return;
    for (const s of fresh) had.add(s);
    this.watched.set(unit, had);
    this.send({ op: 'watch', unit, streams: fresh });
  }

  main(unit: string, pid: number | null, spawning: boolean): void {
    const was = this.mains.get(unit);
    if (was && was.pid === pid && was.spawning === spawning) return;
    this.mains.set(unit, { pid, spawning });
    this.send({ op: 'main', unit, pid, spawning });
  }

  end(unit: string): void {
    this.send({ op: 'end', unit });
  }

  forget(unit: string): void {
    this.watched.delete(unit);
    this.mains.delete(unit);
    this.send({ op: 'forget', unit });
  }

  add(message: string, time = Date.now()): void {
    this.send({ op: 'note', time, pid: process.pid, message });
  }

  /** The last `lines` records that match, read by the log process (never by the core's loop). */
  async tail(filter: LogFilter, lines: number): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    await this.query({ op: 'tail', filter, lines, follow: false }, (r) => 'record' in r && out.push(r.record));
    return out;
  }

  /** tail(), then every new record that matches, until `signal` aborts. */
  follow(filter: LogFilter, lines: number, each: (r: LogRecord) => void, signal: AbortSignal): Promise<void> {
    return this.query({ op: 'tail', filter, lines, follow: true }, (r) => 'record' in r && each(r.record), signal);
  }

  async lost(): Promise<Record<string, number>> {
    let lost: Record<string, number> = {};
    await this.query({ op: 'stats' }, (r) => {
      if ('lost' in r) lost = r.lost;
      return 'lost' in r;
    });
    return lost;
  }

  /** Stop talking to the log process; it keeps running for the next core (daemon-reexec, a crash). */
  close(): void {
    this.drain();
    this.closed = true;
    this.sock?.end();
  }

  /** The manager's orderly end: the log process stores what is pending and exits. */
  async exit(): Promise<void> {
    this.closed = true;
    await this.query({ op: 'exit' }, (r) => 'done' in r).catch(() => {});
    this.sock?.destroy();
  }

  private send(q: LoggerRequest): void {
    if (!this.sock) return void (this.queue.length < QUEUE_MAX && this.queue.push(q));
    if (!this.out.length) setImmediate(() => this.drain());
    this.out.push(q);
  }

  private drain(): void {
    const out = this.out.splice(0);
    if (!out.length) return;
    if (this.sock) this.sock.write(out.map((q) => JSON.stringify(q) + '\n').join(''));
    else this.queue.push(...out.slice(0, QUEUE_MAX - this.queue.length));
  }

  /**
   * One request on a connection of its own, its replies to `each` until it returns true or `done` comes; rejects
   * when the log process goes or answers an error.
   */
  private async query(q: LoggerRequest, each: (r: LoggerReply) => unknown, signal?: AbortSignal): Promise<void> {
    await this.start();
    // What this side sent before the question leaves before it (the exit must not overtake the last notes).
    this.drain();
    const c = net.connect(loggerSocket(this.stateDir));
    return new Promise<void>((resolve, reject) => {
      const finish = (err?: Error) => {
        c.destroy();
        if (err) reject(err);
        else resolve();
      };
      signal?.addEventListener('abort', () => finish());
      c.on('error', (err) => finish(err));
      c.on('close', () => finish(new Error('the log process went away')));
      c.write(JSON.stringify(q) + '\n');
      readline.createInterface({ input: c, crlfDelay: Infinity }).on('line', (text) => {
        const r = JSON.parse(text) as LoggerReply;
        if ('error' in r) return finish(new Error(`log process: ${r.error}`));
        if ('done' in r || each(r) === true) finish();
      });
    });
  }

  private async connect(): Promise<void> {
    let sock = await tryConnect(loggerSocket(this.stateDir));
    if (!sock) {
      this.spawn();
      for (let i = 0; i < 500 && !sock; i++) {
        await new Promise((r) => setTimeout(r, 10));
        sock = await tryConnect(loggerSocket(this.stateDir));
      }
      if (!sock) throw new Error(`the log process did not listen on ${loggerSocket(this.stateDir)}`);
    }
    sock.on('error', () => {});
    sock.on('close', () => this.lostLogger(sock!));
    // A new log process (or the one a dead core left) learns everything first, then what waited.
    const replay: LoggerRequest[] = [
      { op: 'config', ...this.config },
      ...[...this.watched].map(([unit, s]): LoggerRequest => ({ op: 'watch', unit, streams: [...s] })),
      ...[...this.mains].map(([unit, m]): LoggerRequest => ({ op: 'main', unit, ...m })),
      ...this.queue,
    ];
    this.queue = [];
    sock.write(replay.map((q) => JSON.stringify(q) + '\n').join(''));
    this.sock = sock;
  }

  private lostLogger(sock: net.Socket): void {
    if (this.sock !== sock) return;
    this.sock = null;
    if (this.closed) return;
    this.note('the log process went away: starting a new one (what the services wrote meanwhile waits in their FIFOs)');
    void this.start().catch((err: Error) => this.note(`cannot start the log process: ${err.message}`));
  }

  private spawn(): void {
    // Its own session: a terminal's Ctrl-C reaches init and the core, which stop the units and then end it.
    const child = spawn(process.execPath, [MAIN, '--console', this.console ?? 'off', this.stateDir], {
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', (err) => this.note(`cannot start the log process: ${err.message}`));
    child.unref();
    this.started++;
  }
}

function tryConnect(path: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.removeAllListeners('error');
      resolve(c);
    });
    c.once('error', () => resolve(null));
  });
}
