// The core's memory across its own deaths: everything a new core needs to take over without touching a service,
// in one sql.js database written atomically (temp file + rename) to the runtime state directory.
// Versioned: a file of another version is refused, never half-read. See docs/recovery.md.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';

export const STATE_VERSION = 1;

/** One unit as the next core must see it. */
export interface UnitRow {
  name: string;
  /** UnitSpec, as JSON (Infinity kept by the codec below). */
  spec: unknown;
  /** A definition waiting for the unit's next start, or null. */
  next: unknown;
  removed: boolean;
  /** The actor's persisted snapshot, and the machine version it was taken with. */
  snapshot: unknown;
  machine: string;
  /** Start times (from /proc) of the pids in the snapshot: a pid that was reused is not ours. */
  starts: Record<string, string>;
}

export interface JobRow {
  unit: string;
  type: string;
  mode: string;
}

export interface CoreState {
  /** The init the state belongs to (`pid:starttime`): a state file of another init is not taken over. */
  owner: string;
  /** The spec file last applied (daemon-reload re-reads it). */
  specFile: string | null;
  /** The highest exit sequence number from init whose effect is in this state. */
  exitSeq: number;
  units: UnitRow[];
  /** Jobs that were queued or running: the next core queues them again. */
  jobs: JobRow[];
}

let sql: Promise<SqlJsStatic> | null = null;

/** sql.js, loaded once (its WASM takes ~20 ms to instantiate). */
function sqlJs(): Promise<SqlJsStatic> {
  const init = createRequire(import.meta.url)('sql.js') as (o?: object) => Promise<SqlJsStatic>;
  sql ??= init();
  return sql;
}

export class StateStore {
  private constructor(
    private db: Database,
    readonly file: string,
  ) {}

  static async open(file: string): Promise<StateStore> {
    const SQL = await sqlJs();
    let bytes: Uint8Array | undefined;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      bytes = undefined;
    }
    const db = bytes ? new SQL.Database(bytes) : new SQL.Database();
    db.run(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS units (name TEXT PRIMARY KEY, spec TEXT NOT NULL, next TEXT, removed INTEGER NOT NULL,
        snapshot TEXT NOT NULL, machine TEXT NOT NULL, starts TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY, unit TEXT NOT NULL, type TEXT NOT NULL, mode TEXT NOT NULL);`);
    return new StateStore(db, file);
  }

  /** The state a previous core left, or null when there is none (a first start). */
  load(): CoreState | null {
    const meta = new Map(rows<{ key: string; value: string }>(this.db, 'SELECT key, value FROM meta').map((r) => [r.key, r.value]));
    if (!meta.has('version')) return null;
    if (Number(meta.get('version')) !== STATE_VERSION) {
      throw new Error(`state file ${this.file} has version ${meta.get('version')}, this core reads ${STATE_VERSION}`);
    }
    return {
      owner: meta.get('owner') ?? '',
      specFile: meta.get('specFile') || null,
      exitSeq: Number(meta.get('exitSeq') ?? 0),
      units: rows<Record<string, string | number | null>>(this.db, 'SELECT * FROM units ORDER BY name').map((r) => ({
        name: String(r.name),
        spec: decode(String(r.spec)),
        next: r.next === null ? null : decode(String(r.next)),
        removed: r.removed === 1,
        snapshot: decode(String(r.snapshot)),
        machine: String(r.machine),
        starts: JSON.parse(String(r.starts)) as Record<string, string>,
      })),
      jobs: rows<JobRow>(this.db, 'SELECT unit, type, mode FROM jobs ORDER BY seq'),
    };
  }

  /** Replace the whole state in one write transaction, then write the file atomically. */
  save(state: CoreState): void {
    const db = this.db;
    db.run('BEGIN');
    try {
      db.run('DELETE FROM meta; DELETE FROM units; DELETE FROM jobs;');
      const meta = db.prepare('INSERT INTO meta VALUES (?, ?)');
      for (const [k, v] of [['version', String(STATE_VERSION)], ['owner', state.owner], ['specFile', state.specFile ?? ''], ['exitSeq', String(state.exitSeq)]]) meta.run([k, v]);
      meta.free();
      const unit = db.prepare('INSERT INTO units VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const u of state.units) {
        unit.run([u.name, encode(u.spec), u.next === null ? null : encode(u.next), u.removed ? 1 : 0, encode(u.snapshot), u.machine, JSON.stringify(u.starts)]);
      }
      unit.free();
      const job = db.prepare('INSERT INTO jobs (unit, type, mode) VALUES (?, ?, ?)');
      for (const j of state.jobs) job.run([j.unit, j.type, j.mode]);
      job.free();
      db.run('COMMIT');
    } catch (err) {
      db.run('ROLLBACK');
      throw err;
    }
    // export() fails inside a write transaction: only now, between transactions (PLATFORM.md).
    writeAtomic(this.file, db.export());
  }

  close(): void {
    this.db.close();
  }
}

/** tmp + rename: a reader sees the old file or the new one, never a mixture. */
export function writeAtomic(file: string, data: Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, data);
    // The runtime state lives on tmpfs (/run) where fsync is a no-op; elsewhere it makes the rename durable.
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function rows<T>(db: Database, sqlText: string): T[] {
  const stmt = db.prepare(sqlText);
  const out: T[] = [];
  while (stmt.step()) out.push(stmt.getAsObject() as T);
  stmt.free();
  return out;
}

/** JSON that keeps Infinity (durations) and -Infinity, which plain JSON turns into null. */
export function encode(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x === Infinity ? { $inf: 1 } : x === -Infinity ? { $inf: -1 } : x));
}

export function decode(text: string): unknown {
  return JSON.parse(text, (_k, x) => (x && typeof x === 'object' && '$inf' in x ? (x.$inf > 0 ? Infinity : -Infinity) : x));
}
