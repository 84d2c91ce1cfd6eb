// Kernel uevents from the NETLINK_KOBJECT_UEVENT socket, as udevd receives them: `ACTION@DEVPATH\0KEY=VALUE\0...`
// datagrams from the kernel (netlink pid 0) only, with a receive buffer big enough for a burst of thousands. When the
// buffer overflows anyway (ENOBUFS), `onOverflow` runs: the caller then rescans /sys, as udev does.
import { constants } from 'node:os';
import {
  bindSocket,
  closeFd,
  lastErrno,
  libcFunction,
  openSocket,
  pollReadable,
  setSockOpt,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  SysError,
  type PollWatch,
} from '../reconciler/sys.js';

export interface Uevent {
  action: string;
  devpath: string;
  /** Every KEY=VALUE of the message (ACTION, DEVPATH, SUBSYSTEM, SEQNUM, ...). */
  properties: Record<string, string>;
}

const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const NETLINK_KOBJECT_UEVENT = 15;
/** The kernel's multicast group of uevents (udevd's own re-broadcasts go to group 2). */
const KERNEL_GROUP = 1;
const { EAGAIN, EINTR, ENOBUFS } = constants.errno;
/** udevd asks for 128 MiB; SO_RCVBUFFORCE (root) passes net.core.rmem_max. */
const RCVBUF = 128 * 1024 * 1024;
/** The largest uevent the kernel sends (UEVENT_BUFFER_SIZE) plus its header. */
const MAX_MESSAGE = 8192;

type Recvfrom = (fd: number, buf: Buffer, len: number, flags: number, from: Buffer, fromLen: number[]) => number;
let recvfrom: Recvfrom | undefined;

/** struct sockaddr_nl: family, pad, pid (0: let the kernel pick), groups. */
function sockaddrNl(groups: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16LE(AF_NETLINK, 0);
  b.writeUInt32LE(groups, 8);
  return b;
}

/** `ACTION@DEVPATH\0KEY=VALUE\0...` → the event; null for anything else (libudev's own messages start "libudev"). */
export function parseUevent(message: Buffer): Uevent | null {
  const parts = message.toString('utf8').split('\0').filter(Boolean);
  const header = /^([a-z]+)@(\/.*)$/.exec(parts[0] ?? '');
  if (!header) return null;
  const properties: Record<string, string> = {};
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq > 0) properties[p.slice(0, eq)] = p.slice(eq + 1);
  }
  // The header repeats ACTION and DEVPATH; the kernel always sends both as properties too, and SUBSYSTEM.
  if (properties.ACTION !== header[1] || properties.DEVPATH !== header[2] || !properties.SUBSYSTEM) return null;
  return { action: header[1], devpath: header[2], properties };
}

export class UeventListener {
  readonly fd: number;
  private readonly watch: PollWatch;
  private readonly buf = Buffer.alloc(MAX_MESSAGE);
  private readonly from = Buffer.alloc(12);
  /** Messages that were not uevents from the kernel (another process's, or malformed): dropped, counted. */
  dropped = 0;

  constructor(
    private readonly onEvent: (e: Uevent) => void,
    private readonly onOverflow: () => void = () => {},
  ) {
    recvfrom ??= libcFunction<Recvfrom>('long recvfrom(int, _Out_ void *, size_t, int, _Out_ void *, _Inout_ uint32_t *)');
    const fd = openSocket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT, 'socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT)');
    try {
      try {
        setSockOpt(fd, SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF);
      } catch {
        setSockOpt(fd, SOL_SOCKET, SO_RCVBUF, RCVBUF); // not root: as much as net.core.rmem_max allows
      }
      bindSocket(fd, sockaddrNl(KERNEL_GROUP), 'AF_NETLINK');
    } catch (err) {
      closeFd(fd);
      throw err;
    }
    this.fd = fd;
    this.watch = pollReadable(fd, () => this.drain());
  }

  private drain(): void {
    for (;;) {
      const n = recvfrom!(this.fd, this.buf, this.buf.length, 0, this.from, [this.from.length]);
      if (n < 0) {
        const errno = lastErrno();
        if (errno === EINTR) continue;
        if (errno === ENOBUFS) {
          this.onOverflow();
          continue;
        }
        if (errno === EAGAIN) return;
        throw new SysError('recvfrom(uevent)', errno);
      }
      // The sender's netlink pid: 0 is the kernel; anything else may be forged by any process.
      const sender = this.from.readUInt32LE(4);
      const e = sender === 0 ? parseUevent(this.buf.subarray(0, n)) : null;
      if (e) this.onEvent(e);
      else this.dropped++;
    }
  }

  close(): void {
    this.watch.close();
    closeFd(this.fd);
  }
}
