// Kernel uevents, as udevd receives them: `ACTION@DEVPATH\0KEY=VALUE\0...` datagrams on netlink group 1 from the
// kernel (netlink pid 0) only. On overflow (netlink.ts) the caller rescans /sys, as udev does.
import { KERNEL_GROUP, NetlinkListener } from './netlink.js';

export interface Uevent {
  action: string;
  devpath: string;
  /** Every KEY=VALUE of the message (ACTION, DEVPATH, SUBSYSTEM, SEQNUM, ...). */
  properties: Record<string, string>;
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

/** The kernel's uevents; messages from anyone else (they may be forged) are dropped and counted. */
export class UeventListener {
  private readonly socket: NetlinkListener;
  dropped = 0;

  constructor(onEvent: (e: Uevent) => void, onOverflow: () => void = () => {}) {
    this.socket = new NetlinkListener(
      KERNEL_GROUP,
      (message, sender) => {
        const e = sender === 0 ? parseUevent(message) : null;
        if (e) onEvent(e);
        else this.dropped++;
      },
      onOverflow,
    );
  }

  close(): void {
    this.socket.close();
  }
}
