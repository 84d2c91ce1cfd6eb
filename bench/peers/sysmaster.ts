// sysmaster in the side-by-side benchmark (issue 9): bin/sysmaster-init.js as PID 1 of its own PID namespace
// (`unshare --pid --fork --mount-proc`), its state directory in a scratch directory on /dev/shm (where a host keeps
// /run), console off, the workload rendered as a spec of Type=notify services whose payload says READY=1 with
// `systemd-notify --ready` (bench/dag.ts's dagSpec). All ready: the core's job queue is empty and every unit is active,
// asked on the control socket (what `sctl list-jobs` and `sctl list-units` ask). Stopped: SIGTERM to init, to the last
// payload gone. Memory and CPU: init, the core and the log process (the tree under init, less the payloads).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from '../../reconciler/client.js';
import type { UnitInfo } from '../../reconciler/view.js';
import { stateTmp } from '../dirs.js';
import {
  childrenOf,
  cleanEnv,
  cmdline,
  managerUsage,
  notifyPrerequisites,
  payloadPids,
  payloadsGone,
  signal,
  since,
  startNamespaced,
  waitFor,
} from './measure.js';
import { settled } from './crash.js';
import { endNamespace } from './teardown.js';
import type { CrashResult, Manager, RunResult, Workload } from './types.js';
import { payloadScript } from './workloads.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const init = path.join(root, 'bin/sysmaster-init.js');
const READY = 'systemd-notify --ready';
const READY_TIMEOUT_MS = Number(process.env.BENCH_PEER_TIMEOUT_MS ?? 300_000);
/** How often the benchmark asks the core whether everything is up (each ask costs the core a little CPU). */
const POLL_MS = 25;

/** The workload as a sysmaster spec: Type=notify services, Requires= and After= per edge. */
export function sysmasterSpec(w: Workload, marker: string): string {
  const out = ['[manager]', 'DefaultTimeoutStartSec = "300s"', 'DefaultTimeoutStopSec = "30s"', ''];
  const exec = JSON.stringify(['/bin/sh', '-c', payloadScript(READY, marker)]);
  for (const u of w.units) {
    out.push(`[service.${u.name}]`, 'Type = "notify"', 'NotifyAccess = "all"', `ExecStart = ${exec}`);
    if (u.after.length) {
      const deps = JSON.stringify(u.after.map((a) => `${a}.service`));
      out.push(`Requires = ${deps}`, `After = ${deps}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** The workload's units as the core lists them (list-units, without the others it runs). */
async function workloadUnits(sock: string, names: Set<string>): Promise<UnitInfo[]> {
  const units = (await call(sock, 'list-units', {}, { retries: 0 })) as UnitInfo[];
  return units.filter((u) => names.has(u.name.replace(/\.service$/, '')));
}

/** Every unit of `w` active and no job left, as the core answers on its control socket; false while not (or no core yet). */
async function allReady(sock: string, names: Set<string>): Promise<boolean> {
  try {
    const jobs = (await call(sock, 'list-jobs', {}, { retries: 0 })) as unknown[];
    if (jobs.length) return false;
    const units = await workloadUnits(sock, names);
    const failed = units.find((u) => u.active === 'failed');
    if (failed) throw new Error(`${failed.name} failed`);
    return units.filter((u) => u.active === 'active').length === names.size;
  } catch (err) {
    if (err instanceof Error && /failed$/.test(err.message)) throw err;
    return false; // no core listening yet, or it is between two cores
  }
}

export const manager: Manager = {
  name: 'sysmaster',
  readiness: 'Type=notify: READY=1 from `systemd-notify --ready` on the notify socket',
  dependencies: 'Requires= + After= per edge (the core\'s transactions)',

  async prepare() {
    return (
      notifyPrerequisites() ??
      (fs.existsSync(path.join(root, 'dist/init/main.js')) ? null : 'sysmaster is not built (npm run build)')
    );
  },

  async run(w: Workload, marker: string): Promise<RunResult> {
    return up(w, marker, async ({ pid1, readyMs }) => {
      const { rssKb, pssKb, cpuMs } = managerUsage(pid1, marker);
      return { readyMs, rssKb, pssKb, cpuMs };
    });
  },

  async crash(w: Workload, marker: string): Promise<CrashResult> {
    return up(w, marker, async ({ pid1, sock, names }) => {
      const core = childrenOf(pid1).find((pid) => cmdline(pid).includes('reconciler/main.js'));
      if (!core) throw new Error('no core process under sysmaster-init');
      // The core answers with PIDs of the namespace; the payloads are counted with the host's, as for the peers.
      const before = await mainPids(sock, names);
      const running = payloadPids(marker);
      const t0 = performance.now();
      signal(core, 'SIGKILL');
      // Recovered: a new core answers, every unit active with the main PID it had before the kill.
      await waitFor('a new core with every unit as before', async () => {
        if (childrenOf(pid1).includes(core)) return false;
        const now = await mainPids(sock, names).catch(() => null);
        return now !== null && [...before].every(([u, pid]) => now.get(u) === pid);
      }, 60_000, 5);
      const recoveryMs = since(t0);
      const after = await settled(marker);
      const kept = running.filter((pid) => after.has(pid)).length;
      return { killed: 'the core (kill -9)', recoveryMs, services: names.size, kept, copies: after.size };
    });
  },
};

/** Each unit's main PID, when every one of them is active (else it rejects). */
async function mainPids(sock: string, names: Set<string>): Promise<Map<string, number | null>> {
  const units = await workloadUnits(sock, names);
  const down = units.find((u) => u.active !== 'active');
  if (down) throw new Error(`${down.name} is ${down.active}`);
  if (units.length !== names.size) throw new Error(`${units.length} of ${names.size} units`);
  return new Map(units.map((u) => [u.name.replace(/\.service$/, ''), u.mainPid]));
}

/**
 * sysmaster-init on the workload, in its own PID namespace: once every unit is ready, `measure` runs; then SIGTERM to
 * init, timed to the last payload gone. The stop time joins what `measure` returns.
 */
async function up<T extends object>(
  w: Workload,
  marker: string,
  measure: (at: { pid1: number; sock: string; names: Set<string>; readyMs: number }) => Promise<T>,
): Promise<T & { stopMs: number }> {
  const { dir } = stateTmp();
  const state = path.join(dir, 'state');
  const spec = path.join(dir, 'spec.toml');
  fs.writeFileSync(spec, sysmasterSpec(w, marker));
  const names = new Set(w.units.map((u) => u.name));
  const sock = path.join(state, 'control.sock');
  // Run as users run it: the bin itself, with the node flags of its #! line.
  const t0 = performance.now();
  const ns = startNamespaced(init, ['--state-dir', state, '--spec', spec, '--console', 'off'], cleanEnv());
  try {
    await waitFor(
      `all ${names.size} units active and no job left`,
      async () => {
        if (ns.child.exitCode !== null || ns.child.signalCode !== null) throw new Error(`sysmaster-init exited early:\n${ns.output().slice(-2000)}`);
        return allReady(sock, names);
      },
      READY_TIMEOUT_MS,
      POLL_MS,
      () => ns.output().slice(-2000),
    );
    const readyMs = since(t0);
    const pid1 = await ns.pid1;
    const measured = await measure({ pid1, sock, names, readyMs });
    const t1 = performance.now();
    signal(pid1, 'SIGTERM');
    await payloadsGone(marker, 60_000);
    const stopMs = since(t1);
    await waitFor('sysmaster-init to exit', () => ns.child.exitCode !== null || ns.child.signalCode !== null, 30_000);
    return { ...measured, stopMs };
  } finally {
    await endNamespace(ns, marker);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
