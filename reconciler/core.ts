import fs from 'node:fs';
import { call } from './client.js';
import { ControlServer } from './control.js';
import { Daemon, type Sink } from './daemon.js';
import { methods } from './methods.js';
import { NotifySocket } from './notify.js';
import { statePaths } from './paths.js';
import { ControlError } from './protocol.js';
import type { CoreState } from './state.js';
import { Reaper } from './reaper.js';
import { spawnOffThread } from './spawn.js';
import { setChildSubreaper } from './sys.js';

export interface CoreOptions {
  stateDir: string;
  /** Sockets init holds and hands to every core (init/protocol.ts); without them the core makes its own. */
  fds?: { control: number; notify: number } | null;
  sink?: Sink;
  /** Called when a client asks the manager to exit (`sctl exit CODE`). */
  onExit?(code: number, action?: 'poweroff' | 'reboot' | 'halt'): void;
  /** Under init: hand over to a fresh core (`sctl daemon-reexec`). */
  onReexec?(): void;
  /** A dead core's state to take over: restored before any socket is read, so no message finds the units missing. */
  state?: CoreState | null;
}

export interface Core {
  daemon: Daemon;
  /** From restoring `state`: processes that are gone with no exit status kept (Daemon.restore). */
  gone: { unit: string; pid: number }[];
  close(): Promise<void>;
}

/**
 * Start a core on a state directory: refuse when another core answers there, become the subreaper of everything
 * it starts, and open the notify and control sockets.
 */
export async function startCore(opts: CoreOptions): Promise<Core> {
  const paths = statePaths(opts.stateDir);
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o711 }); // as init makes it: services reach notify.sock
  const other = opts.fds ? null : await call(paths.control, 'ping', {}, { retries: 0 }).catch(() => null);
  if (other) {
    const pid = (other as { pid: number }).pid;
    throw new ControlError('EBUSY', `another sysmaster core (pid ${pid}) is running on ${paths.dir}: stop it, or use another --state-dir`);
  }
  if (!opts.fds) setChildSubreaper(); // under init, init is the subreaper
  const daemon = new Daemon(paths, process.env, opts.sink ?? null);
  const gone = opts.state ? daemon.restore(opts.state) : [];
  const reaper = new Reaper();
  reaper.on('exit', (info) => daemon.effects.reaped(info));
  reaper.start();
  spawnOffThread(true); // services are posix_spawn'ed on libuv's pool: the loop is not blocked per spawn
  const notify = opts.fds ? NotifySocket.fromFd(opts.fds.notify) : NotifySocket.open(paths.notify);
  notify.on('message', (m) => daemon.effects.notify(m));
  const server = new ControlServer(methods(daemon, {
      exit: (code, action) => opts.onExit?.(code, action),
      reexec: opts.onReexec ?? null,
      init: opts.fds ? process.ppid : null,
    }), admit);
  if (opts.fds) await server.adopt(opts.fds.control);
  else await server.listen(paths.control, 0o600);
  fs.writeFileSync(paths.lock, `${process.pid}\n`, { mode: 0o600 });
  return {
    daemon,
    gone,
    async close() {
      await server.close();
      notify.close();
      reaper.stop();
      daemon.close();
      // Under init the sockets are init's: the next core serves them.
      for (const f of opts.fds ? [paths.lock] : [paths.lock, paths.notify]) fs.rmSync(f, { force: true });
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
