// The log process's work: it reads every unit's journal FIFOs, stores the lines as records, and shows them on the
// console and to syslog. It is not the core (RECOVERY-CONSTRAINTS.md 3): the core may die at any instant and the
// services' output is still read; and it holds the FIFOs read-write, so when it dies itself, what the services
// write waits in the pipes for the next log process.
import fs from 'node:fs';
import { consoleSink } from '../reconciler/console.js';
import type { Sink } from '../reconciler/daemon.js';
import { OutputFifo } from '../reconciler/output.js';
import { fifoPath, type LoggerConfig, type Stream } from './protocol.js';
import { LogStore, type LogLine, type LogRecord } from './store.js';
import { syslogLine } from './syslog.js';

interface UnitLog {
  fifos: Map<Stream, OutputFifo>;
  pid: number | null;
  spawning: boolean;
  /** Lines read while the main process was being started: they get its pid once the core knows it. */
  held: LogLine[];
}

export interface LoggerOptions {
  stateDir: string;
  /** Service lines on our stdout (`up`, a container's stdout): `unit | line`, or the bare line. */
  console: 'prefix' | 'plain' | null;
  /** Sends one syslog datagram (ForwardToSyslog): syslogSender. */
  syslog?: (datagram: string) => 'sent' | 'busy' | 'gone';
}

export class Logger {
  readonly store: LogStore;
  private units = new Map<string, UnitLog>();
  private lost = new Map<string, number>();
  private said = new Map<string, string>();
  private syslog = false;
  private readonly console: Sink | null;

  constructor(private readonly o: LoggerOptions) {
    this.store = new LogStore(`${o.stateDir}/logs`, (unit, count, why) => this.losing(unit, count, why));
    // What `up` and a container show: the same lines as the core's state changes, `unit | line` or bare.
    this.console = o.console ? consoleSink(o.console === 'prefix', []) : null;
  }

  configure(c: LoggerConfig): void {
    this.store.limits = c.limits;
    this.syslog = c.syslog;
    this.console?.widen(c.names);
  }

  watch(unit: string, streams: Stream[]): void {
    const u = this.unit(unit);
    for (const stream of streams) {
      if (u.fifos.has(stream)) continue;
      const fifo = new OutputFifo(fifoPath(this.o.stateDir, unit, stream), (message) => this.line(unit, stream, message), true);
      try {
        fifo.listen();
        u.fifos.set(stream, fifo);
      } catch (err) {
        this.note(process.pid, `${unit}: cannot read its ${stream}: ${(err as Error).message}`);
      }
    }
  }

  main(unit: string, pid: number | null, spawning: boolean): void {
    const u = this.unit(unit);
    u.pid = pid;
    u.spawning = spawning && pid === null;
    if (u.spawning) return;
    const held = u.held;
    u.held = [];
    for (const r of held) this.add({ ...r, pid });
  }

  end(unit: string): void {
    for (const f of this.units.get(unit)?.fifos.values() ?? []) f.drain(true);
  }

  forget(unit: string): void {
    const u = this.units.get(unit);
    if (!u) return;
    this.end(unit);
    this.main(unit, null, false);
    for (const [stream, f] of u.fifos) {
      f.close();
      fs.rmSync(fifoPath(this.o.stateDir, unit, stream), { force: true });
    }
    this.units.delete(unit);
  }

  note(pid: number, message: string, time = Date.now()): void {
    this.add({ time, unit: 'sysmaster', pid, stream: 'manager', message });
  }

  /** Everything the FIFOs hold now is read and stored: a reader after this sees it. */
  sync(): void {
    for (const u of this.units.values()) for (const f of u.fifos.values()) f.drain();
    this.store.flush();
  }

  lostCounts(): Record<string, number> {
    return Object.fromEntries(this.lost);
  }

  close(): void {
    for (const unit of this.units.keys()) this.end(unit);
    for (const u of this.units.values()) for (const f of u.fifos.values()) f.close();
    this.store.close();
  }

  private unit(name: string): UnitLog {
    let u = this.units.get(name);
    if (!u) this.units.set(name, (u = { fifos: new Map(), pid: null, spawning: false, held: [] }));
    return u;
  }

  private line(unit: string, stream: Stream, message: string): void {
    const u = this.unit(unit);
    const line: LogLine = { time: Date.now(), unit, pid: u.pid, stream, message };
    if (u.spawning) u.held.push(line);
    else this.add(line);
  }

  private add(line: LogLine): void {
    const r = this.store.add(line);
    if (r.stream !== 'manager') this.console?.line(r);
    if (!this.syslog || !this.o.syslog) return;
    const sent = this.o.syslog(syslogLine(r));
    if (sent === 'busy') this.losing('syslog', 1, 'the syslog socket is full');
    // No syslog daemon: forwarding stops until the next config asks for it again.
    if (sent === 'gone') this.syslog = false;
  }

  /** Records that could not be stored or forwarded are counted (stats), and said in the manager's own log. */
  private losing(unit: string, count: number, why: string): void {
    const before = this.lost.get(unit) ?? 0;
    this.lost.set(unit, before + count);
    // Said once per unit and cause, in the manager's own log: a full disk would otherwise say it per record.
    if (this.said.get(unit) === why) return;
    this.said.set(unit, why);
    this.note(process.pid, `${unit}: lost ${count} log records (${before + count} so far): ${why}`);
  }
}
