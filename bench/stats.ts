// What every benchmark reports: summaries of samples, a process's memory and CPU read from /proc, the code measured,
// and the results file.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const median = (xs: number[]): number => percentile(xs, 50);

/** The p-th percentile, interpolated between the two nearest ranks (p = 50 is the median). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const at = ((s.length - 1) * p) / 100;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
}

/** "median (min–max)". */
export const range = (xs: number[], digits = 0): string =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

/** MB from a /proc/PID/status line: VmHWM is the peak RSS, RssAnon the private part of the current one. */
export function memory(pid: number, field: 'VmHWM' | 'RssAnon'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export const peakRss = (pid: number): number => memory(pid, 'VmHWM');

/** Seconds of CPU (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in clock ticks (USER_HZ = 100)
}

/** "median | p95 | min–max", three cells of a results table. */
export const row = (xs: number[], digits = 0): string =>
  `${median(xs).toFixed(digits)} | ${percentile(xs, 95).toFixed(digits)} | ${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

export const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');

/** The code measured: the commit, and whether the working tree differs from it. */
export function revision(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `commit ${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? ' plus uncommitted changes' : ''}`;
  } catch {
    return 'commit unknown (no git)';
  }
}

/** Write a run's tables to bench/results/NAME, keeping the hand-written notes below them (from "## Notes" on). */
export function writeResults(name: string, tables: string): void {
  const file = path.join(root, 'bench/results', name);
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const notes = old.indexOf('\n## Notes');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, tables + '\n' + (notes >= 0 ? old.slice(notes) : ''));
}
