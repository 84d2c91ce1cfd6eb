// /proc/self/mountinfo: what is mounted where, and a wake-up whenever that changes. The kernel signals a change of
// the mount table as POLLPRI on an open mountinfo file; libuv's poll (koffi.node.poll) only asks for readability,
// so the file sits in an epoll set of its own, which is readable while the file has POLLPRI pending.
import fs from 'node:fs';
import { closeFd, lastErrno, libcFunction, pollReadable, SysError } from './sys.js';

export interface MountEntry {
  what: string;
  type: string;
  /** The mount's options and its file system's, as mount(8) -o takes them. */
  options: string;
}

export const MOUNTINFO = '/proc/self/mountinfo';

/** mountinfo writes space, tab, newline and backslash as `\ooo`. */
const unoctal = (s: string) => s.replace(/\\([0-7]{3})/g, (m, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * The mount table by mount point (proc(5)). Where mounts are stacked, the last line is the top one, the one a path
 * lookup reaches.
 */
export function parseMountinfo(text: string): Map<string, MountEntry> {
  const table = new Map<string, MountEntry>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0 || f.length < dash + 3) continue;
    // The superblock's own rw/ro says nothing of this mount (a read-only bind of a writable file system).
    const superOptions = (f[dash + 3] ?? '').split(',').filter((o) => o !== 'rw' && o !== 'ro');
    const options = [...new Set([...f[5].split(','), ...superOptions])].filter(Boolean).join(',');
    table.set(unoctal(f[4]), { what: unoctal(f[dash + 2]), type: f[dash + 1], options });
  }
  return table;
}

export function readMountinfo(): Map<string, MountEntry> {
  return parseMountinfo(fs.readFileSync(MOUNTINFO, 'utf8'));
}

const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLLPRI = 0x002;
/** struct epoll_event: 12 bytes packed on x86_64, 16 on aarch64; the larger fits both. */
const EVENT_SIZE = 16;
/** Without POLLPRI (an epoll or koffi failure), the table is read again this often. */
export const MOUNTINFO_POLL_MS = 1000;

/** Calls `onChange` after each change of the mount table, until close(). */
export function watchMountinfo(onChange: () => void, onFallback: (why: string) => void): { close(): void } {
  try {
    const create: (flags: number) => number = libcFunction('int epoll_create1(int)');
    const ctl: (ep: number, op: number, fd: number, ev: Buffer) => number = libcFunction('int epoll_ctl(int, int, int, void *)');
    const wait: (ep: number, out: Buffer, max: number, timeout: number) => number = libcFunction('int epoll_wait(int, _Out_ void *, int, int)');
    const ep = create(EPOLL_CLOEXEC);
    if (ep < 0) throw new SysError('epoll_create1', lastErrno());
    const fd = fs.openSync(MOUNTINFO, 'r');
    const ev = Buffer.alloc(EVENT_SIZE);
    ev.writeUInt32LE(EPOLLPRI, 0);
    if (ctl(ep, EPOLL_CTL_ADD, fd, ev) !== 0) throw new SysError('epoll_ctl', lastErrno(), MOUNTINFO);
    const out = Buffer.alloc(EVENT_SIZE * 4);
    const watch = pollReadable(ep, () => {
      // Takes the event (the kernel re-arms POLLPRI on the next change); the table is read in full either way.
      wait(ep, out, 4, 0);
      onChange();
    });
    return {
      close() {
        watch.close();
        closeFd(ep);
        fs.closeSync(fd);
      },
    };
  } catch (err) {
    onFallback((err as Error).message);
    const timer = setInterval(onChange, MOUNTINFO_POLL_MS);
    return { close: () => clearInterval(timer) };
  }
}
