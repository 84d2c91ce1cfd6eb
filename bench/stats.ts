// What every benchmark reports: summaries of samples, and a process's memory and CPU read from /proc.
import fs from 'node:fs';

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
