// The event queue's ordering rule, udev's event_is_blocked(): an event waits while an earlier one (queued or running)
// concerns the same device or a parent or child of it (by devpath, by the old devpath of a `move`, by devnum or
// ifindex). Everything else runs in parallel. Pure: the daemon feeds it and runs what `take` hands out.
//
// udev rescans the whole queue for each free worker, which is quadratic in a burst (2,000 events of one device:
// 2.4 s here). Instead each event, when queued, waits for the latest pending event under each of its keys: that one
// itself waited for every earlier event under the key, so the chain stands for all of them. An event is ready once
// the events it waits for are done.

export interface QueuedEvent {
  seqnum: number;
  devpath: string;
  /** DEVPATH_OLD of a `move`. */
  devpathOld?: string;
  /** `b8:0` / `c1:3`, when the device has a node. */
  devnum?: string;
  ifindex?: string;
}

interface Node<E> {
  e: E;
  /** How many pending events it still waits for. */
  waits: number;
  /** Events waiting for it. */
  waiters: Node<E>[];
}

/** `/a/b/c` → `/a/b/c`, `/a/b`, `/a`. */
function* selfAndParents(devpath: string): Generator<string> {
  for (let p = devpath; p.length > 1; p = p.slice(0, p.lastIndexOf('/'))) yield p;
}

const pathsOf = (e: QueuedEvent) => (e.devpathOld ? [e.devpath, e.devpathOld] : [e.devpath]);
const numbersOf = (e: QueuedEvent) => [e.devnum, e.ifindex && `n${e.ifindex}`].filter((k): k is string => !!k);

export class EventQueue<E extends QueuedEvent> {
  private readonly nodes = new Map<E, Node<E>>();
  /** The latest pending event on each devpath. */
  private readonly latest = new Map<string, Node<E>>();
  /** For each path, the latest pending event of every devpath at or below it. */
  private readonly under = new Map<string, Map<string, Node<E>>>();
  /** The latest pending event with each devnum or ifindex. */
  private readonly numbered = new Map<string, Node<E>>();
  /** Ready to run, in seqnum order. */
  private ready: Node<E>[] = [];

  get size(): number {
    return this.nodes.size;
  }

  get idle(): boolean {
    return this.nodes.size === 0;
  }

  push(e: E): void {
    const node: Node<E> = { e, waits: 0, waiters: [] };
    const blockers = new Set<Node<E>>();
    for (const p of pathsOf(e)) {
      for (const a of selfAndParents(p)) {
        const b = this.latest.get(a); // on it, or on a parent
        if (b) blockers.add(b);
      }
      for (const b of this.under.get(p)?.values() ?? []) blockers.add(b); // on a child
    }
    for (const k of numbersOf(e)) {
      const b = this.numbered.get(k);
      if (b) blockers.add(b);
    }
    for (const b of blockers) b.waiters.push(node);
    node.waits = blockers.size;
    for (const p of pathsOf(e)) {
      this.latest.set(p, node);
      for (const a of selfAndParents(p)) {
        let m = this.under.get(a);
        if (!m) this.under.set(a, (m = new Map()));
        m.set(p, node);
      }
    }
    for (const k of numbersOf(e)) this.numbered.set(k, node);
    this.nodes.set(e, node);
    if (node.waits === 0) this.makeReady(node);
  }

  /** Up to `max` events that may start now, in seqnum order; they count as pending until done(). */
  take(max: number): E[] {
    return max > 0 ? this.ready.splice(0, max).map((n) => n.e) : [];
  }

  done(e: E): void {
    const node = this.nodes.get(e);
    if (!node) return;
    this.nodes.delete(e);
    for (const p of pathsOf(e)) {
      if (this.latest.get(p) === node) this.latest.delete(p);
      for (const a of selfAndParents(p)) {
        const m = this.under.get(a);
        if (m?.get(p) !== node) continue;
        m.delete(p);
        if (!m.size) this.under.delete(a);
      }
    }
    for (const k of numbersOf(e)) if (this.numbered.get(k) === node) this.numbered.delete(k);
    for (const w of node.waiters) if (--w.waits === 0) this.makeReady(w);
  }

  private makeReady(node: Node<E>): void {
    // Mostly appended: events become ready about in the order they came.
    let i = this.ready.length;
    while (i > 0 && this.ready[i - 1].e.seqnum > node.e.seqnum) i--;
    this.ready.splice(i, 0, node);
  }
}
