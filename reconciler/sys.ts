// The few Linux system calls Node does not offer, through koffi. koffi is loaded on first use (about 12 ms), so
// code paths that never reap or touch the notify socket never pay for it. x86_64/aarch64 Linux layouts only.
import { constants as fsc } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';

type Koffi = typeof import('koffi').default;

/** A failed system call; `code` is the errno name (`ENOENT`), stable for callers to test. */
export class SysError extends Error {
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
    detail = '',
  ) {
    const code = errnoName(errno);
    super(`${syscall}${detail ? ` ${detail}` : ''}: ${code}`);
    this.name = 'SysError';
    this.code = code;
  }
}

const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
export function errnoName(n: number): string {
  return errnoNames.get(n) ?? `E${n}`;
}

// The first name wins: os.constants.signals lists SIGABRT before its alias SIGIOT, SIGIO before SIGPOLL.
const signalNames = new Map<number, string>();
for (const [name, n] of Object.entries(constants.signals)) if (!signalNames.has(n)) signalNames.set(n, name);
// glibc reserves 32 and 33 for NPTL; os.constants.signals lists no real-time signals.
const SIGRTMIN = 34;
/** 'SIGTERM' for 15; real-time signals as systemd spells them ('SIGRTMIN+3'). */
export function signalName(n: number): string {
  return signalNames.get(n) ?? (n >= SIGRTMIN && n <= 64 ? `SIGRTMIN+${n - SIGRTMIN}` : `SIG${n}`);
}

interface Libc {
  koffi: Koffi;
  prctl: (option: number, a2: number, a3: number, a4: number, a5: number) => number;
  waitid: (idtype: number, id: number, info: Buffer, options: number) => number;
  waitpid: (pid: number, status: Buffer, options: number) => number;
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  getsockopt: (fd: number, level: number, name: number, value: Buffer, len: number[]) => number;
  recvmsg: (fd: number, msg: bigint, flags: number) => number;
  sendmsg: (fd: number, msg: bigint, flags: number) => number;
  close: (fd: number) => number;
  pidfdOpen: (pid: number, flags: number) => number;
  pipe2: (fds: Int32Array, flags: number) => number;
  mkfifo: (path: string, mode: number) => number;
  fcntl: (fd: number, cmd: number, ...rest: unknown[]) => number;
  posixSpawn: SpawnFn & { async: (...args: [...Parameters<SpawnFn>, (err: unknown, r: number) => void]) => void };
  faInit: (fa: Buffer) => number;
  faDestroy: (fa: Buffer) => number;
  faDup2: (fa: Buffer, fd: number, newfd: number) => number;
  faOpen: (fa: Buffer, fd: number, path: string, flags: number, mode: number) => number;
  faChdir: (fa: Buffer, path: string) => number;
  faClosefrom: (fa: Buffer, from: number) => number;
  attrInit: (attr: Buffer) => number;
  attrFlags: (attr: Buffer, flags: number) => number;
  attrSigDefault: (attr: Buffer, set: Buffer) => number;
  attrSigMask: (attr: Buffer, set: Buffer) => number;
}
type SpawnFn = (
  pid: number[],
  path: string,
  fa: Buffer,
  attr: Buffer,
  argv: (string | null)[],
  envp: (string | null)[],
) => number;

let libc: Libc | undefined;
let lib: { koffi: Koffi; c: ReturnType<Koffi['load']> } | undefined;

/** koffi and libc, loaded once for the whole process. */
function load() {
  if (lib) return lib;
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  lib = { koffi, c: koffi.load('libc.so.6') };
  return lib;
}

/** Another libc function through the same binding (init's few extra calls: init/sys.ts). */
export function libcFunction<F>(declaration: string): F {
  return load().c.func(declaration) as unknown as F;
}

/** errno of the last call made through the binding. */
export function lastErrno(): number {
  return load().koffi.errno();
}

function sys(): Libc {
  if (libc) return libc;
  const { koffi, c } = load();
  libc = {
    koffi,
    prctl: c.func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)'),
    waitid: c.func('int waitid(int, int, void *, int)'),
    waitpid: c.func('int waitpid(int, void *, int)'),
    socket: c.func('int socket(int, int, int)'),
    bind: c.func('int bind(int, const void *, uint32_t)'),
    listen: c.func('int listen(int, int)'),
    setsockopt: c.func('int setsockopt(int, int, int, const void *, uint32_t)'),
    getsockopt: c.func('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)'),
    recvmsg: c.func('long recvmsg(int, void *, int)'),
    sendmsg: c.func('long sendmsg(int, const void *, int)'),
    close: c.func('int close(int)'),
    pidfdOpen: c.func('int pidfd_open(int, unsigned int)'),
    pipe2: c.func('int pipe2(_Out_ int *fds, int flags)'),
    mkfifo: c.func('int mkfifo(const char *, uint32_t)'),
    fcntl: c.func('int fcntl(int, int, ...)'),
    posixSpawn: c.func(
      'int posix_spawn(_Out_ int *pid, const char *path, const void *fa, const void *attr, ' +
        'const char **argv, const char **envp)',
    ),
    faInit: c.func('int posix_spawn_file_actions_init(void *)'),
    faDestroy: c.func('int posix_spawn_file_actions_destroy(void *)'),
    faDup2: c.func('int posix_spawn_file_actions_adddup2(void *, int, int)'),
    faOpen: c.func('int posix_spawn_file_actions_addopen(void *, int, const char *, int, uint32_t)'),
    // addchdir_np needs glibc ≥ 2.29, addclosefrom_np ≥ 2.34 (Debian 12 has 2.36).
    faChdir: c.func('int posix_spawn_file_actions_addchdir_np(void *, const char *)'),
    faClosefrom: c.func('int posix_spawn_file_actions_addclosefrom_np(void *, int)'),
    attrInit: c.func('int posix_spawnattr_init(void *)'),
    attrFlags: c.func('int posix_spawnattr_setflags(void *, short)'),
    attrSigDefault: c.func('int posix_spawnattr_setsigdefault(void *, const void *)'),
    attrSigMask: c.func('int posix_spawnattr_setsigmask(void *, const void *)'),
  };
  return libc;
}

function fail(syscall: string, detail = ''): never {
  throw new SysError(syscall, sys().koffi.errno(), detail);
}

const EINTR = constants.errno.EINTR;
const EAGAIN = constants.errno.EAGAIN;
const ECHILD = constants.errno.ECHILD;

// ---------------------------------------------------------------------------------------------------------------
// Processes

const PR_SET_CHILD_SUBREAPER = 36;

/** A pidfd (readable once the process has exited), or null when the process is already gone. */
export function pidfdOpen(pid: number): number | null {
  const fd = sys().pidfdOpen(pid, 0);
  if (fd >= 0) return fd;
  if (sys().koffi.errno() === constants.errno.ESRCH) return null;
  fail('pidfd_open', String(pid));
}

/** Orphans of our descendants reparent to us instead of PID 1 (we must then reap them: see reaper.ts). */
export function setChildSubreaper(): void {
  if (sys().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0) fail('prctl(PR_SET_CHILD_SUBREAPER)');
}

const P_ALL = 0;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;
const siginfo = Buffer.alloc(128);

/**
 * An exited child, still waitable (WNOWAIT): the caller decides whether it is ours to reap.
 * `code` is si_code (CLD_EXITED 1, CLD_KILLED 2, CLD_DUMPED 3), `status` the exit code or signal number.
 */
export function waitidPeek(): { pid: number; code: number; status: number } | null {
  const { waitid, koffi } = sys();
  for (;;) {
    siginfo.fill(0); // with WNOHANG and nothing exited, waitid leaves si_pid alone: it must read 0
    if (waitid(P_ALL, 0, siginfo, WEXITED | WNOHANG | WNOWAIT) === 0) break;
    const errno = koffi.errno();
    if (errno === ECHILD) return null;
    if (errno !== EINTR) throw new SysError('waitid', errno);
  }
  const pid = siginfo.readInt32LE(16);
  return pid > 0 ? { pid, code: siginfo.readInt32LE(8), status: siginfo.readInt32LE(24) } : null;
}

const statusBuf = Buffer.alloc(4);

/** Reap `pid` if it has exited: its raw wait status, or null when it has not exited or is not our child. */
export function reap(pid: number): number | null {
  const { waitpid, koffi } = sys();
  for (;;) {
    const r = waitpid(pid, statusBuf, WNOHANG);
    if (r > 0) return statusBuf.readInt32LE(0);
    if (r === 0) return null;
    const errno = koffi.errno();
    if (errno === ECHILD) return null;
    if (errno !== EINTR) throw new SysError('waitpid', errno, String(pid));
  }
}

/** A raw wait status as WIFEXITED/WEXITSTATUS/WTERMSIG/WCOREDUMP read it. */
export function decodeStatus(raw: number): { code: number | null; signal: string | null; core: boolean } {
  const sig = raw & 0x7f;
  if (sig === 0) return { code: (raw >> 8) & 0xff, signal: null, core: false };
  return { code: null, signal: signalName(sig), core: (raw & 0x80) !== 0 };
}

// ---------------------------------------------------------------------------------------------------------------
// Process creation. glibc's posix_spawn (2.36 here) clones with CLONE_VM | CLONE_VFORK: no page tables are copied,
// so unlike libuv's fork its cost does not grow with our RSS, and a failed exec comes back as its return value.
// Only the calling thread waits for the exec; posixSpawnAsync makes that a libuv pool thread.

const O_CLOEXEC = 0o2000000; // not in fs.constants

/** A pipe, both ends close-on-exec: [read end, write end]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  if (sys().pipe2(fds, O_CLOEXEC) !== 0) fail('pipe2');
  return [fds[0], fds[1]];
}

/** A FIFO at `path`; EEXIST when something is there already. */
export function mkfifo(path: string, mode: number): void {
  if (sys().mkfifo(path, mode) !== 0) fail('mkfifo', path);
}

const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;

/**
 * The capacity of the pipe `fd` is an end of (a FIFO's too), set first when `size` is given: the kernel rounds it
 * up to a power-of-two number of pages; EPERM above pipe-max-size or a per-user limit, EBUSY below what it holds.
 */
export function pipeSize(fd: number, size?: number): number {
  const { fcntl } = sys();
  if (size !== undefined && fcntl(fd, F_SETPIPE_SZ, 'int', size) < 0) fail('fcntl(F_SETPIPE_SZ)', String(size));
  const r = fcntl(fd, F_GETPIPE_SZ, 'int', 0);
  if (r < 0) fail('fcntl(F_GETPIPE_SZ)');
  return r;
}

/** What posix_spawn runs. The child gets fds 0–2 and nothing else, whatever close-on-exec flags our fds carry. */
export interface SpawnRequest {
  /** An absolute path: posix_spawn does no PATH search. */
  path: string;
  argv: string[];
  /** `NAME=value` strings: the whole environment. */
  env: string[];
  cwd?: string;
  /**
   * What fds 0, 1 and 2 are: one of our fds, duplicated (each must be that same number or ≥ 3, so no dup2 clobbers
   * another's source); a file the child opens itself, with these open(2) flags; or null for /dev/null.
   */
  stdio: [SpawnFd, SpawnFd, SpawnFd];
  /** Our fds the child gets as 3, 4, ... (LISTEN_FDS). */
  passFds?: number[];
  /** Files the child opens itself at these fd numbers, each above the passed ones (NotifyFd=). */
  files?: { fd: number; open: string; flags: number }[];
}
export type SpawnFd = number | { open: string; flags: number } | null;

// spawn.h; POSIX_SPAWN_SETSID needs glibc ≥ 2.26.
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
// posix_spawnattr_t and posix_spawn_file_actions_t on 64-bit glibc.
const ATTR_SIZE = 336;
const FILE_ACTIONS_SIZE = 80;
const SIGSET_SIZE = 128;

let attr: Buffer | undefined;
/** Own session and process group, every signal at its default, none blocked. Read-only, so shared by all spawns. */
function spawnAttr(): Buffer {
  if (attr) return attr;
  const c = sys();
  const a = Buffer.alloc(ATTR_SIZE);
  // Every bit, not sigfillset(): that leaves out glibc's internal signals 32 and 33, which the child would then
  // get as SIG_IGN and pass on to what it execs.
  const all = Buffer.alloc(SIGSET_SIZE, 0xff);
  const none = Buffer.alloc(SIGSET_SIZE);
  check('posix_spawnattr_init', c.attrInit(a));
  const flags = POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  check('posix_spawnattr_setflags', c.attrFlags(a, flags));
  check('posix_spawnattr_setsigdefault', c.attrSigDefault(a, all));
  check('posix_spawnattr_setsigmask', c.attrSigMask(a, none));
  return (attr = a);
}

/** posix_spawn* functions return an errno instead of setting it. */
function check(call: string, r: number, detail = ''): void {
  if (r !== 0) throw new SysError(call, r, detail);
}

function fileActions(req: SpawnRequest): Buffer {
  const c = sys();
  const fa = Buffer.alloc(FILE_ACTIONS_SIZE);
  check('posix_spawn_file_actions_init', c.faInit(fa));
  try {
    req.stdio.forEach((from, fd) => {
      if (from === null) {
        const access = fd === 0 ? fsc.O_RDONLY : fsc.O_WRONLY;
        check('posix_spawn_file_actions_addopen', c.faOpen(fa, fd, '/dev/null', access, 0));
      } else if (typeof from === 'object') {
        check('posix_spawn_file_actions_addopen', c.faOpen(fa, fd, from.open, from.flags, 0));
      } else {
        // dup2 onto itself clears close-on-exec (glibc ≥ 2.29): an inherited stdio fd survives the exec.
        check('posix_spawn_file_actions_adddup2', c.faDup2(fa, from, fd));
      }
    });
    const passed = req.passFds ?? [];
    // Through copies above every source first: a source may be one of the numbers 3, 4, ... another goes to.
    const above = Math.max(2 + passed.length, ...passed) + 1;
    passed.forEach((from, i) => check('posix_spawn_file_actions_adddup2', c.faDup2(fa, from, above + i)));
    passed.forEach((_, i) => check('posix_spawn_file_actions_adddup2', c.faDup2(fa, above + i, 3 + i)));
    if (req.cwd) check('posix_spawn_file_actions_addchdir_np', c.faChdir(fa, req.cwd));
    // An fd some code opened without close-on-exec, maybe on the main thread while a worker spawns, stays ours.
    check('posix_spawn_file_actions_addclosefrom_np', c.faClosefrom(fa, 3 + passed.length));
    for (const f of req.files ?? []) check('posix_spawn_file_actions_addopen', c.faOpen(fa, f.fd, f.open, f.flags, 0), `fd ${f.fd}`);
  } catch (err) {
    c.faDestroy(fa);
    throw err;
  }
  return fa;
}

function spawnArgs(req: SpawnRequest): Parameters<SpawnFn> {
  return [[0], req.path, fileActions(req), spawnAttr(), [...req.argv, null], [...req.env, null]];
}

/** posix_spawn on this thread, which waits until the child has exec'd (or failed to). Throws a SysError. */
export function posixSpawn(req: SpawnRequest): number {
  const args = spawnArgs(req);
  try {
    check('posix_spawn', sys().posixSpawn(...args), req.path);
    return args[0][0];
  } finally {
    sys().faDestroy(args[2]);
  }
}

/**
 * posix_spawn on a libuv pool thread; `done` runs on this one. Throws only when the request cannot be queued.
 * Until `done` runs, the child may already have exited and been reaped (see expectExit in reaper.ts).
 */
export function posixSpawnAsync(req: SpawnRequest, done: (err: Error | null, pid: number) => void): void {
  const c = sys();
  const args = spawnArgs(req);
  try {
    c.posixSpawn.async(...args, (err, r) => {
      c.faDestroy(args[2]);
      if (err) done(err instanceof Error ? err : new Error(String(err)), 0);
      else if (r !== 0) done(new SysError('posix_spawn', r, req.path), 0);
      else done(null, args[0][0]);
    });
  } catch (err) {
    c.faDestroy(args[2]);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sockets Node cannot make or hand over as fds: AF_UNIX datagrams (sd_notify), init's listening sockets, socket
// units' sockets (net.ts), netlink (devmaster/uevents.ts).

export const AF_UNIX = 1;
const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_PASSCRED = 16;
export const SO_RCVBUFFORCE = 33;
const SCM_RIGHTS = 1;
const SCM_CREDENTIALS = 2;
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SUN_PATH_MAX = 108;

/** socket(2), always close-on-exec; a failure is a SysError of `syscall` (and `detail`). */
export function openSocket(domain: number, type: number, protocol: number, syscall: string, detail = ''): number {
  const fd = sys().socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) fail(syscall, detail);
  return fd;
}

export function bindSocket(fd: number, addr: Buffer, detail: string): void {
  if (sys().bind(fd, addr, addr.length) !== 0) fail('bind', detail);
}

export function listen(fd: number, backlog: number, detail = ''): void {
  if (sys().listen(fd, backlog) !== 0) fail('listen', detail);
}

export function unixDgramSocket(nonBlocking: boolean): number {
  return openSocket(AF_UNIX, SOCK_DGRAM | (nonBlocking ? SOCK_NONBLOCK : 0), 0, 'socket(AF_UNIX, SOCK_DGRAM)');
}

/** struct sockaddr_un; a leading '@' names the abstract namespace, as NOTIFY_SOCKET writes it. */
export function sockaddrUn(path: string): Buffer {
  const name = Buffer.from(path.startsWith('@') ? `\0${path.slice(1)}` : path);
  if (name.length === 0 || name.length >= SUN_PATH_MAX) {
    throw new SysError('sockaddr_un', constants.errno.ENAMETOOLONG, path);
  }
  const addr = Buffer.alloc(2 + name.length + (path.startsWith('@') ? 0 : 1));
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  return addr;
}

export function bindUnix(fd: number, path: string): void {
  bindSocket(fd, sockaddrUn(path), path);
}

const SO_PEERCRED = 17;

/** Who is at the other end of a connected AF_UNIX socket (SO_PEERCRED: pid, uid, gid at connect time). */
export function peerCred(fd: number): { pid: number; uid: number; gid: number } {
  const buf = Buffer.alloc(12);
  const len = [12];
  if (sys().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, len) !== 0) fail('getsockopt(SO_PEERCRED)');
  return { pid: buf.readInt32LE(0), uid: buf.readUInt32LE(4), gid: buf.readUInt32LE(8) };
}

/** setsockopt with an int value. */
export function setSockOpt(fd: number, level: number, name: number, value: number): void {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value, 0);
  if (sys().setsockopt(fd, level, name, v, 4) !== 0) fail(`setsockopt(${name})`);
}

export function closeFd(fd: number): void {
  sys().close(fd);
}

/** One received datagram with what the kernel attached to it. pid/uid/gid are 0 without SO_PASSCRED. */
export interface Datagram {
  data: Buffer;
  pid: number;
  uid: number;
  gid: number;
  /** Descriptors passed with SCM_RIGHTS, already open in this process (close-on-exec): the caller owns them. */
  fds: number[];
  /** The datagram was longer than the buffer and got cut. */
  truncated: boolean;
}

// struct msghdr (56 bytes) and struct iovec (16 bytes) on 64-bit Linux.
const MSGHDR = 56;
const IOVEC = 16;
const CMSG_HDR = 16;
const align8 = (n: number) => (n + 7) & ~7;

/** Fixed native memory for recvmsg on one socket: the kernel writes into it, JS reads it through a view. */
export class DatagramReceiver {
  private readonly ptr: bigint;
  private readonly view: Buffer;
  private readonly controlAt = MSGHDR + IOVEC;
  private readonly dataAt: number;

  constructor(
    readonly fd: number,
    private readonly maxData = 4096,
    private readonly maxControl = 4096,
  ) {
    const { koffi } = sys();
    this.dataAt = this.controlAt + maxControl;
    const size = this.dataAt + maxData;
    this.ptr = koffi.alloc('uint8', size) as bigint;
    this.view = Buffer.from(koffi.view(this.ptr, size));
    this.view.fill(0);
    this.view.writeBigUInt64LE(this.ptr + BigInt(MSGHDR), 16); // msg_iov
    this.view.writeBigUInt64LE(1n, 24); // msg_iovlen
    this.view.writeBigUInt64LE(this.ptr + BigInt(this.controlAt), 32); // msg_control
    this.view.writeBigUInt64LE(this.ptr + BigInt(this.dataAt), MSGHDR); // iov_base
    this.view.writeBigUInt64LE(BigInt(maxData), MSGHDR + 8); // iov_len
  }

  /** The next queued datagram, or null when none is waiting. */
  receive(): Datagram | null {
    const { recvmsg, koffi } = sys();
    const v = this.view;
    let n: number;
    for (;;) {
      v.writeBigUInt64LE(BigInt(this.maxControl), 40); // msg_controllen: the kernel shrinks it to what it wrote
      v.writeInt32LE(0, 48); // msg_flags
      n = recvmsg(this.fd, this.ptr, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
      if (n >= 0) break;
      const errno = koffi.errno();
      if (errno === EAGAIN) return null;
      if (errno !== EINTR) throw new SysError('recvmsg', errno);
    }
    const flags = v.readInt32LE(48);
    const out: Datagram = {
      data: Buffer.from(v.subarray(this.dataAt, this.dataAt + Math.min(n, this.maxData))),
      pid: 0,
      uid: 0,
      gid: 0,
      fds: [],
      truncated: (flags & MSG_TRUNC) !== 0 || n > this.maxData,
    };
    const controlLen = Number(v.readBigUInt64LE(40));
    for (let at = 0; at + CMSG_HDR <= controlLen; ) {
      const base = this.controlAt + at;
      const len = Number(v.readBigUInt64LE(base));
      if (len < CMSG_HDR || at + len > controlLen) break;
      const level = v.readInt32LE(base + 8);
      const type = v.readInt32LE(base + 12);
      if (level === SOL_SOCKET && type === SCM_CREDENTIALS && len >= CMSG_HDR + 12) {
        out.pid = v.readInt32LE(base + 16);
        out.uid = v.readUInt32LE(base + 20);
        out.gid = v.readUInt32LE(base + 24);
      } else if (level === SOL_SOCKET && type === SCM_RIGHTS) {
        // Descriptors that did not fit (MSG_CTRUNC) were already closed by the kernel.
        for (let p = base + CMSG_HDR; p + 4 <= base + len; p += 4) out.fds.push(v.readInt32LE(p));
      }
      at += align8(len);
    }
    return out;
  }

  /** Frees the native memory; the caller closes the fd. */
  free(): void {
    sys().koffi.free(this.ptr);
  }
}

/**
 * sendmsg one datagram to `path`. `cred` attaches SCM_CREDENTIALS (a pid other than ours needs CAP_SYS_ADMIN:
 * systemd-notify uses it to speak for its parent); `fds` attaches SCM_RIGHTS.
 */
export function sendDatagram(
  fd: number,
  path: string,
  data: Buffer,
  opts: { fds?: number[]; cred?: { pid: number; uid: number; gid: number } } = {},
): void {
  const { koffi, sendmsg } = sys();
  const addr = sockaddrUn(path);
  const fds = opts.fds ?? [];
  const credSpace = opts.cred ? CMSG_HDR + align8(12) : 0;
  const rightsSpace = fds.length ? CMSG_HDR + align8(4 * fds.length) : 0;
  const addrAt = MSGHDR + IOVEC;
  const controlAt = align8(addrAt + addr.length);
  const dataAt = controlAt + credSpace + rightsSpace;
  const size = dataAt + Math.max(data.length, 1);
  const ptr = koffi.alloc('uint8', size) as bigint;
  try {
    const v = Buffer.from(koffi.view(ptr, size));
    v.fill(0);
    v.writeBigUInt64LE(ptr + BigInt(addrAt), 0); // msg_name
    v.writeUInt32LE(addr.length, 8); // msg_namelen
    v.writeBigUInt64LE(ptr + BigInt(MSGHDR), 16); // msg_iov
    v.writeBigUInt64LE(1n, 24);
    if (credSpace + rightsSpace > 0) {
      v.writeBigUInt64LE(ptr + BigInt(controlAt), 32);
      v.writeBigUInt64LE(BigInt(credSpace + rightsSpace), 40);
    }
    v.writeBigUInt64LE(ptr + BigInt(dataAt), MSGHDR);
    v.writeBigUInt64LE(BigInt(data.length), MSGHDR + 8);
    addr.copy(v, addrAt);
    data.copy(v, dataAt);
    let at = controlAt;
    if (opts.cred) {
      v.writeBigUInt64LE(BigInt(CMSG_HDR + 12), at);
      v.writeInt32LE(SOL_SOCKET, at + 8);
      v.writeInt32LE(SCM_CREDENTIALS, at + 12);
      v.writeInt32LE(opts.cred.pid, at + 16);
      v.writeUInt32LE(opts.cred.uid, at + 20);
      v.writeUInt32LE(opts.cred.gid, at + 24);
      at += credSpace;
    }
    if (fds.length) {
      v.writeBigUInt64LE(BigInt(CMSG_HDR + 4 * fds.length), at);
      v.writeInt32LE(SOL_SOCKET, at + 8);
      v.writeInt32LE(SCM_RIGHTS, at + 12);
      fds.forEach((f, i) => v.writeInt32LE(f, at + CMSG_HDR + 4 * i));
    }
    for (;;) {
      if (sendmsg(fd, ptr, MSG_NOSIGNAL) >= 0) return;
      const errno = koffi.errno();
      if (errno !== EINTR) throw new SysError('sendmsg', errno, path);
    }
  } finally {
    koffi.free(ptr);
  }
}

/** A libuv poll watcher on `fd`. It keeps the event loop alive; the caller must hold the returned object. */
export interface PollWatch {
  close(): void;
}

export function pollReadable(fd: number, onReadable: () => void): PollWatch {
  // koffi.node.poll is undocumented: the callback gets (status, events), unlike its .d.ts says.
  const handle = sys().koffi.node.poll(fd, { readable: true }, () => onReadable());
  if (!handle) fail('uv_poll_start');
  return handle;
}
