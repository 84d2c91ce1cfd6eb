// The sd_notify protocol: services send newline-separated KEY=VALUE datagrams to $NOTIFY_SOCKET, an AF_UNIX
// datagram socket; the kernel attaches the sender's pid (SO_PASSCRED), which is how the manager knows who spoke.
import { EventEmitter } from 'node:events';
import { lineageOf } from './proc.js';
import { chmodSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import {
  DatagramReceiver,
  SO_PASSCRED,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SOL_SOCKET,
  SysError,
  bindUnix,
  closeFd,
  pollReadable,
  sendDatagram,
  setSockOpt,
  unixDgramSocket,
  type PollWatch,
} from './sys.js';

export interface NotifyMessage {
  /** From SCM_CREDENTIALS; 0 when the sender lives in another pid namespace. */
  pid: number;
  uid: number;
  gid: number;
  /** Valid KEY=VALUE lines; a later duplicate wins. */
  fields: Record<string, string>;
  /** The whole datagram, for logs. */
  raw: string;
  /**
   * The sender's parent and session as they were when the datagram was read, while a sender waiting on BARRIER=1
   * still lives: the core may look only after it has exited (systemd-notify, `sysmaster notify`). Null: gone already.
   */
  lineage: { parent: number; session: number } | null;
}

export interface NotifySocketEvents {
  message: [NotifyMessage];
}

// systemd's limits: a notify datagram is at most PIPE_BUF bytes, the receive buffer 8 MiB for bursts. The queue
// length is net.unix.max_dgram_qlen, fixed when the socket is created (see PLATFORM.md).
const MAX_DATAGRAM = 4096;
const RECEIVE_BUFFER = 8 * 1024 * 1024;
/** Datagrams handled per readiness callback, so a flood cannot starve the event loop (poll is level-triggered). */
const BATCH = 256;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** sd_notify's payload: lines of KEY=VALUE. Lines without '=', with an empty key or invalid UTF-8 are skipped. */
export function parseNotify(data: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0x0a, start);
    if (end < 0) end = data.length;
    let line: string | null = null;
    try {
      line = utf8.decode(data.subarray(start, end));
    } catch {
      line = null;
    }
    const eq = line?.indexOf('=') ?? -1;
    if (line && eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
    start = end + 1;
  }
  return fields;
}

/** The manager's end: emits 'message' per datagram. It keeps the event loop alive until close(). */
export class NotifySocket extends EventEmitter<NotifySocketEvents> {
  private readonly receiver: DatagramReceiver;
  private watch: PollWatch | null;

  private constructor(
    readonly fd: number,
    readonly path: string | null,
  ) {
    super();
    this.receiver = new DatagramReceiver(fd, MAX_DATAGRAM);
    // Held in a field: a poll handle that is garbage-collected stops firing.
    this.watch = pollReadable(fd, () => this.drain());
  }

  /** Create and bind the socket at `path` ('@name' for the abstract namespace), replacing a stale one. */
  static open(path: string): NotifySocket {
    return new NotifySocket(bindNotifySocket(path, true), path);
  }

  /**
   * Take over a socket someone else created, bound and configured (init hands it to each core so datagrams sent
   * while no core runs wait in the kernel).
   */
  static fromFd(fd: number): NotifySocket {
    return new NotifySocket(fd, null);
  }

  close(): void {
    if (!this.watch) return;
    this.watch.close();
    this.watch = null;
    closeFd(this.fd);
    this.receiver.free();
  }

  private drain(): void {
    for (let i = 0; i < BATCH && this.watch; i++) {
      let d;
      try {
        d = this.receiver.receive();
      } catch {
        return; // recvmsg failing is not the sender's doing; the next readiness callback retries
      }
      if (!d) return;
      // Read before the barrier opens: a sender waiting on it is still there to read.
      const lineage = d.pid > 0 ? lineageOf(d.pid) : null;
      // systemd-notify sends BARRIER=1 with a pipe and waits until it is closed: keep no descriptor, ever.
      for (const fd of d.fds) closeFd(fd);
      let data = d.data;
      if (data.at(-1) === 0) data = data.subarray(0, -1); // one trailing NUL is tolerated, as systemd does
      // Like systemd: an over-long datagram or one with embedded NULs is ignored as a whole.
      if (d.truncated || data.includes(0)) continue;
      this.emit('message', { pid: d.pid, uid: d.uid, gid: d.gid, fields: parseNotify(data), raw: data.toString(), lineage: lineage });
    }
  }
}

/**
 * The client side (`sysmaster notify`, like sd_pid_notify_with_fds). `pid` speaks for another process, as
 * systemd-notify does for its parent; that needs privilege, so on EPERM/ESRCH it is sent as ourselves instead.
 * Blocks while the manager's queue is full: a datagram sent while the core restarts waits for the next core.
 */
/**
 * A bound sd_notify socket: SO_PASSCRED (who sent it), a large receive buffer (bursts of READY=1), and writable by
 * services of every user. init creates it blocking: senders wait while its queue is full; reads use MSG_DONTWAIT.
 */
export function bindNotifySocket(path: string, nonblocking: boolean, mode = 0o777): number {
  if (!path.startsWith('@')) rmSync(path, { force: true });
  const fd = unixDgramSocket(nonblocking);
  try {
    bindUnix(fd, path);
    // Services running as other users must be able to send: connecting needs write permission on the inode.
    if (!path.startsWith('@')) chmodSync(path, mode);
    setSockOpt(fd, SOL_SOCKET, SO_PASSCRED, 1);
    try {
      setSockOpt(fd, SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER);
    } catch {
      setSockOpt(fd, SOL_SOCKET, SO_RCVBUF, RECEIVE_BUFFER); // without CAP_NET_ADMIN: capped by rmem_max
    }
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  return fd;
}

export function sendNotify(
  socketPath: string,
  text: string | Buffer,
  opts: { pid?: number; fds?: number[] } = {},
): void {
  if (!socketPath.startsWith('/') && !socketPath.startsWith('@')) {
    throw new SysError('sd_notify', constants.errno.EAFNOSUPPORT, socketPath);
  }
  const data = typeof text === 'string' ? Buffer.from(text) : text;
  const fd = unixDgramSocket(false);
  try {
    const other = opts.pid && opts.pid !== process.pid;
    const cred = other ? { pid: opts.pid!, uid: process.getuid!(), gid: process.getgid!() } : undefined;
    try {
      sendDatagram(fd, socketPath, data, { fds: opts.fds, cred });
    } catch (err) {
      if (!cred || !(err instanceof SysError) || (err.code !== 'EPERM' && err.code !== 'ESRCH')) throw err;
      sendDatagram(fd, socketPath, data, { fds: opts.fds });
    }
  } finally {
    closeFd(fd);
  }
}
