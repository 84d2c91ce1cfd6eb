// `sctl top`: systemd-cgtop's table of the units' cgroups. Pure: %CPU from two samples, the orders, the rows.
import type { ResourceSample, UnitUsage } from '../reconciler/view.js';

/** systemd-cgtop's -o/--order names. */
export const ORDERS = ['cpu', 'memory', 'tasks', 'path'] as const;
export type Order = (typeof ORDERS)[number];

/** A row of the table, and an element of `sctl top -o json`'s arrays (docs/cli.md). */
export interface TopRow extends UnitUsage {
  /** CPU time used between the two samples over the time between them, in percent of one CPU; null when unknown. */
  cpuPercent: number | null;
}

/**
 * cgtop's %CPU: CPU nanoseconds used between two samples per nanosecond elapsed, ×100 (so 2 busy CPUs make 200).
 * Null without both figures, or when the counter went back (the cgroup was made anew in between).
 */
export function cpuPercent(before: number | null | undefined, after: number | null, elapsedMs: number): number | null {
  if (before == null || after == null || after < before || elapsedMs <= 0) return null;
  return ((after - before) / (elapsedMs * 1e6)) * 100;
}

/** The rows of `cur`, each with its %CPU since `prev` (null for a unit `prev` did not have). */
export function topRows(prev: ResourceSample, cur: ResourceSample): TopRow[] {
  const before = new Map(prev.units.map((u) => [u.unit, u.cpuNs]));
  return cur.units.map((u) => ({ ...u, cpuPercent: cpuPercent(before.get(u.unit), u.cpuNs, cur.time - prev.time) }));
}

const byPath = (a: TopRow, b: TopRow) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0);

/** cgtop's orders: the largest first, rows without the figure after those with it, then by name (`path`: by name alone). */
export function orderRows(rows: readonly TopRow[], by: Order): TopRow[] {
  const field = { cpu: 'cpuPercent', memory: 'memoryBytes', tasks: 'tasks', path: null }[by] as keyof TopRow | null;
  const value = (r: TopRow) => (field ? (r[field] as number | null) : null);
  return [...rows].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    if (x !== y) {
      if (x === null) return 1;
      if (y === null) return -1;
      return y - x;
    }
    return byPath(a, b);
  });
}

/** systemd's format_bytes: base 1024, one decimal truncated ("1.2M"), bytes below 1K as "512B". */
export function formatBytes(n: number): string {
  const units: [string, number][] = [['E', 2 ** 60], ['P', 2 ** 50], ['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]];
  const hit = units.find(([, f]) => n >= f);
  return hit ? `${Math.floor(n / hit[1])}.${Math.floor((n * 10) / hit[1]) % 10}${hit[0]}` : `${n}B`;
}

/** The table as cgtop prints it: the name left, the figures right-aligned, `-` where a figure is unknown. */
export function renderTop(rows: readonly TopRow[], bold: (s: string) => string = (s) => s): string[] {
  const cells = rows.map((r) => [
    r.unit,
    r.tasks === null ? '-' : String(r.tasks),
    r.cpuPercent === null ? '-' : r.cpuPercent.toFixed(1),
    r.memoryBytes === null ? '-' : formatBytes(r.memoryBytes),
  ]);
  const head = ['Unit', 'Tasks', '%CPU', 'Memory'];
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => [c[0].padEnd(w[0]), ...c.slice(1).map((x, i) => x.padStart(Math.max(w[i + 1], 6)))].join(' ').trimEnd();
  return [bold(line(head)), ...cells.map(line)];
}
