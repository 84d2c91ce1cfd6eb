// Exactly-once exit delivery, init's half: every reaped exit gets the next seq and stays here until a core
// acknowledges it; a new core gets all of them again and drops those it has applied already.
import type { ForwardedExit } from './protocol.js';

/** Beyond this, a core that never acknowledges would grow init without bound: the oldest exits are dropped. */
const MAX_UNACKED = 65_536;

export class ExitLedger {
  private seq = 0;
  private readonly unacked = new Map<number, ForwardedExit>();

  /** Numbers `info`; returns the exit to forward and, if one had to go, how many old ones were dropped. */
  add(info: Omit<ForwardedExit, 'seq' | 'time'>, now = Date.now()): { exit: ForwardedExit; dropped: number } {
    const exit = { seq: ++this.seq, pid: info.pid, code: info.code, signal: info.signal, core: info.core, time: now };
    this.unacked.set(exit.seq, exit);
    let dropped = 0;
    for (const seq of this.unacked.keys()) {
      if (this.unacked.size <= MAX_UNACKED) break;
      this.unacked.delete(seq);
      dropped++;
    }
    return { exit, dropped };
  }

  ack(seq: number): void {
    this.unacked.delete(seq);
  }

  /** In seq order: a Map iterates in insertion order. */
  pending(): ForwardedExit[] {
    return [...this.unacked.values()];
  }
}
