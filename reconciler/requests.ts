// Job requests that outlive a core. A client (sctl) names each request with a key of its own; when the core dies
// before answering, the client sends the same request again to the next core, which finds it by its key: it waits
// for what the dead core had still to do for it, or answers with the outcome it had reached, instead of running
// the jobs a second time (a restart retried after a crash must not restart twice).
import type { TransactionOutcome } from '../transactions/engine.js';
import type { JobResult, JobType } from '../transactions/types.js';

export type Entry = { unit: string; type: JobType };
export type Result = Entry & { result: JobResult };

/** A request as the state file keeps it. */
export interface RequestRow {
  key: string;
  /** What its transaction waits for, one entry per job. */
  entries: Entry[];
  /** Results of the entries that have finished, in the order they did. */
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
   * Transaction `tx` now runs for `key`, waiting for `entries`. `before` are results a dead core had already reached
   * for the same request; `outcome` resolves with the transaction's own.
   */
  add(key: string, tx: number, entries: Entry[], outcome: Promise<TransactionOutcome>, before: Result[] = []): Promise<TransactionOutcome> {
    const r: Request = { key, tx, entries: [...before, ...entries], results: [...before], done: false, outcome: null };
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

  /** One of a keyed transaction's entries has its result: kept, for a core that takes over before the rest. */
  recorded(tx: number, result: Result): void {
    const r = this.byTx.get(tx);
    if (!r || r.done) return;
    r.results.push(result);
    this.changed = true;
  }

  rows(): RequestRow[] {
    return [...this.byKey.values()].map(({ key, entries, results, done }) => ({ key, entries, results, done }));
  }

  /**
   * A dead core's requests: finished ones answer at once from now on. Unfinished ones are returned with what they
   * still wait for; the caller queues that again and hands it back through add().
   */
  restore(rows: RequestRow[]): { key: string; pending: Entry[]; before: Result[] }[] {
    const open: { key: string; pending: Entry[]; before: Result[] }[] = [];
    for (const row of rows) {
      if (row.done) this.byKey.set(row.key, { ...row, tx: null, outcome: null });
      else open.push({ key: row.key, pending: pendingOf(row), before: row.results });
    }
    return open;
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

/** Entries without a result yet (an entry repeated for one unit counts once per result). */
function pendingOf(row: RequestRow): Entry[] {
  const left = [...row.entries];
  for (const r of row.results) {
    const i = left.findIndex((e) => e.unit === r.unit && e.type === r.type);
    if (i >= 0) left.splice(i, 1);
  }
  return left;
}
