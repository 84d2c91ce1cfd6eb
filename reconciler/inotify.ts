// inotify(7) through koffi, for path units. fs.watch is inotify too, but with a mask of its own that never reports
// IN_CLOSE_WRITE (PathChanged='s "closed after a write"), so each path unit's watches use systemd's masks here.
import fs, { constants as fsc } from 'node:fs';
import { closeFd, lastErrno, libcFunction, pollReadable, SysError, type PollWatch } from './sys.js';

/** inotify(7)'s event bits. */
export const IN = {
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  /** Events were lost: the queue (fs.inotify.max_queued_events) overflowed. Its wd is -1. */
  Q_OVERFLOW: 0x4000,
} as const;

export interface InotifyEvent {
  wd: number;
  mask: number;
}

interface Calls {
  init1: (flags: number) => number;
  addWatch: (fd: number, path: string, mask: number) => number;
  rmWatch: (fd: number, wd: number) => number;
}
let calls: Calls | undefined;
const libc = (): Calls =>
  (calls ??= {
    init1: libcFunction('int inotify_init1(int)'),
    addWatch: libcFunction('int inotify_add_watch(int, const char *, uint32_t)'),
    rmWatch: libcFunction('int inotify_rm_watch(int, int)'),
  });

const IN_NONBLOCK = fsc.O_NONBLOCK;
const IN_CLOEXEC = 0o2000000;
const EVENT_HEADER = 16; // struct inotify_event: wd, mask, cookie, len, then the name
const ENOENT = 2;
const EACCES = 13;
const ENOTDIR = 20;
const EAGAIN = 'EAGAIN';

/** One inotify instance, read whenever it has events (a uv poll keeps the loop alive until close()). */
export class Inotify {
  private readonly fd: number;
  private readonly poll: PollWatch;
  private readonly buf = Buffer.alloc(64 * 1024);

  constructor(onEvents: (events: InotifyEvent[]) => void) {
    this.fd = libc().init1(IN_NONBLOCK | IN_CLOEXEC);
    if (this.fd < 0) throw new SysError('inotify_init1', lastErrno());
    this.poll = pollReadable(this.fd, () => {
      const events = this.read();
      if (events.length) onEvents(events);
    });
  }

  /** The watch descriptor, or null when the path is missing or out of reach (a parent is then watched instead). */
  add(path: string, mask: number): number | null {
    const wd = libc().addWatch(this.fd, path, mask);
    if (wd >= 0) return wd;
    const errno = lastErrno();
    if (errno === ENOENT || errno === EACCES || errno === ENOTDIR) return null;
    throw new SysError('inotify_add_watch', errno, path);
  }

  remove(wd: number): void {
    libc().rmWatch(this.fd, wd); // EINVAL: the kernel dropped it already (IN_IGNORED)
  }

  close(): void {
    this.poll.close();
    closeFd(this.fd);
  }

  private read(): InotifyEvent[] {
    const out: InotifyEvent[] = [];
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === EAGAIN) return out;
        throw err;
      }
      for (let at = 0; at + EVENT_HEADER <= n; at += EVENT_HEADER + this.buf.readUInt32LE(at + 12)) {
        out.push({ wd: this.buf.readInt32LE(at), mask: this.buf.readUInt32LE(at + 4) });
      }
    }
  }
}
