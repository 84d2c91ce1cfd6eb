import fs from 'node:fs';
import { ControlServer } from './control.js';
import { Daemon, type Sink } from './daemon.js';
import { methods } from './methods.js';
import { statePaths } from './paths.js';
import type { CoreState, StateStore } from './state.js';
import { Reaper } from './reaper.js';
import { spawnOffThread } from './spawn.js';

export interface CoreOptions {
  stateDir: string;
  /** The control socket init holds and hands to every core (init/protocol.ts). */
  fds: { control: number };
  /** Where the core's state is written, and the init it belongs to (`pid:starttime`). */
  store: StateStore;
  owner: string;
  sink?: Sink;
  /** Called when a client asks the manager to exit (`sctl exit CODE`, poweroff, reboot, halt). */
  onExit(code: number, action?: 'poweroff' | 'reboot' | 'halt'): void;
  /** Hand over to a fresh core (`sctl daemon-reexec`). */
  onReexec(): void;
  /** A dead core's state to take over: restored before any socket is read, so no message finds the units missing. */
  state?: CoreState | null;
}

export interface Core {
  daemon: Daemon;
  /** From restoring `state`: processes that are gone with no exit status kept (Daemon.restore). */
  gone: { unit: string; pid: number }[];
  close(): Promise<void>;
}

/** Start a core on init's control socket: restore what a dead core left, then serve it. */
export async function startCore(opts: CoreOptions): Promise<Core> {
  const paths = statePaths(opts.stateDir);
  const daemon = new Daemon(paths, process.env, opts.store, opts.owner, opts.sink ?? null);
  // The log process a dead core left, or a new one; what the core says meanwhile waits for it.
  void daemon.logs.start().catch((err: Error) => process.stderr.write(`sysmaster: ${err.message}\n`));
  const gone = opts.state ? daemon.restore(opts.state) : [];
  daemon.startTypes();
  const reaper = new Reaper();
  reaper.on('exit', (info) => daemon.effects.reaped(info));
  reaper.start();
  spawnOffThread(true); // services are posix_spawn'ed on libuv's pool: the loop is not blocked per spawn
  const server = new ControlServer(methods(daemon, { exit: opts.onExit, reexec: opts.onReexec, init: process.ppid }), admit);
  await server.adopt(opts.fds.control);
  fs.writeFileSync(paths.lock, `${process.pid}\n`, { mode: 0o600 });
  return {
    daemon,
    gone,
    async close() {
      await server.close();
      reaper.stop();
      daemon.close();
      // The sockets are init's: the next core serves them.
      fs.rmSync(paths.lock, { force: true });
    },
  };
}

/**
 * Only the core's own user may drive it: root for the system instance, the user for `sysmaster up`. The socket's
 * 0600 mode already says so; the peer check holds even if the mode is loosened by hand.
 */
export function admit(peer: { uid: number } | null, own = process.getuid?.() ?? 0): string | null {
  if (!peer) return 'cannot read the caller\'s credentials (SO_PEERCRED)';
  if (peer.uid === own || peer.uid === 0) return null;
  return `permission denied: uid ${peer.uid} may not control this instance (owned by uid ${own})`;
}
