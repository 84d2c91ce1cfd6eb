// What a kill -9 does to the peers' services (issue 9): each brings the workload up as in its run, in its own PID
// namespace; then the processes that hold its supervision state are killed with SIGKILL, and we count, once the
// service count has stopped changing, the payloads from before that still run and the copies running in all.
// s6 and runit keep that state in one supervisor per service (s6-supervise, runsv): a new one does not know the
// running service and starts a second copy. supervisord keeps it in itself, and is PID 1: the namespace ends.
import fs from 'node:fs';
import path from 'node:path';
import { stateTmp } from '../dirs.js';
import { cleanEnv, cmdline, payloadPids, processTree, signal, startNamespaced, waitFor } from './measure.js';
import { writeServiceDir } from './runit.js';
import { writeScanDir } from './s6.js';
import { config } from './supervisord.js';
import { endNamespace } from './teardown.js';
import type { CrashResult, Workload } from './types.js';

const UP_TIMEOUT_MS = 300_000;
/**
 * The copies are counted once their number has not changed for this long: longer than runsvdir's 5 s between two
 * scans of its directory (a dead runsv is replaced at the next scan), and a supervisor's 1 s between two tries.
 */
const STABLE_MS = 7000;
const SETTLE_MAX_MS = 60_000;

interface Setup {
  command: string;
  args: string[];
  /** Which processes to kill: those whose command line starts with this, or PID 1 itself (null). */
  victims: string | null;
  killed: string;
}

const setups: Record<string, (dir: string, w: Workload, marker: string) => Setup> = {
  s6: (dir, w, marker) => {
    writeScanDir(dir, w, marker);
    return { command: 's6-svscan', args: ['-c', String(Math.max(1000, 2 * w.units.length)), dir], victims: 's6-supervise ', killed: 'every s6-supervise (kill -9)' };
  },
  runit: (dir, w, marker) => {
    writeServiceDir(dir, w, marker);
    return { command: 'runsvdir', args: [dir], victims: 'runsv ', killed: 'every runsv (kill -9)' };
  },
  supervisord: (dir, w, marker) => {
    const conf = path.join(dir, 'supervisord.conf');
    fs.writeFileSync(conf, config(dir, w, marker));
    return { command: 'supervisord', args: ['-n', '-c', conf], victims: null, killed: 'supervisord, PID 1 of its namespace (kill -9)' };
  },
};

/** The payloads running once their number has stopped changing (or after a minute, whatever runs then). */
export async function settled(marker: string): Promise<Set<number>> {
  let last = -1;
  let since = performance.now();
  await waitFor(
    'the number of payloads to settle',
    () => {
      const n = payloadPids(marker).length;
      if (n !== last) [last, since] = [n, performance.now()];
      return performance.now() - since >= STABLE_MS;
    },
    SETTLE_MAX_MS,
    100,
  ).catch(() => {});
  return new Set(payloadPids(marker));
}

export function crashProbe(name: keyof typeof setups): (w: Workload, marker: string) => Promise<CrashResult> {
  return async (w, marker) => {
    const { dir } = stateTmp();
    const setup = setups[name](dir, w, marker);
    const ns = startNamespaced(setup.command, setup.args, cleanEnv(), dir);
    try {
      await waitFor(`all ${w.units.length} payloads running`, () => payloadPids(marker).length >= w.units.length, UP_TIMEOUT_MS, 20);
      const pid1 = await ns.pid1;
      const before = payloadPids(marker);
      const victims = setup.victims === null ? [pid1] : processTree(pid1).filter((pid) => cmdline(pid).startsWith(setup.victims!));
      for (const pid of victims) signal(pid, 'SIGKILL');
      const now = await settled(marker);
      return { killed: setup.killed, recoveryMs: null, services: w.units.length, kept: before.filter((pid) => now.has(pid)).length, copies: now.size };
    } finally {
      await endNamespace(ns, marker);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}
