// Exactly-once delivery, init's half: every exit init reaps and every sd_notify datagram it reads gets the next seq
// and stays here until a core acknowledges it (once its effect is durable); a new core gets all of them again and
// drops those it has applied already.
import type { ForwardedEvent } from './protocol.js';

/** Beyond this, a core that never acknowledges would grow init without bound: the oldest events are dropped. */
const MAX_UNACKED = 65_536;

/** An event as init observed it, before it is numbered. */
export type Observed = ForwardedEvent extends infer E ? (E extends ForwardedEvent ? Omit<E, 'seq' | 'time'> : never) : never;

export class Ledger {
  private seq = 0;
  private readonly unacked = new Map<number, ForwardedEvent>();

  /** Numbers `event`; returns it as forwarded and, if some had to go, how many old ones were dropped. */
  add(event: Observed, now = Date.now()): { event: ForwardedEvent; dropped: number } {
    const numbered = { ...event, seq: ++this.seq, time: now } as ForwardedEvent;
    this.unacked.set(numbered.seq, numbered);
    let dropped = 0;
    for (const seq of this.unacked.keys()) {
      if (this.unacked.size <= MAX_UNACKED) break;
      this.unacked.delete(seq);
      dropped++;
    }
    return { event: numbered, dropped };
  }

  ack(seq: number): void {
    this.unacked.delete(seq);
  }

  /** In seq order: a Map iterates in insertion order. */
  pending(): ForwardedEvent[] {
    return [...this.unacked.values()];
  }
}
