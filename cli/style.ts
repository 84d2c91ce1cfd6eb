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
