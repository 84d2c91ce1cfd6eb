// Symlinks in /dev that several devices may claim (disk/by-label/x for two disks): udev 252's stack directories
// (src/udev/udev-node.c). Each link has a directory `<runDir>/links/<link with '/' as \x2f>` where every device that
// wants it keeps an entry named by its device id, a symlink whose target is `<priority>:<devnode>`; the link in /dev
// points at the entry with the highest priority, and goes when the last entry goes. Only the daemon's main thread
// touches them, so no locking.
import fs from 'node:fs';
import path from 'node:path';

const escape = (link: string) => link.replaceAll('\\', '\\x5c').replaceAll('/', '\\x2f');

export class LinkStacks {
  constructor(
    /** `<runDir>/links`. */
    readonly dir: string,
    /** The /dev the links are made in. */
    readonly devDir: string,
  ) {}

  /** The device `id` (node `devnode`) claims `link` (relative to /dev) with `priority`; returns a warning or null. */
  claim(link: string, id: string, devnode: string, priority: number): string | null {
    const stack = path.join(this.dir, escape(link));
    fs.mkdirSync(stack, { recursive: true, mode: 0o755 });
    const entry = path.join(stack, id);
    const tmp = `${entry}.tmp${process.pid}`;
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(`${priority}:${devnode}`, tmp);
    fs.renameSync(tmp, entry);
    return this.settle(link, stack, id);
  }

  /** The device `id` gives up `link`. */
  release(link: string, id: string): string | null {
    const stack = path.join(this.dir, escape(link));
    fs.rmSync(path.join(stack, id), { force: true });
    return this.settle(link, stack);
  }

  /** Points the link at the stack's best entry (a tie goes to `preferred`, the device being processed). */
  private settle(link: string, stack: string, preferred?: string): string | null {
    let best: { priority: number; devnode: string } | undefined;
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(stack);
    } catch {
      // no stack: nobody claims the link
    }
    for (const id of entries) {
      let target: string;
      try {
        target = fs.readlinkSync(path.join(stack, id));
      } catch {
        continue;
      }
      const colon = target.indexOf(':');
      const priority = Number(target.slice(0, colon));
      const devnode = target.slice(colon + 1);
      if (!best || priority > best.priority || (priority === best.priority && id === preferred)) best = { priority, devnode };
    }
    const where = path.join(this.devDir, link);
    if (!best) {
      if (entries.length === 0) fs.rmSync(stack, { recursive: true, force: true });
      return this.unlink(where);
    }
    return this.point(where, best.devnode);
  }

  private point(where: string, devnode: string): string | null {
    const target = path.relative(path.dirname(where), devnode);
    try {
      const st = fs.lstatSync(where);
      if (!st.isSymbolicLink()) return `${where} exists and is not a symlink; leaving it and not linking it to ${devnode}`;
      if (fs.readlinkSync(where) === target) return null;
    } catch {
      // absent: made below
    }
    fs.mkdirSync(path.dirname(where), { recursive: true, mode: 0o755 });
    const tmp = `${where}.tmp-devmaster${process.pid}`;
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(target, tmp);
    fs.renameSync(tmp, where);
    return null;
  }

  private unlink(where: string): string | null {
    try {
      if (!fs.lstatSync(where).isSymbolicLink()) return null;
    } catch {
      return null;
    }
    fs.rmSync(where, { force: true });
    // Empty directories the links lived in go too (disk/by-id), up to /dev, as udev's rmdir_parents does.
    for (let dir = path.dirname(where); dir.startsWith(this.devDir + '/'); dir = path.dirname(dir)) {
      try {
        fs.rmdirSync(dir);
      } catch {
        break;
      }
    }
    return null;
  }
}
