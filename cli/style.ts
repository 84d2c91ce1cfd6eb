import pc from 'picocolors';
import { relative } from './time.js';

/** Colour only when the stream is a terminal and NO_COLOR is unset. */
export function colours(stream: NodeJS.WriteStream = process.stdout) {
  return pc.createColors(Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb');
}

export type Colours = ReturnType<typeof colours>;

/** The dot systemctl puts before a unit, coloured by its state. */
export function stateDot(active: string, c: Colours): string {
  if (active === 'active' || active === 'reloading') return c.green('●');
  if (active === 'failed') return c.red('×');
  if (active === 'activating' || active === 'deactivating') return c.yellow('●');
  return '○';
}

export function stateWord(active: string, c: Colours): string {
  if (active === 'active') return c.bold(c.green(active));
  if (active === 'failed') return c.bold(c.red(active));
  if (active === 'activating' || active === 'deactivating' || active === 'reloading') return c.yellow(active);
  return active;
}

/** "3min 4s ago", as systemctl prints since-times. */
export function ago(iso: string, now = Date.now()): string {
  return relative(Date.parse(iso), now);
}

/** Rows as aligned columns (widths by visible text: cells may be coloured), the header bold. */
export function table(rows: string[][], c: Colours, write: (line: string) => void): void {
  // eslint-disable-next-line no-control-regex
  const width = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => width(r[i] ?? ''))));
  rows.forEach((r, i) => {
    const line = r.map((cell, j) => (j < r.length - 1 ? cell + ' '.repeat(widths[j]! - width(cell)) : cell)).join(' ');
    write(i ? line : c.bold(line));
  });
}

/** commander's accumulator for a repeatable option. */
export function collect(v: string, acc: string[]): string[] {
  return [...acc, v];
}
