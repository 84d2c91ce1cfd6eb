// The event queue's ordering rule, udev's event_is_blocked(): an event waits while an earlier one (queued or running)
// concerns the same device or a parent or child of it (by devpath, by the old devpath of a `move`, by devnum or
// ifindex). Everything else runs in parallel. Pure: the daemon feeds it and runs what `take` hands out.

export interface QueuedEvent {
  seqnum: number;
  devpath: string;
  /** DEVPATH_OLD of a `move`. */
  devpathOld?: string;
  /** `b8:0` / `c1:3`, when the device has a node. */
  devnum?: string;
  ifindex?: string;
}

/** `/a/b/c` → `/a/b/c`, `/a/b`, `/a`. */
function* selfAndParents(devpath: string): Generator<string> {
  for (let p = devpath; p.length > 1; p = p.slice(0, p.lastIndexOf('/'))) yield p;
}

export class EventQueue<E extends QueuedEvent> {
  private waiting: E[] = [];
  private readonly running = new Set<E>();

  get size(): number {
    return this.waiting.length + this.running.size;
  }

  get idle(): boolean {
    return this.size === 0;
  }

  push(e: E): void {
    this.waiting.push(e);
  }

  /** Up to `max` events that may start now, in seqnum order; they count as running until done(). */
  take(max: number): E[] {
    if (max <= 0 || !this.waiting.length) return [];
    // What earlier events hold: devpaths exactly, every ancestor of them (so a parent sees its children), numbers.
    const exact = new Set<string>();
    const below = new Set<string>();
    const numbers = new Set<string>();
    const hold = (e: E) => {
      for (const p of [e.devpath, e.devpathOld]) {
        // A devpath already held has its parents in `below`: a burst on one device costs one lookup per event.
        if (!p || exact.has(p)) continue;
        exact.add(p);
        for (const a of selfAndParents(p)) below.add(a);
      }
      if (e.devnum) numbers.add(e.devnum);
      if (e.ifindex) numbers.add(`n${e.ifindex}`);
    };
    const blocked = (e: E) => {
      for (const p of [e.devpath, e.devpathOld]) {
        if (!p) continue;
        if (below.has(p)) return true; // an earlier event on it or on a child
        for (const a of selfAndParents(p)) if (exact.has(a)) return true; // on a parent
      }
      return (!!e.devnum && numbers.has(e.devnum)) || (!!e.ifindex && numbers.has(`n${e.ifindex}`));
    };
    for (const e of this.running) hold(e);
    const out: E[] = [];
    const rest: E[] = [];
    for (const e of this.waiting) {
      if (out.length < max && !blocked(e)) {
        out.push(e);
        this.running.add(e);
      } else rest.push(e);
      hold(e);
    }
    this.waiting = rest;
    return out;
  }

  done(e: E): void {
    this.running.delete(e);
  }
}
