import pc from 'picocolors';

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
  let s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const parts: string[] = [];
  for (const [unit, n] of [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]] as const) {
    if (s >= n || (unit === 's' && !parts.length)) {
      parts.push(`${Math.floor(s / n)}${unit}`);
      s %= n;
    }
    if (parts.length === 2) break;
  }
  return `${parts.join(' ')} ago`;
}
