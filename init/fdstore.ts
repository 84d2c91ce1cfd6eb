// The fd store (systemd's FDSTORE=1): descriptors the core deposits with init so they outlive it, above all the
// listening sockets of socket units, whose waiting clients must not be lost with a core. Each new core gets them
// all back at start, as fds 6, 7, ... named in SYSMASTER_STORED (init/protocol.ts: storedFds(), deposit()).
import { rmSync } from 'node:fs';
import { bindNotifySocket } from '../reconciler/notify.js';
import { closeFd, DatagramReceiver, pollReadable, type PollWatch } from '../reconciler/sys.js';
import { log } from './log.js';

/** Like systemd's FileDescriptorStoreMax= ceiling: a core that leaks fds into the store cannot exhaust init's. */
const MAX_FDS = 1024;

export class FdStore {
  private readonly stored = new Map<string, number[]>();
  private readonly receiver: DatagramReceiver;
  private readonly watch: PollWatch;

  /** Reads deposits on the socket at `path`, from the process `sender()` names (the current core) only. */
  constructor(
    private readonly path: string,
    private readonly sender: () => number | null,
  ) {
    const fd = bindNotifySocket(path, true, 0o600);
    this.receiver = new DatagramReceiver(fd);
    this.watch = pollReadable(fd, () => this.drain());
  }

  /** Every stored fd in order, with its name, for the next core's stdio and SYSMASTER_STORED. */
  contents(): { name: string; fd: number }[] {
    return [...this.stored].flatMap(([name, fds]) => fds.map((fd) => ({ name, fd })));
  }

  close(): void {
    this.watch.close();
    closeFd(this.receiver.fd);
    this.receiver.free();
    rmSync(this.path, { force: true });
    for (const { fd } of this.contents()) closeFd(fd);
    this.stored.clear();
  }

  private drain(): void {
    for (;;) {
      let d;
      try {
        d = this.receiver.receive();
      } catch {
        return; // not the sender's doing; the next readiness callback retries
      }
      if (!d) return;
      const fields = new Map(d.data.toString().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const name = fields.get('FDNAME') || 'stored';
      if (d.pid !== this.sender()) {
        log(`fd store: ignoring a message from pid ${d.pid}, which is not the core`);
        d.fds.forEach(closeFd);
      } else if (fields.get('FDSTOREREMOVE') === '1') {
        this.stored.get(name)?.forEach(closeFd);
        this.stored.delete(name);
        d.fds.forEach(closeFd);
      } else if (fields.get('FDSTORE') === '1') {
        const room = MAX_FDS - this.contents().length;
        if (d.fds.length > room) log(`fd store: full (${MAX_FDS} fds), ${d.fds.length - room} of "${name}" closed`);
        d.fds.slice(room).forEach(closeFd);
        if (room > 0) this.stored.set(name, [...(this.stored.get(name) ?? []), ...d.fds.slice(0, room)]);
      } else d.fds.forEach(closeFd);
    }
  }
}
