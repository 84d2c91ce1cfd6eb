// Ending a peer's PID namespace whatever state a run left it in (issue 9): the namespace's PID 1 is SIGKILLed, which
// makes the kernel kill every process in it, then unshare itself, then any payload that somehow got out.
import { childrenOf, killPayloads, signal, type Namespaced } from './measure.js';

const running = (ns: Namespaced) => ns.child.exitCode === null && ns.child.signalCode === null;

/** SIGKILLs the namespace's PID 1 (every child of unshare), waits up to 5 s for unshare to exit, then kills the rest. */
export async function endNamespace(ns: Namespaced, marker: string): Promise<void> {
  if (running(ns) && ns.child.pid) {
    for (const pid of childrenOf(ns.child.pid)) if (pid > 1) signal(pid, 'SIGKILL');
    await Promise.race([ns.exited, new Promise((r) => setTimeout(r, 5000))]);
    if (running(ns)) signal(ns.child.pid, 'SIGKILL');
  }
  killPayloads(marker);
}
