// Listening sockets for socket units: the address families, types and options of systemd.socket(5), bound through
// koffi because Node's net and dgram never hand out a raw fd a child can inherit.
import { chmodSync, chownSync, constants as fsc, mkdirSync, openSync, rmSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import type { ListenAddress } from '../specs/listen.js';
import {
  AF_UNIX,
  bindSocket,
  closeFd,
  lastErrno,
  libcFunction,
  listen,
  mkfifo,
  openSocket,
  peerCred,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SysError,
  setSockOpt,
  sockaddrUn,
  SOL_SOCKET,
} from './sys.js';

export type SocketKind = 'stream' | 'datagram' | 'seqpacket';

interface Net {
  accept4: (fd: number, addr: Buffer, len: number[], flags: number) => number;
  getsockname: (fd: number, addr: Buffer, len: number[]) => number;
  getpeername: (fd: number, addr: Buffer, len: number[]) => number;
}
let net: Net | undefined;
function calls(): Net {
  return (net ??= {
    accept4: libcFunction('int accept4(int, _Out_ void *, _Inout_ uint32_t *, int)'),
    getsockname: libcFunction('int getsockname(int, _Out_ void *, _Inout_ uint32_t *)'),
    getpeername: libcFunction('int getpeername(int, _Out_ void *, _Inout_ uint32_t *)'),
  });
}

const AF_INET = 2;
const AF_INET6 = 10;
const TYPES: Record<SocketKind, number> = { stream: 1, datagram: 2, seqpacket: 5 };
const SO_REUSEADDR = 2;
const SO_REUSEPORT = 15;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const { EAFNOSUPPORT, EAGAIN, EINTR, ECONNABORTED } = constants.errno;

export interface ListenOptions {
  backlog: number;
  reusePort: boolean;
  /** AF_UNIX socket files. */
  mode: number;
  directoryMode: number;
  owner: { uid: number; gid: number } | null;
}

/**
 * A bound (and, for stream and seqpacket, listening) socket. Non-blocking and close-on-exec here, as systemd makes
 * them: a service gets a copy without close-on-exec through LISTEN_FDS.
 */
export function listenSocket(address: ListenAddress, kind: SocketKind, o: ListenOptions): number {
  if (address.family === 'any') {
    try {
      return bound({ family: 'inet6', host: '::', port: address.port }, kind, o, true);
    } catch (err) {
      // A kernel without IPv6: the port on IPv4 only.
      if ((err as SysError).errno !== EAFNOSUPPORT) throw err;
      return bound({ family: 'inet', host: '0.0.0.0', port: address.port }, kind, o, false);
    }
  }
  return bound(address, kind, o, false);
}

function bound(a: Exclude<ListenAddress, { family: 'any' }>, kind: SocketKind, o: ListenOptions, dual: boolean): number {
  const domain = a.family === 'unix' ? AF_UNIX : a.family === 'inet' ? AF_INET : AF_INET6;
  const shown = a.family === 'unix' ? a.path : a.family === 'inet' ? `${a.host}:${a.port}` : `[${a.host}]:${a.port}`;
  const fd = openSocket(domain, TYPES[kind] | SOCK_NONBLOCK, 0, 'socket', shown);
  try {
    if (a.family !== 'unix') {
      setSockOpt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
      if (a.family === 'inet6') setSockOpt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? 0 : 1);
    }
    if (o.reusePort) setSockOpt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    const addr = a.family === 'unix' ? sockaddrUn(a.path) : a.family === 'inet' ? sockaddrIn(a.host, a.port) : sockaddrIn6(a.host, a.port);
    if (a.family === 'unix' && !a.path.startsWith('@')) prepareFile(a.path, o.directoryMode);
    bindSocket(fd, addr, shown);
    if (a.family === 'unix' && !a.path.startsWith('@')) ownFile(a.path, o);
    if (kind !== 'datagram') listen(fd, o.backlog, shown);
    return fd;
  } catch (err) {
    closeFd(fd);
    throw err;
  }
}

/** A FIFO made (if missing) and opened read-write, so it never reports EOF while nobody writes. */
export function openFifo(file: string, o: ListenOptions): number {
  prepareFile(file, o.directoryMode, false);
  try {
    if (!statSync(file).isFIFO()) throw new SysError('mkfifo', 17 /* EEXIST */, `${file} exists and is not a FIFO`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkfifo(file, o.mode);
  }
  ownFile(file, o);
  // libuv opens every file close-on-exec.
  return openSync(file, fsc.O_RDWR | fsc.O_NONBLOCK);
}

/** The directories up to a socket file, and no stale socket file in the way (a FIFO is kept). */
function prepareFile(file: string, directoryMode: number, replace = true): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: directoryMode });
  if (replace) rmSync(file, { force: true });
}

function ownFile(file: string, o: ListenOptions): void {
  chmodSync(file, o.mode);
  if (o.owner) chownSync(file, o.owner.uid, o.owner.gid);
}

/** Remove a socket file or FIFO (RemoveOnStop=). */
export function removeFile(address: ListenAddress): void {
  if (address.family === 'unix' && !address.path.startsWith('@')) rmSync(address.path, { force: true });
}

export interface Accepted {
  fd: number;
  /** `127.0.0.1:22` or, for AF_UNIX, `PID-UID` of the peer, as systemd names instances. */
  local: string;
  remote: string;
  /** REMOTE_ADDR / REMOTE_PORT for the instance, for IP connections. */
  env: Record<string, string>;
}

/** The next connection waiting on a listening stream socket, blocking for the service; null when none waits. */
export function acceptConnection(listener: number): Accepted | null {
  const c = calls();
  const fd = c.accept4(listener, Buffer.alloc(128), [128], SOCK_CLOEXEC);
  if (fd < 0) {
    const errno = lastErrno();
    if (errno === EAGAIN || errno === EINTR || errno === ECONNABORTED) return null;
    throw new SysError('accept4', errno);
  }
  try {
    const local = endpoint(fd, c.getsockname);
    const remote = endpoint(fd, c.getpeername);
    if (local.family === AF_UNIX) {
      const peer = peerCred(fd);
      return { fd, local: `${peer.pid}`, remote: `${peer.uid}`, env: {} };
    }
    return { fd, local: local.text, remote: remote.text, env: { REMOTE_ADDR: remote.host, REMOTE_PORT: String(remote.port) } };
  } catch (err) {
    closeFd(fd);
    throw err;
  }
}

function endpoint(fd: number, call: Net['getsockname']): { family: number; host: string; port: number; text: string } {
  const buf = Buffer.alloc(128);
  if (call(fd, buf, [128]) !== 0) throw new SysError('getsockname', lastErrno(), String(fd));
  const family = buf.readUInt16LE(0);
  const port = buf.readUInt16BE(2);
  if (family === AF_INET) {
    const host = [...buf.subarray(4, 8)].join('.');
    return { family, host, port, text: `${host}:${port}` };
  }
  if (family === AF_INET6) {
    // The URL parser writes an IPv6 address in its shortest form (RFC 5952), as inet_ntop does.
    const words = Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(8 + 2 * i).toString(16));
    const host = new URL(`http://[${words.join(':')}]`).hostname.slice(1, -1);
    // A v4-mapped peer of a dual-stack socket reads as IPv4, as systemd shows it.
    const v4 = /^::ffff:([0-9a-f]+):([0-9a-f]+)$/.exec(host);
    const shown = v4 ? [...buf.subarray(20, 24)].join('.') : host;
    return { family, host: shown, port, text: v4 ? `${shown}:${port}` : `[${shown}]:${port}` };
  }
  return { family, host: '', port: 0, text: '' };
}

function sockaddrIn(host: string, port: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  host.split('.').forEach((o, i) => b.writeUInt8(Number(o), 4 + i));
  return b;
}

function sockaddrIn6(host: string, port: number): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  ipv6Bytes(host).copy(b, 8);
  return b;
}

function ipv6Bytes(host: string): Buffer {
  const b = Buffer.alloc(16);
  let text = host;
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) text = text.slice(0, v4.index) + `${((+v4[1] << 8) | +v4[2]).toString(16)}:${((+v4[3] << 8) | +v4[4]).toString(16)}`;
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), 2 * i));
  return b;
}
