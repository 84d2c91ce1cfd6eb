// The system calls init needs beyond reconciler/sys.ts: fd hygiene at start, a stream socket, and the end of a
// host's life (sync, reboot). Declared through the one koffi binding of reconciler/sys.ts.
import { AF_UNIX, SysError, lastErrno, libcFunction, openSocket } from '../reconciler/sys.js';

interface Calls {
  closeRange: (first: number, last: number, flags: number) => number;
  sync: () => void;
  reboot: (cmd: number) => number;
}

let calls: Calls | undefined;
function sys(): Calls {
  calls ??= {
    closeRange: libcFunction('int close_range(unsigned int, unsigned int, int)'),
    sync: libcFunction('void sync(void)'),
    reboot: libcFunction('int reboot(int)'),
  };
  return calls;
}

function fail(call: string, detail = ''): never {
  throw new SysError(call, lastErrno(), detail);
}

const CLOSE_RANGE_CLOEXEC = 4;

/** Marks every fd from 3 up close-on-exec: whatever our parent leaked to us must not reach the services. */
export function cloexecFrom3(): void {
  if (sys().closeRange(3, 0xffffffff, CLOSE_RANGE_CLOEXEC) !== 0) fail('close_range');
}

const SOCK_STREAM = 1;

/** A blocking AF_UNIX stream socket; blocking suits the core, which takes it over as its listener. */
export function unixStreamSocket(): number {
  return openSocket(AF_UNIX, SOCK_STREAM, 0, 'socket(AF_UNIX, SOCK_STREAM)');
}

export function sync(): void {
  sys().sync();
}

// <sys/reboot.h>
const RB_DISABLE_CAD = 0;
const RB_AUTOBOOT = 0x01234567;
const RB_HALT_SYSTEM = 0xcdef0123 | 0;
const RB_POWER_OFF = 0x4321fedc;

export type RebootAction = 'poweroff' | 'reboot' | 'halt';
const rebootCmd: Record<RebootAction, number> = {
  poweroff: RB_POWER_OFF,
  reboot: RB_AUTOBOOT,
  halt: RB_HALT_SYSTEM,
};

/** Only returns when it failed. */
export function reboot(action: RebootAction): void {
  if (sys().reboot(rebootCmd[action]) !== 0) fail('reboot', action);
}

/** Ctrl-Alt-Del then sends us SIGINT instead of rebooting at once. */
export function disableCtrlAltDel(): void {
  if (sys().reboot(RB_DISABLE_CAD) !== 0) fail('reboot(RB_DISABLE_CAD)');
}

/** glibc's SIGRTMIN is 34 (the kernel's 32, less the two glibc keeps); systemd's "halt" signal is SIGRTMIN+3. */
export const SIGRTMIN_3 = 37;

interface SignalHandle {
  onsignal: (signum: number) => void;
  start(signum: number): number;
  unref(): void;
}

/**
 * A handler for a real-time signal. process.on() knows only the named signals; libuv handles any number, through
 * the binding process.on() itself uses (deprecated as a public API, hence the warning kept quiet).
 */
export function onRealtime(signum: number, handler: () => void): void {
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    const { Signal } = (process as unknown as { binding(name: string): { Signal: new () => SignalHandle } }).binding('signal_wrap');
    const handle = new Signal();
    handle.unref();
    handle.onsignal = () => handler();
    const err = handle.start(signum);
    if (err !== 0) throw new SysError('uv_signal_start', -err, String(signum));
  } finally {
    process.noDeprecation = quiet;
  }
}
