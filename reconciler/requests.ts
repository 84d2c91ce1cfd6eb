// Job requests that outlive a core. A client (sctl) names each request with a key of its own; when the core dies
// before answering, the client sends the same request again to the next core, which finds it by its key: it waits
// for the jobs the dead core had queued, or answers with the outcome it had reached, instead of running the jobs a
// second time (a restart retried after a crash must not restart twice).
import type { TransactionOutcome } from '../transactions/engine.js';
import type { JobResult, JobType } from '../transactions/types.js';

export type Result = { unit: string; type: JobType; result: JobResult };

/** A request as the state file keeps it. */
export interface RequestRow {
  key: string;
  /** Results of its jobs that have finished. */
  results: Result[];
  done: boolean;
}

interface Request extends RequestRow {
  tx: number | null;
  outcome: Promise<TransactionOutcome> | null;
}

/** Requests kept, oldest finished ones dropped first: enough for every client still retrying. */
const KEEP = 256;

export class Requests {
  private byKey = new Map<string, Request>();
  private byTx = new Map<number, Request>();
  /** Whether the rows changed since the last save. */
  changed = false;

  /** The request already made with `key`, as the outcome to wait for; null when there is none. */
  find(key: string): { tx: number | null; outcome: Promise<TransactionOutcome> } | null {
    const r = this.byKey.get(key);
    if (!r) return null;
    return { tx: r.tx, outcome: r.outcome ?? Promise.resolve({ id: r.tx ?? 0, results: r.results }) };
  }

  /**
   * A transaction now runs for `key`. `before` are results a dead core had already reached for it; `outcome`
   * resolves with the transaction's own.
   */
  add(key: string, tx: number, outcome: Promise<TransactionOutcome>, before: Result[] = []): Promise<TransactionOutcome> {
    const r: Request = { key, tx, results: [...before], done: false, outcome: null };
    r.outcome = outcome.then((o) => {
      r.results = [...before, ...o.results];
      r.done = true;
      this.changed = true;
      return { id: o.id, results: r.results };
    });
    this.byKey.set(key, r);
    this.byTx.set(tx, r);
    this.changed = true;
    this.trim();
    return r.outcome;
  }

  /** A job of a keyed transaction finished: its result is kept, for a core that takes over before the rest. */
  finished(tx: number, result: Result): void {
    const r = this.byTx.get(tx);
    if (!r || r.done) return;
    r.results.push(result);
    this.changed = true;
  }

  /** The key of the request a transaction runs for, if any. */
  keyOf(tx: number): string | null {
    return this.byTx.get(tx)?.key ?? null;
  }

  rows(): RequestRow[] {
    return [...this.byKey.values()].map(({ key, results, done }) => ({ key, results, done }));
  }

  /** A dead core's finished requests; its unfinished ones come back through add() with their jobs. */
  restore(rows: RequestRow[]): void {
    for (const row of rows) if (row.done) this.byKey.set(row.key, { ...row, tx: null, outcome: null });
  }

  private trim(): void {
    for (const [key, r] of this.byKey) {
      if (this.byKey.size <= KEEP) return;
      if (!r.done) continue;
      this.byKey.delete(key);
      if (r.tx !== null) this.byTx.delete(r.tx);
    }
  }
}
