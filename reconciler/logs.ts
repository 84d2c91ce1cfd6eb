import fs from 'node:fs';
import path from 'node:path';

export interface LogRecord {
  /** ms since the epoch */
  time: number;
  unit: string;
  pid: number | null;
  stream: 'stdout' | 'stderr' | 'manager';
  message: string;
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

  add(r: LogRecord): void {
    let ring = this.rings.get(r.unit);
    if (!ring) this.rings.set(r.unit, (ring = []));
    ring.push(r);
    if (ring.length > this.keep) ring.splice(0, ring.length - this.keep);
    this.file(r.unit)?.write(JSON.stringify(r) + '\n');
    for (const l of this.listeners) l(r);
  }

  /** The last `n` records of the given units (all units when empty), oldest first, interleaved by time. */
  tail(units: string[], n: number): LogRecord[] {
    const names = units.length ? units : [...this.rings.keys()];
    const all = names.flatMap((u) => this.rings.get(u) ?? []);
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
