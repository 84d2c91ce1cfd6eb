// Reaps the children libuv does not know: orphans reparented to us (PID 1 or a subreaper) and processes we did
// not start through child_process. libuv reaps only its own children (libuv#4179), so without this they stay
// zombies. child_process children are left to libuv, which then emits their ChildProcess 'exit'; children whose
// spawner asked for their exit (expectExit: spawn.ts's posix_spawn path) get it delivered instead of an 'exit' event.
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

/** Children whose exit goes to their spawner, not to 'exit' listeners. */
const watched = new Map<number, (info: ExitInfo) => void>();
/** Spawns whose pid is not known yet: while there are any, exits nobody watched are kept in `unclaimed`. */
let expecting = 0;
/** Such exits, numbered in reaping order: one of them may be a child whose spawn has not returned its pid yet. */
const unclaimed = new Map<number, { info: ExitInfo; seq: number }>();
let seq = 0;
/** Started Reapers: children spawned through expectExit are only reaped while there is one. */
let started = 0;

/** Whether a started Reaper will reap (and so deliver) the exits expectExit asks for. */
export function reaperRunning(): boolean {
  return started > 0;
}

export interface ExpectedExit {
  /** The spawn returned `pid`: its exit goes to `onExit`, at once if it was already reaped. */
  watch(pid: number, onExit: (info: ExitInfo) => void): void;
  /** The spawn failed: no child to watch. */
  cancel(): void;
}

/**
 * Call right before starting a child the Reaper is to reap for you (spawn.ts's posix_spawn), and `watch` once its
 * pid is known. When that is later, on another thread, the child may exit and be reaped before `watch` is called:
 * its exit is then kept (and emitted as an unknown 'exit' too, which no owner claims yet) for `watch` to find.
 * Only exits reaped after this call can be claimed, so an older exit of a reused pid is not; a pid reused within
 * one spawn (pid_max, 32768 here, cycled in milliseconds) would fool it.
 */
export function expectExit(): ExpectedExit {
  expecting++;
  const since = seq;
  let open = true;
  const settle = () => {
    if (!open) return false;
    open = false;
    if (--expecting === 0) unclaimed.clear();
    return true;
  };
  return {
    watch(pid, onExit) {
      const early = unclaimed.get(pid);
      if (!settle()) return;
      if (early && early.seq > since) {
        unclaimed.delete(pid);
        onExit(early.info);
      } else {
        watched.set(pid, onExit);
      }
    },
    cancel: () => void settle(),
  };
}

export interface ReaperEvents {
  exit: [ExitInfo];
}

/**
 * Emits 'exit' for every child it reaps, except those expectExit watches. `process.on('SIGCHLD')` does not keep
 * the event loop alive: whoever runs the Reaper keeps the loop alive some other way (a server, the notify socket).
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
    started++;
    process.on('SIGCHLD', this.onSignal);
    onRelease.add(this.onLibuvReaped);
    this.reapAll(); // children that exited before we listened sent their SIGCHLD already
  }

  /** Exits expectExit asked for wait (as zombies) until a Reaper runs again: stop the last one only at the end. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    started--;
    process.off('SIGCHLD', this.onSignal);
    onRelease.delete(this.onLibuvReaped);
  }

  /**
   * One pass: reap every exited child that is not libuv's. Returns how many it reaped.
   * waitid(P_ALL) reports exited children in the kernel's order: when the next one is a libuv child, the pass
   * stops (reaping past it is impossible without consuming it) and resumes once libuv has reaped it.
   * A child reaped by someone else between peek and wait (glibc's posix_spawn waits for a child whose exec failed)
   * is skipped.
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
      if (raw === null) continue;
      n++;
      const info = { pid: next.pid, ...decodeStatus(raw) };
      const onExit = watched.get(info.pid);
      if (onExit) {
        watched.delete(info.pid);
        onExit(info);
        continue;
      }
      if (expecting > 0) unclaimed.set(info.pid, { info, seq: ++seq });
      this.emit('exit', info);
    }
  }
}
