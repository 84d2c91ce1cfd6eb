// The transaction journal (docs/transactions.md): every apply and rollback, what it found in force before it, what
// it installs, and a savepoint per completed job, in a sql.js database in the persistent state directory. Written
// durably (temp file + fsync + rename, then fsync of the directory): history survives a crash of the machine.
// A transaction's plan (the definitions before and after: hundreds of KB for a big apply) is written once, to a file
// of its own (plans/ID.json), so the export after each savepoint carries only the small rows.
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'sql.js';
import type { UnitSpec } from '../specs/types.js';
import type { JobResult, JobType } from '../transactions/types.js';
import { decode, encode, openDatabase, rows, writeDurable } from './state.js';

export type TxResult = 'running' | 'rolling-back' | 'committed' | 'rolled-back' | 'failed-rollback' | 'failed';

/** Definitions by unit name; null: the unit does not exist. */
export type Definitions = Record<string, UnitSpec | null>;

export interface TxPolicy {
  onCrash: 'rollback' | 'resume';
  timeoutMs: number;
  /** Wants= failures fail the transaction too. */
  strict: boolean;
  /** Roll back on failure (`--no-rollback` turns it off). */
  rollback: boolean;
}

/** What a transaction is, as begin() records it before anything changes. */
export interface TxPlan {
  kind: 'apply' | 'rollback';
  /** The client's key for the request (requests.ts): a retry after a core's death finds this transaction. */
  key?: string | null;
  /** For a rollback of a committed transaction: which one. */
  reverts: number | null;
  specFile: string | null;
  specHash: string;
  policy: TxPolicy;
  /** The units it touches, as they were: the pre-state's definitions. */
  before: Definitions;
  /** The same units as it leaves them: the post-state's definitions. */
  after: Definitions;
  /** Every unit active before it ran (the active set of the pre-state). */
  active: string[];
  /** The spec file in force before it. */
  specBefore: string | null;
  /** The jobs it runs, as planned. */
  jobs: { unit: string; type: JobType }[];
}

export interface Tx extends TxPlan {
  id: number;
  start: number;
  end: number | null;
  result: TxResult;
}

export interface Savepoint {
  seq: number;
  phase: 'apply' | 'rollback';
  unit: string;
  type: JobType;
  result: JobResult;
  time: number;
}

export interface TxSummary {
  id: number;
  kind: 'apply' | 'rollback';
  reverts: number | null;
  start: number;
  duration: number | null;
  specFile: string | null;
  specHash: string;
  result: TxResult;
  jobs: { planned: number; done: number; failed: number };
}

export const OPEN: TxResult[] = ['running', 'rolling-back'];

/** How many transactions the journal keeps: older ones go, with their plans and savepoints. */
export const KEEP = 128;

/** The layout of the database; a file of another layout is set aside (journal.db.old) and a new one begun. */
const VERSION = '2';

interface TxRow {
  id: number;
  start: number;
  end: number | null;
  result: TxResult;
  kind: 'apply' | 'rollback';
  reverts: number | null;
  specFile: string | null;
  specHash: string;
  planned: number;
}

export class Journal {
  /** The last seq of each transaction. */
  private seqs = new Map<number, number>();
  /** Changes made to the database, and how many of them are on disk; who waits for which. */
  private changed = 0;
  private saved = 0;
  private writing = false;
  private waiters: { upTo: number; resolve(): void; reject(err: Error): void }[] = [];
  /** Savepoints not yet in the database (flushSavepoints). */
  private queued: (string | number)[][] = [];
  /** The plans of a journal kept in memory only. */
  private plans = new Map<number, string>();
  private constructor(
    private readonly db: Database,
    readonly file: string,
    private readonly durable: boolean,
  ) {}

  /** `durable` false keeps it in memory only (SYSMASTER_JOURNAL=volatile): nothing survives the core. */
  static async open(file: string, durable = true): Promise<Journal> {
    if (durable) fs.mkdirSync(path.join(path.dirname(file), 'plans'), { recursive: true, mode: 0o700 });
    let db = await openDatabase(durable ? file : null);
    const tables = rows<{ name: string }>(db, 'SELECT name FROM sqlite_master').map((r) => r.name);
    if (tables.length && !(tables.includes('meta') && rows<{ value: string }>(db, "SELECT value FROM meta WHERE key = 'version'")[0]?.value === VERSION)) {
      db.close();
      fs.renameSync(file, `${file}.old`);
      db = await openDatabase(null);
    }
    db.run(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT OR IGNORE INTO meta VALUES ('version', '${VERSION}');
      CREATE TABLE IF NOT EXISTS tx (id INTEGER PRIMARY KEY, start INTEGER NOT NULL, end INTEGER, result TEXT NOT NULL,
        key TEXT, kind TEXT NOT NULL, reverts INTEGER, specFile TEXT, specHash TEXT NOT NULL, planned INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS savepoints (tx INTEGER NOT NULL, seq INTEGER NOT NULL, phase TEXT NOT NULL,
        unit TEXT NOT NULL, type TEXT NOT NULL, result TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (tx, seq));
      CREATE TABLE IF NOT EXISTS errors (tx INTEGER NOT NULL, time INTEGER NOT NULL, message TEXT NOT NULL);`);
    return new Journal(db, file, durable);
  }

  /** Record a new transaction, durably, before it changes anything. Returns its id once it is on disk. */
  async begin(plan: TxPlan, now = Date.now()): Promise<number> {
    const id = (rows<{ id: number | null }>(this.db, 'SELECT max(id) AS id FROM tx')[0].id ?? 0) + 1;
    // The plan first: a row on disk always has its plan.
    if (this.durable) await writeDurable(this.planFile(id), Buffer.from(encode(plan)));
    else this.plans.set(id, encode(plan));
    const gone = rows<{ id: number }>(this.db, 'SELECT id FROM tx WHERE id <= ?', [id - KEEP]).map((r) => r.id);
    this.change(() => {
      this.db.run('INSERT INTO tx VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)', [id, now, 'running', plan.key ?? null, plan.kind, plan.reverts, plan.specFile, plan.specHash, plan.jobs.length]);
      for (const table of ['tx', 'savepoints', 'errors']) this.db.run(`DELETE FROM ${table} WHERE ${table === 'tx' ? 'id' : 'tx'} <= ?`, [id - KEEP]);
    });
    for (const old of gone) {
      this.plans.delete(old);
      if (this.durable) fs.rmSync(this.planFile(old), { force: true });
    }
    await this.persisted();
    return id;
  }

  /**
   * A job of `tx` completed: one savepoint, an SQL SAVEPOINT of its own, in the database at the end of this turn of
   * the loop (or before it is read) with the others of the turn, and on disk with the next durable write. Writes run
   * one at a time off the event loop, each carrying every change made before it began: a burst of 300 completions is
   * a few writes, and the core does not wait for them.
   */
  savepoint(tx: number, sp: Omit<Savepoint, 'seq'>): number {
    const seq = (this.seqs.get(tx) ?? rows<{ n: number | null }>(this.db, 'SELECT max(seq) AS n FROM savepoints WHERE tx = ?', [tx])[0].n ?? 0) + 1;
    this.seqs.set(tx, seq);
    if (!this.queued.length) setImmediate(() => this.flushSavepoints());
    this.queued.push([tx, seq, sp.phase, sp.unit, sp.type, sp.result, sp.time]);
    return seq;
  }

  /** The savepoints of this turn of the loop, in one write transaction; before they are read or anything else changes. */
  private flushSavepoints(): void {
    const queued = this.queued.splice(0);
    if (!queued.length) return;
    this.commit(() => {
      const insert = this.db.prepare('INSERT INTO savepoints VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const row of queued) {
        this.db.run(`SAVEPOINT job_${row[1]}`);
        insert.run(row);
        this.db.run(`RELEASE job_${row[1]}`);
      }
      insert.free();
    });
  }

  /** The transaction's state; an ending one gets its end time. Resolves once it is on disk. */
  setResult(tx: number, result: TxResult, now = Date.now()): Promise<void> {
    const end = OPEN.includes(result) ? null : now;
    this.change(() => this.db.run('UPDATE tx SET result = ?, end = ? WHERE id = ?', [result, end, tx]));
    return this.persisted();
  }

  error(tx: number, message: string, now = Date.now()): void {
    this.change(() => this.db.run('INSERT INTO errors VALUES (?, ?, ?)', [tx, now, message]));
  }

  /** Resolves when every change made so far is on disk. */
  persisted(): Promise<void> {
    this.flushSavepoints();
    if (this.saved >= this.changed) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ upTo: this.changed, resolve, reject }));
  }

  get(id: number): Tx | null {
    const r = rows<TxRow>(this.db, 'SELECT * FROM tx WHERE id = ?', [id])[0];
    if (!r) return null;
    const text = this.durable ? fs.readFileSync(this.planFile(id), 'utf8') : this.plans.get(id)!;
    return { ...(decode(text) as TxPlan), id: r.id, start: r.start, end: r.end, result: r.result };
  }

  /** The transaction a client's request with `key` started, if any. */
  byKey(key: string): Tx | null {
    const r = rows<{ id: number }>(this.db, 'SELECT id FROM tx WHERE key = ? ORDER BY id DESC LIMIT 1', [key])[0];
    return r ? this.get(r.id) : null;
  }

  /** The transaction a dead core left running or rolling back, if any (one at a time: at most one). */
  unfinished(): Tx | null {
    const r = rows<{ id: number }>(this.db, `SELECT id FROM tx WHERE result IN ('running', 'rolling-back') ORDER BY id DESC LIMIT 1`)[0];
    return r ? this.get(r.id) : null;
  }

  /** The newest committed apply that has not been rolled back since, for `sctl rollback` without an id. */
  lastCommitted(): Tx | null {
    const committed = this.list().filter((t) => t.result === 'committed');
    // In force: no committed rollback that is itself in force reverts it (reverting a rollback redoes its apply).
    const revertedBy = new Map(committed.filter((t) => t.reverts !== null).map((t) => [t.reverts!, t.id]));
    const inForce = (id: number): boolean => {
      const by = revertedBy.get(id);
      return by === undefined || !inForce(by);
    };
    const last = committed.reverse().find((t) => t.kind === 'apply' && inForce(t.id));
    return last ? this.get(last.id) : null;
  }

  savepoints(tx: number): Savepoint[] {
    this.flushSavepoints();
    return rows<Savepoint>(this.db, 'SELECT seq, phase, unit, type, result, time FROM savepoints WHERE tx = ? ORDER BY seq', [tx]);
  }

  errors(tx: number): { time: number; message: string }[] {
    return rows(this.db, 'SELECT time, message FROM errors WHERE tx = ? ORDER BY rowid', [tx]);
  }

  list(): TxSummary[] {
    this.flushSavepoints();
    const counts = new Map(
      rows<{ tx: number; done: number; failed: number }>(
        this.db,
        `SELECT tx, sum(result = 'done') AS done, sum(result != 'done') AS failed FROM savepoints WHERE phase = 'apply' GROUP BY tx`,
      ).map((c) => [c.tx, c]),
    );
    return rows<TxRow>(this.db, 'SELECT * FROM tx ORDER BY id').map((r) => {
      const c = counts.get(r.id);
      return {
        id: r.id,
        kind: r.kind,
        reverts: r.reverts,
        start: r.start,
        duration: r.end === null ? null : r.end - r.start,
        specFile: r.specFile,
        specHash: r.specHash,
        result: r.result,
        jobs: { planned: r.planned, done: c?.done ?? 0, failed: c?.failed ?? 0 },
      };
    });
  }

  async close(): Promise<void> {
    await this.persisted();
    this.db.close();
  }

  private planFile(id: number): string {
    return path.join(path.dirname(this.file), 'plans', `${id}.json`);
  }

  /** One write transaction after the savepoints made before it, then a durable write of the export, soon. */
  private change(fn: () => void): void {
    this.flushSavepoints();
    this.commit(fn);
  }

  /** One write transaction (sql.js cannot export inside one), then a durable write of the export, soon. */
  private commit(fn: () => void): void {
    this.db.run('BEGIN');
    try {
      fn();
      this.db.run('COMMIT');
    } catch (err) {
      this.db.run('ROLLBACK');
      throw err;
    }
    this.changed++;
    void this.write();
  }

  /** Export and write until the file holds every change; one write at a time, so the newest export lands last. */
  private async write(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.saved < this.changed) {
        const upTo = this.changed;
        if (this.durable) await writeDurable(this.file, this.db.export());
        this.saved = upTo;
        this.waiters = this.waiters.filter((w) => (w.upTo <= upTo ? (w.resolve(), false) : true));
      }
    } catch (err) {
      // Disk full, or gone: whoever waits hears it; the next change tries again.
      for (const w of this.waiters.splice(0)) w.reject(err as Error);
    } finally {
      this.writing = false;
    }
  }
}
