// The side-by-side benchmark's output (issue 9), pure: the Markdown tables of bench/results/peers.md and one SVG bar
// chart per metric (bars per manager grouped by workload, the median with a min–max whisker).
import { summarize, type Summary } from './measure.js';
import type { CrashResult, RunResult, Workload } from './types.js';
import { describe } from './workloads.js';

/** One manager on one workload: its samples, or why it did not run. */
export interface Row {
  manager: string;
  readiness: string;
  dependencies: string;
  /** prepare()'s reason: the manager cannot run on this machine. */
  skipped: string | null;
  samples: RunResult[];
  /** Runs that failed, with what went wrong. */
  errors: string[];
}

export interface WorkloadResults {
  workload: Workload;
  rows: Row[];
  /** One kill -9 per manager that has a crash probe: its result, or what went wrong. */
  crashes?: { manager: string; result: CrashResult | string }[];
}

export interface Metric {
  key: keyof RunResult;
  /** bench/results/peers-<file>.svg */
  file: string;
  title: string;
  unit: string;
  /** From RunResult's unit to the shown one. */
  scale: number;
  digits: number;
}

export const METRICS: Metric[] = [
  { key: 'readyMs', file: 'ready', title: 'Time to all ready', unit: 'ms', scale: 1, digits: 0 },
  { key: 'stopMs', file: 'stopped', title: 'Time to all stopped', unit: 'ms', scale: 1, digits: 0 },
  { key: 'rssKb', file: 'rss', title: 'Manager RSS, summed over its process tree (not the payloads), at all ready', unit: 'MB', scale: 1 / 1024, digits: 1 },
  { key: 'pssKb', file: 'pss', title: 'Manager PSS, summed over its process tree (not the payloads), at all ready', unit: 'MB', scale: 1 / 1024, digits: 1 },
  { key: 'cpuMs', file: 'cpu', title: 'Manager CPU (user + system) of its live processes to all ready', unit: 'ms', scale: 1, digits: 0 },
];

/** The samples of one metric in the shown unit. */
export function values(row: Row, m: Metric): number[] {
  return row.samples.map((s) => s[m.key] * m.scale);
}

export function stat(row: Row, m: Metric): Summary | null {
  return row.samples.length ? summarize(values(row, m)) : null;
}

const cellText = (s: Summary, digits: number) => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
const md = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const oneLine = (text: string) => text.split('\n')[0].slice(0, 200);

/** The table of one workload: a row per manager, "median (min–max)" per metric. */
export function renderTable(r: WorkloadResults, runs: number): string {
  const head = `| manager | ${METRICS.map((m) => `${shortTitle(m)}, ${m.unit}`).join(' | ')} | readiness | dependencies |`;
  const lines = [`### ${describe(r.workload)}`, '', head, `|---|${METRICS.map(() => '---:').join('|')}|---|---|`];
  const notes: string[] = [];
  for (const row of r.rows) {
    let cells: string[];
    if (row.skipped !== null) cells = [`not run here: ${md(row.skipped)}`, ...METRICS.slice(1).map(() => '–')];
    else if (!row.samples.length) cells = [`failed: ${md(oneLine(row.errors[0] ?? 'no run'))}`, ...METRICS.slice(1).map(() => '–')];
    else cells = METRICS.map((m) => cellText(stat(row, m)!, m.digits));
    lines.push(`| ${md(row.manager)} | ${cells.join(' | ')} | ${md(row.readiness)} | ${md(row.dependencies)} |`);
    if (row.samples.length && row.errors.length) {
      notes.push(`${row.manager}: ${row.errors.length} of ${runs} runs failed (not in the figures): ${oneLine(row.errors[0])}`);
    }
  }
  const ratios = readyRatios(r);
  if (ratios) lines.push('', ratios);
  if (notes.length) lines.push('', ...notes.map((n) => `- ${md(n)}`));
  return lines.join('\n');
}

function shortTitle(m: Metric): string {
  return { readyMs: 'ready', stopMs: 'stopped', rssKb: 'RSS', pssKb: 'PSS', cpuMs: 'CPU' }[m.key];
}

/** sysmaster's median time to all ready over the floor's and over systemd's (the issue's targets), when both ran. */
export function readyRatios(r: WorkloadResults): string | null {
  const med = (pred: (name: string) => boolean) => {
    const row = r.rows.find((x) => pred(x.manager.toLowerCase()) && x.samples.length);
    return row ? stat(row, METRICS[0])!.median : null;
  };
  const sm = med((n) => n.startsWith('sysmaster'));
  if (sm === null) return null;
  const parts: string[] = [];
  const floor = med((n) => n.startsWith('floor'));
  const systemd = med((n) => n.startsWith('systemd'));
  if (floor !== null) parts.push(`${(sm / floor).toFixed(2)} × the floor's (target ≤ 1.2)`);
  if (systemd !== null) parts.push(`${(sm / systemd).toFixed(2)} × systemd's (target ≤ 0.85)`);
  return parts.length ? `sysmaster's median time to all ready: ${parts.join('; ')}.` : null;
}

/** What is not measured here, and why, next to the crash table. */
const CRASH_NOTES = [
  'systemd: not measured. On a host the kernel does not deliver SIGKILL to PID 1; when systemd itself crashes it ' +
    'freezes (CrashAction=freeze, the default in 252): the services run on and nothing supervises them until a reboot. ' +
    'As PID 1 of a container, its death ends the container and every service with it.',
  'sysmaster: the core is killed, not sysmaster-init: like any PID 1, init\'s death ends its namespace and every ' +
    'service in it, which is why init is kept small and holds no unit logic (docs/recovery.md).',
  'floor: not applicable (a loop that only spawns).',
];

/** The kill -9 table of a workload: what became of the services, and how long until they were supervised again. */
export function renderCrashes(r: WorkloadResults): string | null {
  if (!r.crashes?.length) return null;
  const lines = [
    `#### kill -9 during the ${r.workload.name} workload, once every service runs`,
    '',
    '| manager | killed | services still running as before | service processes afterwards | supervised again after |',
    '|---|---|---:|---:|---|',
  ];
  for (const c of r.crashes) {
    if (typeof c.result === 'string') {
      lines.push(`| ${md(c.manager)} | failed: ${md(oneLine(c.result))} | – | – | – |`);
      continue;
    }
    const x = c.result;
    const again = x.recoveryMs !== null ? `${x.recoveryMs.toFixed(0)} ms, with the PIDs from before` : x.copies > x.services ? 'never: the new supervisors started second copies' : 'never';
    lines.push(`| ${md(c.manager)} | ${md(x.killed)} | ${x.kept} of ${x.services} | ${x.copies} | ${again} |`);
  }
  lines.push('', ...CRASH_NOTES.map((n) => `- ${n}`));
  return lines.join('\n');
}

/** peers.md's generated part: heading, machine line, one table per workload. */
export function renderReport(results: WorkloadResults[], runs: number, machine: string): string {
  return [
    `## Side by side: sysmaster and its peers, ${runs} run${runs === 1 ? '' : 's'} each, interleaved`,
    '',
    machine,
    '',
    'Each manager is PID 1 of its own PID namespace or container; every payload is `sh -c \'<readiness>; exec sleep\'`. ' +
      'Figures: median (min–max). Ready: from starting the manager to every unit ready as the manager saw it. ' +
      'Stopped: from asking it to stop to every payload gone. RSS, PSS and CPU: the manager\'s own processes, not the payloads.',
    '',
    ...results.flatMap((r) => [renderTable(r, runs), '', ...[renderCrashes(r)].filter((x) => x !== null).flatMap((x) => [x, ''])]),
    `Charts: ${METRICS.map((m) => `[${shortTitle(m)}](peers-${m.file}.svg)`).join(', ')}.`,
  ].join('\n');
}

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const PALETTE = ['#7f7f7f', '#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/** A round upper bound for the axis (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten), its fifths round too. */
export function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((k) => k * p).find((v) => v >= x * (1 - 1e-9))!;
}

/**
 * One metric as a horizontal bar chart: a group per workload, a bar per manager (its colour the same in every group),
 * the bar at the median, a whisker from min to max, the figures written beside it. A manager with no sample gets its
 * label and why (not run here, failed) instead of a bar. One scale for the whole chart.
 */
export function renderSvg(m: Metric, results: WorkloadResults[]): string {
  const W = 860;
  const LABEL_W = 230;
  const BAR_X = LABEL_W + 10;
  const BAR_W = 420;
  const ROW = 22;
  const GROUP_HEAD = 28;
  const TOP = 72;
  const managers = [...new Set(results.flatMap((r) => r.rows.map((x) => x.manager)))];
  const colour = (name: string) => PALETTE[managers.indexOf(name) % PALETTE.length];
  const all = results.flatMap((r) => r.rows.flatMap((x) => values(x, m)));
  const max = niceMax(all.length ? Math.max(...all) : 1);
  const xOf = (v: number) => BAR_X + (v / max) * BAR_W;
  const height = TOP + results.reduce((h, r) => h + GROUP_HEAD + r.rows.length * ROW + 8, 0) + 24;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${esc(`${m.title}, ${m.unit}`)}</text>`,
    `<text x="10" y="38" fill="#555">${esc('bar: median; whisker: min–max; lower is better')}</text>`,
  ];
  // The axis: gridlines at fifths of the scale, labelled above.
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    const x = xOf(v).toFixed(1);
    out.push(`<line x1="${x}" y1="${TOP - 6}" x2="${x}" y2="${height - 20}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x}" y="${TOP - 10}" text-anchor="middle" fill="#555">${esc(Number(v.toPrecision(3)).toString())}</text>`);
  }
  let y = TOP;
  for (const r of results) {
    out.push(`<text x="10" y="${y + 18}" font-weight="bold">${esc(`${r.workload.name} (${r.workload.units.length} units)`)}</text>`);
    y += GROUP_HEAD;
    for (const row of r.rows) {
      const mid = y + ROW / 2;
      out.push(`<text class="label" x="${LABEL_W}" y="${mid + 4}" text-anchor="end">${esc(row.manager)}</text>`);
      const s = stat(row, m);
      if (!s) {
        const why = row.skipped !== null ? `not run here: ${row.skipped}` : `failed: ${row.errors[0] ?? 'no run'}`;
        out.push(`<text class="missing" x="${BAR_X}" y="${mid + 4}" fill="#a00">${esc(oneLine(why).slice(0, 90))}</text>`);
      } else {
        const [x0, xm, xlo, xhi] = [BAR_X, xOf(s.median), xOf(s.min), xOf(s.max)].map((v) => v.toFixed(1));
        const text = `${s.median.toFixed(m.digits)} (${s.min.toFixed(m.digits)}–${s.max.toFixed(m.digits)})`;
        out.push(
          `<rect class="bar" data-manager="${esc(row.manager)}" data-workload="${r.workload.name}" x="${x0}" y="${y + 4}" width="${(Number(xm) - BAR_X).toFixed(1)}" height="${ROW - 8}" fill="${colour(row.manager)}"><title>${esc(`${row.manager}, ${r.workload.name}: ${text} ${m.unit}`)}</title></rect>`,
          `<line class="whisker" x1="${xlo}" y1="${mid}" x2="${xhi}" y2="${mid}" stroke="#222"/>`,
          `<line x1="${xlo}" y1="${mid - 4}" x2="${xlo}" y2="${mid + 4}" stroke="#222"/>`,
          `<line x1="${xhi}" y1="${mid - 4}" x2="${xhi}" y2="${mid + 4}" stroke="#222"/>`,
          `<text class="value" x="${(Math.max(Number(xhi), Number(xm)) + 6).toFixed(1)}" y="${mid + 4}">${esc(text)}</text>`,
        );
      }
      y += ROW;
    }
    y += 8;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
