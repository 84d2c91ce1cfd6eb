// A transaction while it is being built: prospective jobs (several per unit until they are merged) and the
// links that say which job pulled in which (systemd's Transaction, Job.subject_list/object_list).
import type { MergeType } from './merge.js';

export interface DraftJob {
  /** Identity inside the draft; the engine assigns real job ids. */
  key: number;
  unit: string;
  type: MergeType | 'nop';
  /** Asked for by the caller (systemd's anchor job). */
  anchor: boolean;
  /** Reached from an anchor through links that matter: its failure fails the anchor, it may not be dropped. */
  matters: boolean;
  /** The unit already is where the job takes it: the job completes at once. */
  noop: boolean;
}

/** `from` pulled in `to`; from null for an anchor. */
export interface Link {
  from: number | null;
  to: number;
  matters: boolean;
  /** Pulled in by a conflict: a stop job that is better kept than the start it collides with. */
  conflicts: boolean;
}

export class Draft {
  readonly jobs = new Map<number, DraftJob>();
  links: Link[] = [];
  private readonly byUnit = new Map<string, DraftJob[]>();
  private nextKey = 1;

  /** The job of `type` for `unit`, created when missing (systemd's transaction_add_one_job). */
  add(unit: string, type: DraftJob['type']): { job: DraftJob; created: boolean } {
    const found = this.ofUnit(unit).find((j) => j.type === type);
    if (found) return { job: found, created: false };
    const job: DraftJob = { key: this.nextKey++, unit, type, anchor: false, matters: false, noop: false };
    this.jobs.set(job.key, job);
    this.byUnit.set(unit, [...this.ofUnit(unit), job]);
    return { job, created: true };
  }

  link(from: number | null, to: number, matters: boolean, conflicts: boolean): void {
    this.links.push({ from, to, matters, conflicts });
  }

  ofUnit(unit: string): readonly DraftJob[] {
    return this.byUnit.get(unit) ?? [];
  }

  units(): string[] {
    return [...this.byUnit.keys()];
  }

  private forget(job: DraftJob): void {
    this.jobs.delete(job.key);
    const rest = this.ofUnit(job.unit).filter((j) => j !== job);
    if (rest.length > 0) this.byUnit.set(job.unit, rest);
    else this.byUnit.delete(job.unit);
  }

  conflictedBy(key: number): boolean {
    return this.links.some((l) => l.to === key && l.conflicts);
  }

  /** Drop a job; with `cascade`, also every job that needs it (systemd's transaction_delete_job). */
  remove(key: number, cascade: boolean): void {
    const job = this.jobs.get(key);
    if (!job) return;
    this.forget(job);
    const needers = this.links.filter((l) => l.to === key && l.matters && l.from !== null).map((l) => l.from!);
    this.links = this.links.filter((l) => l.to !== key && l.from !== key);
    if (cascade) for (const k of needers) this.remove(k, true);
  }

  /** `gone` becomes part of `keep`: its links move over, then it goes (systemd's transaction_merge_and_delete_job). */
  absorb(keep: DraftJob, gone: DraftJob): void {
    for (const l of this.links) {
      if (l.from === gone.key) l.from = keep.key;
      if (l.to === gone.key) l.to = keep.key;
    }
    this.links = this.links.filter((l) => l.from !== l.to);
    this.forget(gone);
  }

  /** These jobs no longer pull anything in (their links out go). */
  release(keys: ReadonlySet<number>): void {
    this.links = this.links.filter((l) => l.from === null || !keys.has(l.from));
  }

  /** Drop the jobs that nothing pulls in any more (systemd's transaction_collect_garbage). */
  collectGarbage(): void {
    for (;;) {
      const pulled = new Set(this.links.map((l) => l.to));
      const orphan = [...this.jobs.values()].find((j) => !j.anchor && !pulled.has(j.key));
      if (!orphan) return;
      this.remove(orphan.key, true);
    }
  }
}
