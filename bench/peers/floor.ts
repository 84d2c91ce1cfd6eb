// The floor (issue 9): the same payloads spawned directly by a plain loop, bench/direct.ts, as PID 1 of its own PID
// namespace. It counts READY=1 on a notify socket and honours no dependencies: nothing can bring the services up
// faster than this on this machine, so every manager's time is read against it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stateTmp } from '../dirs.js';
import {
  cleanEnv,
  cpuMs,
  memoryKb,
  notifyPrerequisites,
  payloadsGone,
  signal,
  since,
  startNamespaced,
  waitFor,
} from './measure.js';
import { endNamespace } from './teardown.js';
import type { Manager, RunResult, Workload } from './types.js';
import { payloadScript } from './workloads.js';

const direct = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../direct.js');
const READY = 'systemd-notify --ready';

export const manager: Manager = {
  name: 'floor (a plain spawn loop)',
  readiness: 'READY=1 from `systemd-notify --ready`, counted on a notify socket',
  dependencies: 'none: every payload spawned at once',

  async prepare() {
    return (
      notifyPrerequisites() ??
      (fs.existsSync(direct) ? null : `${direct} is not built (npm run build)`)
    );
  },

  async run(w: Workload, marker: string): Promise<RunResult> {
    const { dir } = stateTmp();
    const t0 = performance.now();
    // The launcher's command line carries the payload, marker included: those two processes are not payloads.
    const ns = startNamespaced(process.execPath, [direct, path.join(dir, 'notify.sock'), String(w.units.length), payloadScript(READY, marker)], cleanEnv());
    try {
      const tReady = await ns.untilOutput(/^ready$/m, 300_000);
      const readyMs = tReady - t0;
      const pid1 = await ns.pid1;
      // The floor's "manager" is the loop's one process: its children are all payloads.
      const { rssKb, pssKb } = memoryKb([pid1]);
      const cpu = cpuMs([pid1]);
      const t1 = performance.now();
      signal(pid1, 'SIGTERM');
      await payloadsGone(marker, 60_000, [ns.child.pid!, pid1]);
      const stopMs = since(t1);
      await waitFor('the loop to exit', () => ns.child.exitCode !== null || ns.child.signalCode !== null, 10_000);
      return { readyMs, stopMs, rssKb, pssKb, cpuMs: cpu };
    } finally {
      await endNamespace(ns, marker);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
