// The sockets that must outlive any one core. init creates them and keeps them open. It reads the notify socket
// itself (datagrams reach the core through its ledger) and never accepts on the control socket, which each core
// inherits. What arrives while no core runs (a connection, a READY=1) waits in the kernel or in init.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { statePaths } from '../reconciler/paths.js';
import { bindNotifySocket } from '../reconciler/notify.js';
import { bindUnix, closeFd, listen } from '../reconciler/sys.js';
import { unixStreamSocket } from './sys.js';

export interface InitSockets {
  control: number;
  notify: number;
}

/** Another manager serves this state directory. */
export class BusyError extends Error {
  override readonly name = 'BusyError';
  readonly code = 'EBUSY';
}

// Bursts of READY=1 from many services at once must queue, not block or fail the senders.
const DGRAM_QLEN = 512;
const QLEN_SYSCTL = '/proc/sys/net/unix/max_dgram_qlen';
const BACKLOG = 1024; // a burst of clients while no core accepts (capped by net.core.somaxconn)

/** Creates both sockets in `dir`, replacing stale ones; refuses when something still listens on control.sock. */
export async function openSockets(dir: string): Promise<InitSockets> {
  // 0711: services running as other users reach notify.sock by its name; nobody else lists the directory.
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o711);
  const paths = statePaths(dir);
  const other = await listening(paths.control);
  if (other) throw new BusyError(`another sysmaster (pid ${other}) serves ${dir}: stop it, or use another --state-dir`);
  raiseDgramQueue();
  const notify = bindNotifySocket(paths.notify, false);
  try {
    return { control: controlSocket(paths.control), notify };
  } catch (err) {
    closeFd(notify);
    throw err;
  }
}

/** Whether a core answers on the socket: the pid to name (its init's, else its own), or null when none does. */
function listening(socketPath: string): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    let buf = '';
    const done = (v: string | null) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done('unknown'));
    s.once('connect', () => s.write('{"id":1,"method":"ping"}\n'));
    s.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        const r = (JSON.parse(buf.slice(0, nl)) as { result?: { init?: number | null; pid?: number } }).result;
        done(String(r?.init ?? r?.pid ?? 'unknown'));
      } catch {
        done('unknown');
      }
    });
    s.once('error', () => done(null));
    s.once('end', () => done('unknown'));
  });
}

/** The queue length is latched when a socket is created, so this comes first. Read-only in most containers. */
function raiseDgramQueue(): void {
  try {
    if (Number(readFileSync(QLEN_SYSCTL, 'utf8')) < DGRAM_QLEN) writeFileSync(QLEN_SYSCTL, `${DGRAM_QLEN}\n`);
  } catch {
    // keep the kernel's limit: senders then wait when more than that many datagrams queue up
  }
}


function controlSocket(socketPath: string): number {
  rmSync(socketPath, { force: true });
  const fd = unixStreamSocket();
  // Created 0600, never wider for an instant: the control socket is root's (or its user's) alone.
  const umask = process.umask(0o177);
  try {
    bindUnix(fd, socketPath);
    listen(fd, BACKLOG);
  } catch (err) {
    closeFd(fd);
    throw err;
  } finally {
    process.umask(umask);
  }
  return fd;
}
