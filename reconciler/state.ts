// The core's memory across its own deaths: everything a new core needs to take over without touching a service,
// in one sql.js database written atomically (temp file + rename) to the runtime state directory.
// Versioned: a file of another version is refused, never half-read. See docs/recovery.md.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import type { RequestRow } from './requests.js';

export const STATE_VERSION = 3;

/** A unit's definition: written when it changes (apply, reload), not on every state change. */
export interface UnitDef {
  name: string;
  /** UnitSpec, as JSON (Infinity kept by the codec below). */
  spec: unknown;
  /** A definition waiting for the unit's next start, or null. */
  next: unknown;
  removed: boolean;
  /** The unit type, whose machine the snapshot belongs to. */
  machine: string;
  /** configHash() of spec, which plan() compares: kept so a takeover need not compute it for every unit. */
  hash: string;
}

/** A unit's live state: written each time its actor moves. */
export interface ActorRow {
  name: string;
  /** The actor's persisted snapshot, without the config (the definition holds it). */
  snapshot: unknown;
  /** Start times (from /proc) of the pids in the snapshot: a pid that was reused is not ours. */
  starts: Record<string, string>;
}

/** One unit as the next core must see it. */
export type UnitRow = UnitDef & ActorRow;

export interface JobRow {
  unit: string;
  type: string;
  mode: string;
  /** The journal transaction (apply, rollback) the job runs for, or null. */
  journal: number | null;
}

export interface Meta {
  /** The init the state belongs to (`pid:starttime`): a state file of another init is not taken over. */
  owner: string;
  /** The spec file last applied (daemon-reload re-reads it). */
  specFile: string | null;
  /** The [manager] settings of the spec in force (JSON), or null before the first apply. */
  manager: unknown;
  /** The highest exit sequence number from init whose effect is in this state. */
  eventSeq: number;
}

export interface CoreState extends Meta {
  units: UnitRow[];
  /** Jobs that were queued or running: the next core queues them again. */
  jobs: JobRow[];
  requests: RequestRow[];
}

/** What changed since the last save: only these rows are written (a 300-unit state is not re-encoded per event). */
export interface StateChange extends Meta {
  /** Every unit is in defs and actors: rows of units not there are dropped. */
  whole: boolean;
  defs: UnitDef[];
  actors: ActorRow[];
  /** Units that no longer exist. */
  gone: string[];
  jobs: JobRow[];
  /** Every keyed request, when any changed; else null. */
  requests: RequestRow[] | null;
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
    /** Why the file this core found could not be used, and was started over (null: it could). */
    readonly dropped: string | null,
  ) {}

  static async open(file: string): Promise<StateStore> {
    let db = await openDatabase(file);
    migrate(db);
    const dropped = unusable(db);
    if (dropped !== null) {
      db.close();
      db = new (await sqlJs()).Database();
    }
    db.run(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS units (name TEXT PRIMARY KEY, spec TEXT NOT NULL, next TEXT, removed INTEGER NOT NULL,
        machine TEXT NOT NULL, hash TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS actors (name TEXT PRIMARY KEY, snapshot TEXT NOT NULL, starts TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY, unit TEXT NOT NULL, type TEXT NOT NULL, mode TEXT NOT NULL, journal INTEGER);
      CREATE TABLE IF NOT EXISTS requests (key TEXT PRIMARY KEY, entries TEXT NOT NULL, results TEXT NOT NULL,
        done INTEGER NOT NULL);`);
    return new StateStore(db, file, dropped);
  }

  /** The state a previous core left, or null when there is none (a first start). */
  load(): CoreState | null {
    const meta = new Map(rows<{ key: string; value: string }>(this.db, 'SELECT key, value FROM meta').map((r) => [r.key, r.value]));
    if (!meta.has('version')) return null;
    const sqlText = 'SELECT u.*, a.snapshot, a.starts FROM units u JOIN actors a USING (name) ORDER BY name';
    return {
      owner: meta.get('owner') ?? '',
      specFile: meta.get('specFile') || null,
      eventSeq: Number(meta.get('eventSeq') ?? 0),
      manager: JSON.parse(meta.get('manager') ?? 'null') as unknown,
      units: rows<Record<string, string | number | null>>(this.db, sqlText).map((r) => ({
        name: String(r.name),
        spec: decode(String(r.spec)),
        next: r.next === null ? null : decode(String(r.next)),
        removed: r.removed === 1,
        machine: String(r.machine),
        hash: String(r.hash),
        snapshot: decode(String(r.snapshot)),
        starts: JSON.parse(String(r.starts)) as Record<string, string>,
      })),
      jobs: rows<JobRow>(this.db, 'SELECT unit, type, mode, journal FROM jobs ORDER BY seq'),
      requests: rows<{ key: string; entries: string; results: string; done: number }>(this.db, 'SELECT * FROM requests').map((r) => ({
        key: r.key,
        entries: JSON.parse(r.entries) as RequestRow['entries'],
        results: JSON.parse(r.results) as RequestRow['results'],
        done: r.done === 1,
      })),
    };
  }

  /** Write what changed in one write transaction, then the whole file atomically. */
  save(change: StateChange): void {
    const db = this.db;
    db.run('BEGIN');
    try {
      db.run('DELETE FROM meta; DELETE FROM jobs;');
      if (change.whole) db.run('DELETE FROM units; DELETE FROM actors;');
      const meta = db.prepare('INSERT INTO meta VALUES (?, ?)');
      const values = [['version', String(STATE_VERSION)], ['owner', change.owner], ['specFile', change.specFile ?? ''], ['eventSeq', String(change.eventSeq)], ['manager', JSON.stringify(change.manager ?? null)]];
      for (const [k, v] of values) meta.run([k, v]);
      meta.free();
      const def = db.prepare('INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?)');
      for (const u of change.defs) def.run([u.name, encode(u.spec), u.next === null ? null : encode(u.next), u.removed ? 1 : 0, u.machine, u.hash]);
      def.free();
      const actor = db.prepare('INSERT OR REPLACE INTO actors VALUES (?, ?, ?)');
      for (const a of change.actors) actor.run([a.name, encode(a.snapshot), JSON.stringify(a.starts)]);
      actor.free();
      const drop = db.prepare('DELETE FROM units WHERE name = ?');
      const dropActor = db.prepare('DELETE FROM actors WHERE name = ?');
      for (const name of change.gone) {
        drop.run([name]);
        dropActor.run([name]);
      }
      drop.free();
      dropActor.free();
      const job = db.prepare('INSERT INTO jobs (unit, type, mode, journal) VALUES (?, ?, ?, ?)');
      for (const j of change.jobs) job.run([j.unit, j.type, j.mode, j.journal]);
      job.free();
      if (change.requests) {
        db.run('DELETE FROM requests');
        const request = db.prepare('INSERT INTO requests VALUES (?, ?, ?, ?)');
        for (const r of change.requests) request.run([r.key, JSON.stringify(r.entries), JSON.stringify(r.results), r.done ? 1 : 0]);
        request.free();
      }
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

/** A sql.js database holding `file`'s content; empty when there is no such file. */
/** The database in `file`, or a new one (null: in memory only). */
export async function openDatabase(file: string | null): Promise<Database> {
  const SQL = await sqlJs();
  let bytes: Uint8Array | undefined;
  try {
    bytes = file === null ? undefined : fs.readFileSync(file);
  } catch {
    bytes = undefined;
  }
  return bytes ? new SQL.Database(bytes) : new SQL.Database();
}

/**
 * tmp + rename: a reader sees the old file or the new one, never a mixture. Not durable, for the runtime state: a
 * core killed at any instant leaves the kernel's page cache intact, and the machine crashing is the one case fsync
 * covers, where the processes the state names are gone and the next init (another owner) ignores the file anyway.
 * What must outlive a boot (the journal) uses writeDurable().
 */
export function writeAtomic(file: string, data: Uint8Array | string, mode = 0o600): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    // The mode exactly, whatever the umask (a world-readable device database).
    if (mode !== 0o600) fs.fchmodSync(fd, mode);
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * writeAtomic made durable (fsync of the file, then of its directory for the rename), off the event loop: the write
 * and both fsyncs run on libuv's pool, so the core goes on with its jobs meanwhile (the journal's savepoints).
 */
export async function writeDurable(file: string, data: Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fh = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  const dir = await fs.promises.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Older layouts this core can take over from (a daemon-reexec onto new code keeps its services): version 2 had no
 * journal id on its jobs.
 */
function migrate(db: Database): void {
  try {
    if (rows<{ value: string }>(db, "SELECT value FROM meta WHERE key = 'version'")[0]?.value !== '2') return;
  } catch {
    return; // not a state file, or an empty one: unusable() says which
  }
  db.run("ALTER TABLE jobs ADD COLUMN journal INTEGER; UPDATE meta SET value = '3' WHERE key = 'version';");
}

/** Why a state file cannot be read by this core, or null when it can (an empty database can). */
function unusable(db: Database): string | null {
  let version: string | undefined;
  try {
    if (!rows(db, 'SELECT name FROM sqlite_master').length) return null;
    version = rows<{ value: string }>(db, "SELECT value FROM meta WHERE key = 'version'")[0]?.value;
  } catch (err) {
    return `not a sysmaster state file: ${(err as Error).message}`;
  }
  if (version === undefined || version === String(STATE_VERSION)) return null;
  return `state version ${version}, this core reads version ${STATE_VERSION}`;
}

export function rows<T>(db: Database, sqlText: string, params: (string | number | null)[] = []): T[] {
  const stmt = db.prepare(sqlText, params);
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
  // A reviver costs a call per value: only texts that hold an infinity pay for it.
  if (!text.includes('"$inf"')) return JSON.parse(text);
  return JSON.parse(text, (_k, x) => (x && typeof x === 'object' && '$inf' in x ? (x.$inf > 0 ? Infinity : -Infinity) : x));
}
