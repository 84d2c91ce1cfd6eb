import { CalendarError, format, nextUsec, parse } from '../specs/calendar.js';
import { localZone } from '../specs/zone.js';
import { EXIT } from './exit.js';
import { colours } from './style.js';
import { UTC, formatTimestamp, isUtc, parseTime, relative } from './time.js';

export interface CalendarOptions {
  iterations: string;
  baseTime?: string;
  output: string;
}

/** One expression in `-o json` (docs/calendar.md). */
interface Result {
  original: string;
  normalized?: string;
  next?: string[]; // ISO 8601 in UTC; empty when it never elapses
  error?: string;
}

/** `sysmaster calendar EXPR...`: systemd-analyze calendar's output, or JSON; exit 1 when any expression is bad. */
export function calendarCommand(exprs: string[], o: CalendarOptions): void {
  const iterations = Number(o.iterations);
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`--iterations takes a whole number ≥ 1, not "${o.iterations}"`);
  if (o.output !== 'text' && o.output !== 'json') throw new Error(`-o takes "text" or "json", not "${o.output}"`);
  const zone = localZone();
  const base = o.baseTime === undefined ? Date.now() : parseTime(o.baseTime);
  const results = exprs.map((original): Result & { usec?: number[]; fault?: CalendarError } => {
    try {
      const spec = parse(original, zone);
      const usec: number[] = [];
      for (let after = base * 1000; usec.length < iterations; ) {
        const n = nextUsec(spec, after, zone);
        if (n === null) break;
        usec.push((after = n));
      }
      return { original, normalized: format(spec), next: usec.map((u) => new Date(Math.floor(u / 1000)).toISOString()), usec };
    } catch (err) {
      if (!(err instanceof CalendarError)) throw err;
      return { original, error: err.message, fault: err };
    }
  });
  const failed = results.some((r) => r.error);
  if (o.output === 'json') {
    process.stdout.write(JSON.stringify(results.map(({ usec, fault, ...r }) => r), null, 2) + '\n');
  } else {
    const c = colours();
    const blocks = results.map((r) => {
      if (r.fault) {
        const { input, pos, problem } = r.fault;
        process.stderr.write(`Failed to parse calendar specification '${input}': ${problem}\n  ${input}\n  ${' '.repeat(pos)}^\n`);
        return null;
      }
      const lines = r.original === r.normalized ? [] : [`  Original form: ${r.original}`];
      lines.push(`Normalized form: ${r.normalized}`);
      if (!r.usec!.length) lines.push(`    Next elapse: ${c.yellow('never')}`);
      r.usec!.forEach((u, i) => {
        const ms = Math.floor(u / 1000);
        const label = i ? `Iter. #${i + 1}`.padStart(15) : '    Next elapse';
        lines.push(`${label}: ${c.blue(formatTimestamp(ms, zone))}`);
        if (!isUtc(zone)) lines.push(`       (in UTC): ${formatTimestamp(ms, UTC)}`);
        lines.push(`       From now: ${relative(ms)}`);
      });
      return lines.join('\n') + '\n';
    });
    // A blank line between expressions, as systemd-analyze prints (a bad one leaves its line empty).
    process.stdout.write(blocks.map((b) => b ?? '').join('\n'));
  }
  process.exitCode = failed ? EXIT.failure : EXIT.ok;
}
