// The NETLINK_KOBJECT_UEVENT socket both uevent streams travel on: group 1 carries the kernel's events (uevents.ts),
// group 2 the events a device manager has processed (monitor.ts, libudev's format). The receive buffer is big
// enough for a burst of thousands; when it overflows anyway (ENOBUFS), `onOverflow` runs and the caller rescans.
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

const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const NETLINK_KOBJECT_UEVENT = 15;
/** Multicast group bitmasks (struct sockaddr_nl's nl_groups). */
export const KERNEL_GROUP = 1;
export const UDEV_GROUP = 2;
const { EAGAIN, EINTR, ENOBUFS, ECONNREFUSED } = constants.errno;
/** udevd asks for 128 MiB; SO_RCVBUFFORCE (root) passes net.core.rmem_max. */
const RCVBUF = 128 * 1024 * 1024;
/** The largest message either side sends (the kernel's UEVENT_BUFFER_SIZE, udev's monitor buffer). */
const MAX_MESSAGE = 8192;

type Recvfrom = (fd: number, buf: Buffer, len: number, flags: number, from: Buffer, fromLen: number[]) => number;
type Sendto = (fd: number, buf: Buffer, len: number, flags: number, to: Buffer, toLen: number) => number;
let recvfrom: Recvfrom | undefined;
let sendto: Sendto | undefined;

/** struct sockaddr_nl: family, pad, pid (0: the kernel's, or let the kernel pick when binding), groups. */
function sockaddrNl(groups: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16LE(AF_NETLINK, 0);
  b.writeUInt32LE(groups, 8);
  return b;
}

function open(groups: number): number {
  const fd = openSocket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT, 'socket(AF_NETLINK, NETLINK_KOBJECT_UEVENT)');
  try {
    bindSocket(fd, sockaddrNl(groups), 'AF_NETLINK');
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  return fd;
}

/** Receives every message multicast to `group`; `onMessage` gets it with the sender's netlink pid (0: the kernel). */
export class NetlinkListener {
  readonly fd: number;
  private readonly watch: PollWatch;
  private readonly buf = Buffer.alloc(MAX_MESSAGE);
  private readonly from = Buffer.alloc(12);

  constructor(
    group: number,
    private readonly onMessage: (message: Buffer, sender: number) => void,
    private readonly onOverflow: () => void = () => {},
  ) {
    recvfrom ??= libcFunction<Recvfrom>('long recvfrom(int, _Out_ void *, size_t, int, _Out_ void *, _Inout_ uint32_t *)');
    const fd = open(group);
    try {
      setSockOpt(fd, SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF);
    } catch {
      setSockOpt(fd, SOL_SOCKET, SO_RCVBUF, RCVBUF); // not root: as much as net.core.rmem_max allows
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
        throw new SysError('recvfrom(netlink)', errno);
      }
      this.onMessage(this.buf.subarray(0, n), this.from.readUInt32LE(4));
    }
  }

  close(): void {
    this.watch.close();
    closeFd(this.fd);
  }
}

/** Multicasts messages to a group. Sending to a uevent group needs CAP_NET_ADMIN, which is why receivers trust it. */
export class NetlinkSender {
  private readonly fd: number;

  constructor() {
    sendto ??= libcFunction<Sendto>('long sendto(int, const void *, size_t, int, const void *, uint32_t)');
    this.fd = open(0);
  }

  send(group: number, message: Buffer): void {
    const to = sockaddrNl(group);
    for (;;) {
      if (sendto!(this.fd, message, message.length, 0, to, to.length) >= 0) return;
      const errno = lastErrno();
      if (errno === EINTR) continue;
      // No listener in the group: nothing to deliver, as udev's device_monitor_send_device takes it.
      if (errno === ECONNREFUSED) return;
      throw new SysError('sendto(netlink)', errno);
    }
  }

  close(): void {
    closeFd(this.fd);
  }
}
