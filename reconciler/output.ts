// Service output captured by the manager ("journal"): the FIFOs it comes through, bytes → lines, lines →
// `name | line` for a terminal.
import { closeSync, constants as fsc, lstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createColors } from 'picocolors';
import { mkfifo, pipeSize, pollReadable, type PollWatch, type SysError } from './sys.js';

/** Like systemd's LineMax= (48K there): a longer line is cut into pieces of this many bytes. */
export const MAX_LINE = 64 * 1024;

/**
 * Splits a byte stream into lines without the '\n'. A partial last line is kept until more bytes, end() or
 * MAX_LINE bytes. Lines are split as bytes and decoded whole, so a multi-byte character never breaks in two
 * across chunks (a piece cut at MAX_LINE may split one). `newline` tells a line that was ended by '\n' from a cut
 * piece or a partial last line (NotifyFd= counts only the former).
 */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialLength = 0;
  private cut = false;

  constructor(private readonly onLine: (line: string, newline: boolean) => void) {}

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
        this.flush(true);
        start = nl + 1;
        continue;
      }
      this.partial.push(chunk.subarray(start, start + room));
      this.flush(start + room === nl);
      start += room;
      if (start === nl) start++; // the line was exactly MAX_LINE bytes long
      else if (start === chunk.length) this.cut = true;
    }
  }

  /** End of stream: a partial last line is a line. */
  end(): void {
    if (this.partialLength > 0) this.flush(false);
  }

  private flush(newline: boolean): void {
    const line = Buffer.concat(this.partial).toString('utf8');
    this.partial = [];
    this.partialLength = 0;
    this.onLine(line, newline);
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

/** A captured output stream. */
export type Stream = 'stdout' | 'stderr';

/** /proc/sys/fs/pipe-max-size (1 MiB by default): how much output may wait while no core reads. */
let maxPipe: number | undefined;
function pipeMax(): number {
  if (maxPipe === undefined) {
    try {
      maxPipe = Number.parseInt(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8'), 10) || 0;
    } catch {
      maxPipe = 0;
    }
  }
  return maxPipe;
}

const CHUNK = 64 * 1024;
/** Reads per wake-up at most: a process that writes without pause must not hold the event loop. */
const READS_PER_WAKE = 16;
const chunk = Buffer.allocUnsafe(CHUNK);

function makeFifo(path: string): void {
  try {
    return mkfifo(path, 0o600);
  } catch (err) {
    if ((err as SysError).code !== 'EEXIST') throw err;
  }
  if (lstatSync(path).isFIFO()) return;
  rmSync(path);
  mkfifo(path, 0o600);
}

/** What a spawn needs of a FIFO it gives a process: its path, and attach() before the process is given it. */
export interface Fifo {
  readonly path: string;
  attach(): { drained: Promise<void>; opened(): void };
}

/**
 * A journal FIFO that the log process reads (logger/): the core makes it and has the log process watch it. The
 * core holds it read-write too: a pipe keeps its bytes only while someone has it open, and a short-lived command
 * may write and exit before the log process has opened it (the first commands of a boot, a log process being
 * restarted). close() lets it go when the unit is gone.
 */
export class LoggedFifo implements Fifo {
  private fd: number | null = null;

  constructor(
    readonly path: string,
    private readonly watch: () => void,
  ) {}

  attach(): { drained: Promise<void>; opened(): void } {
    if (this.fd === null) {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      makeFifo(this.path);
      this.fd = openSync(this.path, fsc.O_RDWR | fsc.O_NONBLOCK);
    }
    this.watch();
    return { drained: Promise.resolve(), opened: () => {} };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * One journal stream of a unit: a FIFO in the state directory (docs/recovery.md, "What outlives a core"). Each
 * process writing it holds it open read-write, so a write never raises SIGPIPE, even while no core runs; it only
 * blocks once the pipe is full, and the pipe is raised to pipe-max-size. The manager reads it through its own
 * non-blocking reader. A new core opens a new reader and gets what waited meanwhile.
 *
 * The reader sees EOF only when every writer is gone: every process that was given the FIFO, and whatever
 * inherited it from them. It then closes; the next process gets a new reader (a reader opened on a FIFO whose
 * writers are all gone would see EOF at once, before the new writer opens it).
 */
export class OutputFifo implements Fifo {
  private fd: number | null = null;
  private watch: PollWatch | null = null;
  private readonly lines: LineSplitter;
  /** Processes about to open the FIFO: an EOF before they have does not end the reading. */
  private pending = 0;
  private drained: Promise<void> = Promise.resolve();
  private eof: (() => void) | null = null;

  /**
   * `hold`: the reader holds the FIFO read-write too (the log process): it never sees EOF, so it reads every writer
   * to come without being told of them, and a partial last line waits for end().
   */
  constructor(
    readonly path: string,
    onLine: (line: string, newline: boolean) => void,
    private readonly hold = false,
  ) {
    this.lines = new LineSplitter(onLine);
  }

  /** Whether a reader is open. */
  get reading(): boolean {
    return this.fd !== null;
  }

  /**
   * For a process about to be given the FIFO: make it (mode 0600, its directory 0700) if needed and open the
   * reader if it is not. Call `opened` once the process has its fd, or will never have it. `drained` resolves at
   * EOF. Throws a SysError or an fs error when the FIFO cannot be made.
   */
  attach(): { drained: Promise<void>; opened(): void } {
    if (this.fd === null) {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      makeFifo(this.path);
      this.open();
    }
    this.pending++;
    let done = false;
    return {
      drained: this.drained,
      opened: () => {
        if (done) return;
        done = true;
        // An EOF came meanwhile and paused the reading: whatever comes now is the new writer's, or EOF again.
        if (--this.pending === 0 && this.fd !== null && !this.watch) this.poll();
      },
    };
  }

  /**
   * Read what processes that already hold the FIFO write (a core taking over). Resolves at EOF. The FIFO exists
   * (they hold it): a takeover of hundreds of units opens each one and does nothing else.
   */
  listen(): Promise<void> {
    if (this.fd === null) this.open();
    const a = this.attach();
    a.opened();
    return a.drained;
  }

  /** Reads everything the pipe holds now (a held FIFO), then ends a partial last line if `end`. */
  drain(end = false): void {
    this.read(Infinity);
    if (end) this.lines.end();
  }

  /** Stop reading. What was not read stays in the pipe for the next reader, as long as a writer holds it. */
  close(): void {
    this.unpoll();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.lines.end();
    this.eof?.();
    this.eof = null;
  }

  private open(): void {
    if (this.hold) makeFifo(this.path);
    const fd = openSync(this.path, (this.hold ? fsc.O_RDWR : fsc.O_RDONLY) | fsc.O_NONBLOCK);
    try {
      if (pipeMax() > pipeSize(fd)) pipeSize(fd, pipeMax());
    } catch {
      // EPERM past a per-user limit (pipe-user-pages-soft) without CAP_SYS_RESOURCE: the default size.
    }
    this.fd = fd;
    this.drained = new Promise((res) => (this.eof = res));
    this.poll();
  }

  private poll(): void {
    this.watch = pollReadable(this.fd!, () => this.read(READS_PER_WAKE));
  }

  private unpoll(): void {
    this.watch?.close();
    this.watch = null;
  }

  private read(reads: number): void {
    for (let i = 0; i < reads && this.fd !== null; i++) {
      let n: number;
      try {
        n = readSync(this.fd, chunk, 0, CHUNK, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') return;
        if (code === 'EINTR') continue;
        n = 0; // EIO and the like: nothing more will come
      }
      if (n === 0) return this.ended();
      // A copy: the splitter keeps pieces of a partial line.
      this.lines.push(Buffer.from(chunk.subarray(0, n)));
    }
  }

  private ended(): void {
    // A process is about to open the FIFO: EOF is level-triggered, so pause until it has.
    if (this.pending > 0) return this.unpoll();
    this.close();
  }
}
