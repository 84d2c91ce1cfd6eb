// Service output captured by the manager ("journal"): bytes → lines, lines → `name | line` for a terminal.
import { createColors } from 'picocolors';

/** Like systemd's LineMax= (48K there): a longer line is cut into pieces of this many bytes. */
export const MAX_LINE = 64 * 1024;

/**
 * Splits a byte stream into lines without the '\n'. A partial last line is kept until more bytes, end() or
 * MAX_LINE bytes. Lines are split as bytes and decoded whole, so a multi-byte character never breaks in two
 * across chunks (a piece cut at MAX_LINE may split one).
 */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialLength = 0;
  private cut = false;

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    // A piece cut at MAX_LINE right at a chunk's end: a newline opening the next chunk ends that piece.
    if (this.cut && chunk[0] === 0x0a) start = 1;
    this.cut = false;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl;
      const room = MAX_LINE - this.partialLength;
      if (end - start < room) {
        this.partial.push(chunk.subarray(start, end));
        this.partialLength += end - start;
        if (nl < 0) return;
        this.flush();
        start = nl + 1;
        continue;
      }
      this.partial.push(chunk.subarray(start, start + room));
      this.flush();
      start += room;
      if (start === nl) start++; // the line was exactly MAX_LINE bytes long
      else if (start === chunk.length) this.cut = true;
    }
  }

  /** End of stream: a partial last line is a line. */
  end(): void {
    if (this.partialLength > 0) this.flush();
  }

  private flush(): void {
    const line = Buffer.concat(this.partial).toString('utf8');
    this.partial = [];
    this.partialLength = 0;
    this.onLine(line);
  }
}

type Paint = (s: string) => string;

/**
 * `web.service | line`, the name padded to `width` and coloured when `color` is on (default: stdout is a TTY).
 * A unit keeps its colour from run to run: it is picked from a hash of the name.
 */
export function prefixer(name: string, opts: { color?: boolean; width?: number } = {}): (line: string) => string {
  const c = createColors(opts.color ?? process.stdout.isTTY === true);
  const palette: Paint[] = [c.cyan, c.green, c.yellow, c.blue, c.magenta, c.red];
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
  const head = palette[hash % palette.length](name.padEnd(opts.width ?? 0)) + c.dim(' | ');
  return (line) => head + line;
}
