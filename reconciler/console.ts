import pc from 'picocolors';
import type { Sink } from './daemon.js';

/**
 * What `sysmaster up` shows on its terminal: `unit | line` for service output, coloured per unit on a terminal,
 * and a line per state change, like `docker compose up`.
 */
export function consoleSink(prefix: boolean, names: string[]): Sink {
  const c = pc.createColors(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb');
  const palette = [c.cyan, c.magenta, c.blue, c.yellow, c.green, c.red];
  // As wide as the longest name of the spec, at most 24: the log process pads the same way from the same names
  // (widen()), so its `unit | line` lines and our state lines share one column. A longer name is not padded.
  let width = 8;
  const widen = (list: string[]) => (width = Math.min(24, Math.max(8, ...list.map((n) => n.length))));
  widen(names);
  const tint = (unit: string) => palette[[...unit].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7) % palette.length];
  const tag = (unit: string) => {
    return tint(unit)(unit.padEnd(width)) + ' | ';
  };
  return {
    widen,
    line(r) {
      const text = prefix ? tag(r.unit) + r.message : r.message;
      (r.stream === 'stderr' ? process.stderr : process.stdout).write(text + '\n');
    },
    state(unit, from, to, sub, result) {
      const word = to === 'failed' ? c.red(to) : to === 'active' ? c.green(to) : to;
      const why = result !== 'success' && (to === 'failed' || sub === 'auto-restart') ? ` (${result})` : '';
      process.stdout.write(`${tag(unit)}${c.dim(`${from} →`)} ${word} ${c.dim(`(${sub})`)}${why}\n`);
    },
    note(message) {
      process.stdout.write(`${c.bold('sysmaster'.padEnd(width))} | ${message}\n`);
    },
  };
}
