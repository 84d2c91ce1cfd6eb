import fs from 'node:fs';
import path from 'node:path';

export interface LogRecord {
  /** ms since the epoch */
  time: number;
  unit: string;
  pid: number | null;
  stream: 'stdout' | 'stderr' | 'manager';
  /** syslog priority, 0 (emerg) to 7 (debug): a `<N>` prefix on the line (sd-daemon(3)), else 6 (info). */
  priority: number;
  message: string;
}

/** What a writer gives: the priority is read off the message. */
export type LogLine = Omit<LogRecord, 'priority'>;

/** Which records a reader wants. */
export interface LogFilter {
  units: string[];
  since?: number;
  until?: number;
  /** The least urgent priority shown (journalctl -p). */
  priority?: number;
}

export function matches(r: LogRecord, f: LogFilter): boolean {
  return (
    (!f.units.length || f.units.includes(r.unit)) &&
    (f.since === undefined || r.time >= f.since) &&
    (f.until === undefined || r.time <= f.until) &&
    (f.priority === undefined || r.priority <= f.priority)
  );
}

type Listener = (r: LogRecord) => void;

/**
 * Captured output of every unit: a bounded ring per unit for `status` and `logs`, plus a JSON-lines file per unit
 * in the state directory. (The log process of the logging issue replaces the file writer.)
 */
export class LogStore {
  private rings = new Map<string, LogRecord[]>();
  private files = new Map<string, fs.WriteStream>();
  private listeners = new Set<Listener>();

  constructor(
    private dir: string | null,
    private keep = 1000,
  ) {
    if (dir) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  add(line: LogLine): void {
    const m = /^<([0-7])>/.exec(line.message);
    const r: LogRecord = m ? { ...line, priority: Number(m[1]), message: line.message.slice(3) } : { ...line, priority: 6 };
    let ring = this.rings.get(r.unit);
    if (!ring) this.rings.set(r.unit, (ring = []));
    ring.push(r);
    if (ring.length > this.keep) ring.splice(0, ring.length - this.keep);
    this.file(r.unit)?.write(JSON.stringify(r) + '\n');
    for (const l of this.listeners) l(r);
  }

  /** The last `n` records that match, oldest first, interleaved by time. */
  tail(filter: LogFilter, n: number): LogRecord[] {
    const names = filter.units.length ? filter.units : [...this.rings.keys()];
    const all = names.flatMap((u) => this.rings.get(u) ?? []).filter((r) => matches(r, filter));
    all.sort((a, b) => a.time - b.time);
    return n >= all.length ? all : all.slice(all.length - n);
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    for (const f of this.files.values()) f.end();
    this.files.clear();
  }

  private file(unit: string): fs.WriteStream | null {
    if (!this.dir) return null;
    let f = this.files.get(unit);
    if (!f) {
      f = fs.createWriteStream(path.join(this.dir, `${unit}.log`), { flags: 'a', mode: 0o600 });
      f.on('error', () => this.files.delete(unit));
      this.files.set(unit, f);
    }
    return f;
  }
}
