// OPTIONS+="watch": a device node closed after a write (a partitioning tool, mkfs) makes the kernel send a `change`
// for the device, as udevd does it (udev-watch.c): inotify IN_CLOSE_WRITE on the node, then "change" written to the
// device's uevent file. Each event ends the watch of its device and starts it again only if the rules still ask.
import fs from 'node:fs';
import path from 'node:path';
import { IN, Inotify } from '../reconciler/inotify.js';

export class NodeWatch {
  private readonly inotify: Inotify;
  private readonly byDevpath = new Map<string, number>();
  private readonly byWd = new Map<number, string>();

  constructor(
    private readonly sysDir: string,
    warn: (w: string) => void,
  ) {
    this.inotify = new Inotify((events) => {
      for (const e of events) {
        const devpath = this.byWd.get(e.wd);
        if (!devpath || !(e.mask & IN.CLOSE_WRITE)) continue;
        try {
          fs.writeFileSync(path.join(this.sysDir, devpath, 'uevent'), 'change');
        } catch (err) {
          warn(`${devpath}: closed after a write, but cannot ask for its change event: ${(err as Error).message}`);
        }
      }
    });
  }

  /** After an event of the device: watch `devnode` when the rules said so (and the device is not gone). */
  update(devpath: string, devnode: string | undefined, watch: boolean): void {
    const wd = this.byDevpath.get(devpath);
    if (wd !== undefined) {
      this.inotify.remove(wd);
      this.byDevpath.delete(devpath);
      this.byWd.delete(wd);
    }
    if (!watch || !devnode) return;
    const added = this.inotify.add(devnode, IN.CLOSE_WRITE);
    if (added === null) return; // no node (yet): nothing to watch, as udev skips it
    this.byDevpath.set(devpath, added);
    this.byWd.set(added, devpath);
  }

  close(): void {
    this.inotify.close();
  }
}
