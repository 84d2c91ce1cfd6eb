// The transaction journal (docs/transactions.md): every apply and rollback, what it found in force before it, what
// it installs, and a savepoint per completed job, in a sql.js database in the persistent state directory. Written
// durably (temp file + fsync + rename, then fsync of the directory): history survives a crash of the machine.
import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'sql.js';
import type { UnitSpec } from '../specs/types.js';
import type { JobResult, JobType } from '../transactions/types.js';
import { decode, encode, openDatabase, rows, writeAtomic } from './state.js';

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

export class Journal {
  /** Savepoints not yet on disk, and the last seq of each transaction. */
  private queued: (Savepoint & { tx: number })[] = [];
  private seqs = new Map<number, number>();
  private constructor(
    private readonly db: Database,
    readonly file: string,
    private readonly durable: boolean,
  ) {}

  /** `durable` false keeps it in memory only (SYSMASTER_JOURNAL=volatile): nothing survives the core. */
  static async open(file: string, durable = true): Promise<Journal> {
    if (durable) fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const db = await openDatabase(durable ? file : null);
    db.run(`CREATE TABLE IF NOT EXISTS tx (id INTEGER PRIMARY KEY, start INTEGER NOT NULL, end INTEGER,
        result TEXT NOT NULL, plan TEXT NOT NULL, key TEXT);
      CREATE TABLE IF NOT EXISTS savepoints (tx INTEGER NOT NULL, seq INTEGER NOT NULL, phase TEXT NOT NULL,
        unit TEXT NOT NULL, type TEXT NOT NULL, result TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (tx, seq));
      CREATE TABLE IF NOT EXISTS errors (tx INTEGER NOT NULL, time INTEGER NOT NULL, message TEXT NOT NULL);`);
    return new Journal(db, file, durable);
  }

  /** Record a new transaction, durably, before it changes anything. Returns its id. */
  begin(plan: TxPlan, now = Date.now()): number {
    const id = (rows<{ id: number | null }>(this.db, 'SELECT max(id) AS id FROM tx')[0].id ?? 0) + 1;
    this.write(() => this.db.run('INSERT INTO tx VALUES (?, ?, NULL, ?, ?, ?)', [id, now, 'running', encode(plan), plan.key ?? null]));
    return id;
  }

  /**
   * A job of `tx` completed: one savepoint. The savepoints of one turn of the event loop go to disk together, in
   * one durable write, before the next turn (where the core acts on the next jobs): a burst of 300 completions is
   * not 300 exports and fsyncs. flush() writes them at once.
   */
  savepoint(tx: number, sp: Omit<Savepoint, 'seq'>): number {
    const seq = (this.seqs.get(tx) ?? rows<{ n: number | null }>(this.db, 'SELECT max(seq) AS n FROM savepoints WHERE tx = ?', [tx])[0].n ?? 0) + 1;
    this.seqs.set(tx, seq);
    if (!this.queued.length) setImmediate(() => this.flush());
    this.queued.push({ ...sp, tx, seq });
    return seq;
  }

  /** Write the queued savepoints now. */
  flush(): void {
    if (this.queued.length) this.write();
  }

  /** The transaction's state; an ending one gets its end time. */
  setResult(tx: number, result: TxResult, now = Date.now()): void {
    const end = OPEN.includes(result) ? null : now;
    this.write(() => this.db.run('UPDATE tx SET result = ?, end = ? WHERE id = ?', [result, end, tx]));
  }

  error(tx: number, message: string, now = Date.now()): void {
    this.write(() => this.db.run('INSERT INTO errors VALUES (?, ?, ?)', [tx, now, message]));
  }

  get(id: number): Tx | null {
    const r = rows<{ id: number; start: number; end: number | null; result: TxResult; plan: string }>(this.db, 'SELECT * FROM tx WHERE id = ?', [id])[0];
    return r ? { ...(decode(r.plan) as TxPlan), id: r.id, start: r.start, end: r.end, result: r.result } : null;
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
    const all = this.list();
    const reverted = new Set(all.filter((t) => t.kind === 'rollback' && t.result === 'committed').map((t) => t.reverts));
    const last = all.reverse().find((t) => t.result === 'committed' && t.kind === 'apply' && !reverted.has(t.id));
    return last ? this.get(last.id) : null;
  }

  savepoints(tx: number): Savepoint[] {
    this.flush();
    return rows<Savepoint>(this.db, 'SELECT seq, phase, unit, type, result, time FROM savepoints WHERE tx = ? ORDER BY seq', [tx]);
  }

  errors(tx: number): { time: number; message: string }[] {
    return rows(this.db, 'SELECT time, message FROM errors WHERE tx = ? ORDER BY rowid', [tx]);
  }

  list(): TxSummary[] {
    this.flush();
    const counts = new Map(
      rows<{ tx: number; done: number; failed: number }>(
        this.db,
        `SELECT tx, sum(result = 'done') AS done, sum(result != 'done') AS failed FROM savepoints WHERE phase = 'apply' GROUP BY tx`,
      ).map((c) => [c.tx, c]),
    );
    return rows<{ id: number; start: number; end: number | null; result: TxResult; plan: string }>(this.db, 'SELECT * FROM tx ORDER BY id').map((r) => {
      const p = decode(r.plan) as TxPlan;
      const c = counts.get(r.id);
      return {
        id: r.id,
        kind: p.kind,
        reverts: p.reverts,
        start: r.start,
        duration: r.end === null ? null : r.end - r.start,
        specFile: p.specFile,
        specHash: p.specHash,
        result: r.result,
        jobs: { planned: p.jobs.length, done: c?.done ?? 0, failed: c?.failed ?? 0 },
      };
    });
  }

  close(): void {
    this.flush();
    this.db.close();
  }

  /**
   * One write transaction, then the export made durable (sql.js cannot export inside a transaction). Queued
   * savepoints go first, each as an SQL SAVEPOINT of its own: a result never lands before the jobs that led to it.
   */
  private write(fn?: () => void): void {
    const batch = this.queued.splice(0);
    this.db.run('BEGIN');
    try {
      for (const sp of batch) {
        this.db.run(`SAVEPOINT job_${sp.seq}`);
        this.db.run('INSERT INTO savepoints VALUES (?, ?, ?, ?, ?, ?, ?)', [sp.tx, sp.seq, sp.phase, sp.unit, sp.type, sp.result, sp.time]);
        this.db.run(`RELEASE job_${sp.seq}`);
      }
      fn?.();
      this.db.run('COMMIT');
    } catch (err) {
      this.db.run('ROLLBACK');
      throw err;
    }
    if (this.durable) writeAtomic(this.file, this.db.export(), true);
  }
}
