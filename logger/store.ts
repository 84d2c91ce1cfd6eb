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

/** [manager] LogMaxSize and LogMaxFiles. */
export interface LogLimits {
  maxSize: number;
  maxFiles: number;
}


/** A unit's current file: what is on disk, and what waits to be written at the end of this turn of the loop. */
interface Open {
  fd: number;
  size: number;
  queue: string[];
  queued: number;
}

/** Written at once beyond this, not at the end of the turn. */
const BATCH = 1 << 16;
const FILE = /^(.+)\.log(?:\.([1-9]\d*))?$/;

/**
 * Captured output of every unit, as JSON lines in one file per unit in the state directory, rotated by size and
 * count (docs/logs.md). The log process is its only writer. Writes are synchronous, batched per turn of the event
 * loop, and every read writes what is queued first: a reader sees each record exactly once, in order, rotations
 * included.
 */
export class LogStore {
  /** Every unit with files here, and how many rotated files it has (NAME.log.1 ... NAME.log.N). */
  private rotated = new Map<string, number>();
  private open = new Map<string, Open>();
  private listeners = new Set<Listener>();
  private flushing: NodeJS.Immediate | null = null;
  /** Null until the spec is known: the files grow unrotated. */
  limits: LogLimits | null = null;

  /** `lost`: records that could not be written (disk full, directory gone), by unit: counted, never silent. */
  constructor(
    private dir: string,
    private readonly lost: (unit: string, count: number, why: string) => void = () => {},
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of fs.readdirSync(dir)) {
      const m = FILE.exec(name);
      if (m) this.rotated.set(m[1], Math.max(this.rotated.get(m[1]) ?? 0, Number(m[2] ?? 0)));
    }
  }

  add(line: LogLine): LogRecord {
    const m = /^<([0-7])>/.exec(line.message);
    // A literal in the documented field order: a spread makes V8 build a slow object, a third of the log process's CPU.
    const r: LogRecord = {
      time: line.time,
      unit: line.unit,
      pid: line.pid,
      stream: line.stream,
      priority: m ? Number(m[1]) : 6,
      message: m ? line.message.slice(3) : line.message,
    };
    this.append(r);
    for (const l of this.listeners) l(r);
    return r;
  }

  /** The last `n` records that match, oldest first, interleaved by time; rotated files included. */
  tail(filter: LogFilter, n: number): LogRecord[] {
    if (n <= 0) return [];
    this.flush();
    const names = filter.units.length ? filter.units : [...this.rotated.keys()];
    const all = names.flatMap((u) => this.last(u, filter, n));
    all.sort((a, b) => a.time - b.time);
    return n >= all.length ? all : all.slice(all.length - n);
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    this.flush();
    for (const f of this.open.values()) fs.closeSync(f.fd);
    this.open.clear();
  }

  /** Write what is queued. */
  flush(): void {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = null;
    for (const [unit, f] of this.open) this.write(unit, f);
  }

  private append(r: LogRecord): void {
    let f = this.file(r.unit);
    const line = JSON.stringify(r) + '\n';
    const len = Buffer.byteLength(line);
    const held = f ? f.size + f.queued : 0;
    if (f && this.limits && held > 0 && held + len > this.limits.maxSize) f = this.rotate(r.unit, f);
    if (!f) return this.lost(r.unit, 1, `cannot open ${this.path(r.unit)}`);
    f.queue.push(line);
    f.queued += len;
    if (f.queued >= BATCH) this.write(r.unit, f);
    else this.flushing ??= setImmediate(() => this.flush());
  }

  private write(unit: string, f: Open): void {
    if (!f.queued) return;
    try {
      fs.writeSync(f.fd, f.queue.join(''));
      f.size += f.queued;
    } catch (err) {
      // The disk is full or the directory went: the next record tries a fresh file.
      this.lost(unit, f.queue.length, `writing ${this.path(unit)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      this.forget(unit, f);
    }
    f.queue = [];
    f.queued = 0;
  }

  /**
   * NAME.log becomes NAME.log.1 (.1 becomes .2, and so on; those beyond LogMaxFiles go), then a new NAME.log is
   * made: a reader listing the files in between finds every record in the rotated ones.
   */
  private rotate(unit: string, f: Open): Open | null {
    this.write(unit, f);
    const keep = this.limits!.maxFiles;
    const base = this.path(unit);
    const had = this.rotated.get(unit) ?? 0;
    try {
      for (let i = had; i >= Math.max(keep, 1); i--) fs.rmSync(`${base}.${i}`, { force: true });
      for (let i = Math.min(had, keep - 1); i >= 1; i--) fs.renameSync(`${base}.${i}`, `${base}.${i + 1}`);
      if (keep) fs.renameSync(base, `${base}.1`);
      else fs.rmSync(base);
    } catch {
      // Rotated files removed under us: whatever is left is read as it is.
    }
    this.rotated.set(unit, Math.min(had + 1, keep));
    this.forget(unit, f);
    return this.file(unit);
  }

  private forget(unit: string, f: Open): void {
    this.open.delete(unit);
    try {
      fs.closeSync(f.fd);
    } catch {
      // already closed
    }
  }

  private path(unit: string): string {
    return path.join(this.dir, `${unit}.log`);
  }

  private file(unit: string): Open | null {
    let f = this.open.get(unit);
    if (f) return f;
    try {
      const fd = fs.openSync(this.path(unit), fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
      f = { fd, size: fs.fstatSync(fd).size, queue: [], queued: 0 };
    } catch {
      return null;
    }
    this.open.set(unit, f);
    if (!this.rotated.has(unit)) this.rotated.set(unit, 0);
    return f;
  }

  /** A unit's last `n` records that match, oldest first: its files read from the end, newest file first. */
  private last(unit: string, filter: LogFilter, n: number): LogRecord[] {
    const out: LogRecord[] = [];
    const base = this.path(unit);
    for (let i = 0; i <= (this.rotated.get(unit) ?? 0); i++) {
      const more = backwards(i ? `${base}.${i}` : base, (line) => {
        let r: LogRecord;
        try {
          r = JSON.parse(line) as LogRecord;
        } catch {
          return true; // a line cut short by a crash
        }
        // A unit's records are in time order: nothing older can match.
        if (filter.since !== undefined && r.time < filter.since) return false;
        if (matches(r, filter)) out.push(r);
        return out.length < n;
      });
      if (!more) break;
    }
    return out.reverse();
  }
}

/** Calls `each` with every line of `file`, last first, until it returns false (then false). A missing file has none. */
function backwards(file: string, each: (line: string) => boolean): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  try {
    const chunk = Buffer.allocUnsafe(BATCH);
    let pos = fs.fstatSync(fd).size;
    let rest = Buffer.alloc(0);
    while (pos > 0) {
      const len = Math.min(chunk.length, pos);
      pos -= len;
      fs.readSync(fd, chunk, 0, len, pos);
      const buf = Buffer.concat([chunk.subarray(0, len), rest]);
      let end = buf.length;
      for (let i; end > 0 && (i = buf.lastIndexOf(10, end - 1)) >= 0; end = i) {
        if (i + 1 < end && !each(buf.toString('utf8', i + 1, end))) return false;
      }
      rest = buf.subarray(0, end);
    }
    return !rest.length || each(rest.toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}
