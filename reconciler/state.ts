// The core's memory across its own deaths: everything a new core needs to take over without touching a service,
// in one sql.js database in the runtime state directory. Each save appends what changed to a log beside it; once the
// log outgrows the database, the database is written whole, atomically (temp file + rename), and the log starts over.
// Versioned: a file of another version is refused, never half-read. See docs/recovery.md.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Database, SqlJsStatic } from 'sql.js';
import type { RequestRow } from './requests.js';

export const STATE_VERSION = 4;

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

/** A change as rows, each JSON text encoded once: what the database gets and what a line of the log holds. */
interface Rows {
  meta: [string, string][];
  whole: boolean;
  defs: (string | number | null)[][];
  actors: string[][];
  gone: string[];
  jobs: (string | number | null)[][];
  requests: (string | number)[][] | null;
}

/** The log is folded into the database once it is this many times the database's size (and at least LOG_MIN). */
const LOG_RATIO = 2;
const LOG_MIN = 256 * 1024;

export class StateStore {
  /** The log this core appends to; null until its first save, which writes the database whole and starts one. */
  private log: { fd: number; bytes: number; limit: number } | null = null;
  /** Changes on the log and not yet in the database in memory, merged: applied when it is read or written whole. */
  private pending = new Pending();

  private constructor(
    private db: Database,
    readonly file: string,
    /** Why the file this core found could not be used, and was started over (null: it could). */
    readonly dropped: string | null,
    /** Which log belongs to the database: a log of another epoch is older than it, and already in it. */
    private epoch: number,
  ) {}

  /** The database and the changes its log holds; writes nothing (another core may still be appending). */
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
    const epoch = Number(rows<{ value: string }>(db, "SELECT value FROM meta WHERE key = 'log'")[0]?.value ?? 0);
    if (dropped === null) replay(db, logFile(file), epoch);
    return new StateStore(db, file, dropped, epoch);
  }

  /** The state a previous core left, or null when there is none (a first start). */
  load(): CoreState | null {
    this.catchUp();
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

  /**
   * What changed, onto the log; or, for a first save, a whole one, or once the log is full, the database written
   * whole. The database in memory gets the changes only then (or when read), in one transaction for all of them.
   */
  save(change: StateChange): void {
    const r = toRows(change);
    this.pending.add(r);
    if (this.log && !r.whole && this.log.bytes < this.log.limit) {
      try {
        this.log.bytes += append(this.log.fd, JSON.stringify(r) + '\n');
        return;
      } catch (err) {
        // A line half written must be the log's last: the next save starts a new log.
        this.closeLog();
        throw err;
      }
    }
    this.compact();
  }

  /** The database whole, then an empty log of a new epoch: a core killed in between leaves a log the file ignores. */
  private compact(): void {
    this.closeLog();
    this.catchUp();
    this.epoch++;
    this.db.run("INSERT OR REPLACE INTO meta VALUES ('log', ?)", [String(this.epoch)]);
    // export() fails inside a write transaction: only now, between transactions (PLATFORM.md).
    const bytes = this.db.export();
    writeAtomic(this.file, bytes);
    const header = JSON.stringify({ epoch: this.epoch }) + '\n';
    writeAtomic(logFile(this.file), header);
    this.log = { fd: fs.openSync(logFile(this.file), 'a'), bytes: header.length, limit: Math.max(LOG_MIN, LOG_RATIO * bytes.length) };
  }

  private catchUp(): void {
    const r = this.pending.take();
    if (r) apply(this.db, r);
  }

  private closeLog(): void {
    if (this.log) fs.closeSync(this.log.fd);
    this.log = null;
  }

  close(): void {
    this.closeLog();
    this.db.close();
  }
}

function logFile(file: string): string {
  return `${file}.log`;
}

function toRows(c: StateChange): Rows {
  return {
    meta: [['version', String(STATE_VERSION)], ['owner', c.owner], ['specFile', c.specFile ?? ''], ['eventSeq', String(c.eventSeq)], ['manager', JSON.stringify(c.manager ?? null)]],
    whole: c.whole,
    defs: c.defs.map((u) => [u.name, encode(u.spec), u.next === null ? null : encode(u.next), u.removed ? 1 : 0, u.machine, u.hash]),
    actors: c.actors.map((a) => [a.name, encode(a.snapshot), JSON.stringify(a.starts)]),
    gone: c.gone,
    jobs: c.jobs.map((j) => [j.unit, j.type, j.mode, j.journal]),
    requests: c.requests?.map((q) => [q.key, JSON.stringify(q.entries), JSON.stringify(q.results), q.done ? 1 : 0]) ?? null,
  };
}

/** Changes merged into one: the last row of each unit, what is gone since, the last jobs and requests. */
class Pending {
  private r: Rows | null = null;
  private defs = new Map<string, Rows['defs'][number]>();
  private actors = new Map<string, Rows['actors'][number]>();
  private gone = new Set<string>();

  add(r: Rows): void {
    if (r.whole) {
      this.defs.clear();
      this.actors.clear();
      this.gone.clear();
    }
    for (const name of r.gone) {
      this.defs.delete(name);
      this.actors.delete(name);
      this.gone.add(name);
    }
    for (const d of r.defs) this.defs.set(String(d[0]), d);
    for (const a of r.actors) this.actors.set(a[0], a);
    this.r = { ...r, whole: r.whole || (this.r?.whole ?? false), requests: r.requests ?? this.r?.requests ?? null };
  }

  take(): Rows | null {
    if (!this.r) return null;
    const r: Rows = { ...this.r, defs: [...this.defs.values()], actors: [...this.actors.values()], gone: [...this.gone] };
    this.r = null;
    this.defs.clear();
    this.actors.clear();
    this.gone.clear();
    return r;
  }
}

/** A change into the database, in one transaction: what is gone first, so that a unit gone and back is back. */
function apply(db: Database, r: Rows): void {
  db.run('BEGIN');
  try {
    const each = (sqlText: string, values: (string | number | null)[][]) => {
      const stmt = db.prepare(sqlText);
      for (const v of values) stmt.run(v);
      stmt.free();
    };
    db.run('DELETE FROM jobs');
    if (r.whole) db.run('DELETE FROM units; DELETE FROM actors;');
    each('DELETE FROM units WHERE name = ?', r.gone.map((n) => [n]));
    each('DELETE FROM actors WHERE name = ?', r.gone.map((n) => [n]));
    each('INSERT OR REPLACE INTO meta VALUES (?, ?)', r.meta);
    each('INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?)', r.defs);
    each('INSERT OR REPLACE INTO actors VALUES (?, ?, ?)', r.actors);
    each('INSERT INTO jobs (unit, type, mode, journal) VALUES (?, ?, ?, ?)', r.jobs);
    if (r.requests) {
      db.run('DELETE FROM requests');
      each('INSERT INTO requests VALUES (?, ?, ?, ?)', r.requests);
    }
    db.run('COMMIT');
  } catch (err) {
    db.run('ROLLBACK');
    throw err;
  }
}

/**
 * The log's changes into the database, when the log is the database's (its epoch). A line without its newline is
 * a save the core was killed in: nothing waited on it had been done, so it is left out, as is anything after it.
 */
function replay(db: Database, file: string, epoch: number): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or the torn line
  const changes: Rows[] = [];
  for (const line of lines) {
    try {
      changes.push(JSON.parse(line) as Rows);
    } catch {
      break; // not written by a core: what follows cannot be trusted either
    }
  }
  if ((changes.shift() as { epoch?: unknown } | undefined)?.epoch !== epoch) return;
  const pending = new Pending();
  changes.forEach((r) => pending.add(r));
  const merged = pending.take();
  if (merged) apply(db, merged);
}

/** Appends all of `text` (a write is short only when interrupted), returning its size. */
function append(fd: number, text: string): number {
  const data = Buffer.from(text);
  for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done);
  return data.length;
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
  let version: string | undefined;
  try {
    version = rows<{ value: string }>(db, "SELECT value FROM meta WHERE key = 'version'")[0]?.value;
  } catch {
    return; // not a state file, or an empty one: unusable() says which
  }
  if (version === '2') db.run('ALTER TABLE jobs ADD COLUMN journal INTEGER');
  // Version 3 had no log: the database alone is its state.
  if (version === '2' || version === '3') db.run(`UPDATE meta SET value = '${STATE_VERSION}' WHERE key = 'version'`);
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
