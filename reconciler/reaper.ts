// Reaps the children libuv does not know: orphans reparented to us (PID 1 or a subreaper) and processes we did
// not start through child_process. libuv reaps only its own children (libuv#4179), so without this they stay
// zombies. child_process children are left to libuv, which then emits their ChildProcess 'exit'.
//
// Run one started Reaper per process, on the main thread only: spawnSync is safe next to it only because it
// blocks the thread the SIGCHLD handler runs on.
import { EventEmitter } from 'node:events';
import { ChildProcess } from 'node:child_process';
import type { ExitInfo } from '../machines/types.js';
import { decodeStatus, reap, waitidPeek } from './sys.js';

/** Pids child_process spawned and libuv has not reaped yet. */
const owned = new Set<number>();
/** Called when libuv reaps one of them: a pass that stopped at it can go on. */
const onRelease = new Set<() => void>();

// The pid must be in `owned` synchronously after spawn(): a SIGCHLD handled in between would steal the exit
// status from libuv, and that ChildProcess would never emit 'exit'. Wrapping the prototype covers spawn, exec,
// execFile and fork, and it happens at import so no child spawned after loading this module is missed.
// ChildProcess.prototype.spawn is internal to Node, hence untyped.
const proto = ChildProcess.prototype as unknown as { spawn: (this: ChildProcess, ...args: unknown[]) => unknown };
const originalSpawn = proto.spawn;
proto.spawn = function (this: ChildProcess, ...args: unknown[]) {
  const result = originalSpawn.apply(this, args);
  const pid = this.pid;
  if (typeof pid === 'number') {
    owned.add(pid);
    // libuv emits 'exit' synchronously from the callback in which it reaped the pid.
    this.once('exit', () => {
      owned.delete(pid);
      for (const f of onRelease) f();
    });
  }
  return result;
};

/** Whether libuv (child_process) owns this pid's exit status. */
export function isLibuvChild(pid: number): boolean {
  return owned.has(pid);
}

export interface ReaperEvents {
  exit: [ExitInfo];
}

/**
 * Emits 'exit' for every child it reaps. `process.on('SIGCHLD')` does not keep the event loop alive: whoever
 * runs the Reaper keeps the loop alive some other way (a server, the notify socket).
 */
export class Reaper extends EventEmitter<ReaperEvents> {
  private running = false;
  /** The last pass stopped at a libuv child that has exited but was not reaped yet. */
  private blocked = false;
  private readonly onSignal = () => this.reapAll();
  private readonly onLibuvReaped = () => {
    if (!this.blocked || !this.running) return;
    this.blocked = false;
    setImmediate(() => this.running && this.reapAll());
  };

  start(): void {
    if (this.running) return;
    this.running = true;
    process.on('SIGCHLD', this.onSignal);
    onRelease.add(this.onLibuvReaped);
    this.reapAll(); // children that exited before we listened sent their SIGCHLD already
  }

  stop(): void {
    this.running = false;
    process.off('SIGCHLD', this.onSignal);
    onRelease.delete(this.onLibuvReaped);
  }

  /**
   * One pass: reap every exited child that is not libuv's. Returns how many it reaped.
   * waitid(P_ALL) reports exited children in the kernel's order: when the next one is a libuv child, the pass
   * stops (reaping past it is impossible without consuming it) and resumes once libuv has reaped it.
   */
  reapAll(): number {
    let n = 0;
    for (;;) {
      const next = waitidPeek();
      if (!next) return n;
      if (owned.has(next.pid)) {
        this.blocked = true;
        return n;
      }
      const raw = reap(next.pid);
      if (raw === null) return n; // someone else reaped it between peek and wait
      n++;
      this.emit('exit', { pid: next.pid, ...decodeStatus(raw) });
    }
  }
}
