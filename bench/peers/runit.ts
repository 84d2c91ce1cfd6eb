// runit (Debian's runit 2.1) in the side-by-side benchmark (issue 9): runsvdir as PID 1 of its own PID namespace
// over a service directory made from the workload, one runsv per unit. Only runit's binaries are used: this
// machine's init is never switched (runit-init is not installed).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stateTmp } from '../dirs.js';
import { ensureDebianPackage } from './apt.js';
import { cleanEnv, managerUsage, payloadPids, payloadsGone, signal, since, startNamespaced, unshareAvailable, waitFor } from './measure.js';
import { endNamespace } from './teardown.js';
import type { Manager, RunResult, Workload } from './types.js';
import { payloadScript } from './workloads.js';

const PROGRAMS = ['runsvdir', 'runsv', 'sv'];
const READY_TIMEOUT_MS = 300_000;

/**
 * One service's run script, runit's documented way to depend on a service: `sv start` each dependency (a path
 * starting with a dot is taken relative to the service directory) or exit, and runsv runs the script again 1 s later.
 * `sv start` returns once the dependency's runsv reports it `run` (no ./check scripts are written).
 */
export function runScript(after: string[], marker: string): string {
  const lines = ['#!/bin/sh'];
  if (after.length) lines.push(`sv start ${after.map((a) => `../${a}`).join(' ')} || exit 1`);
  lines.push(payloadScript('', marker), '');
  return lines.join('\n');
}

export function writeServiceDir(svdir: string, w: Workload, marker: string): void {
  fs.mkdirSync(svdir, { recursive: true });
  for (const u of w.units) {
    const dir = path.join(svdir, u.name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'run'), runScript(u.after, marker), { mode: 0o755 });
  }
  // runsvdir does not start a directory whose mtime is in the current second (it looks again a second later, so as not
  // to miss a change made in that second): on a real machine the directory is older than the boot, so date it back.
  const past = new Date(Date.now() - 60_000);
  fs.utimesSync(svdir, past, past);
}

/** runsv's human-readable state of a service (supervise/stat: "run", "down", "finish", ...), '' before it exists. */
function stat(svdir: string, name: string): string {
  try {
    return fs.readFileSync(path.join(svdir, name, 'supervise', 'stat'), 'utf8').trim();
  } catch {
    return '';
  }
}

export const manager: Manager = {
  name: 'runit',
  readiness:
    'none (runit has no readiness protocol): a unit counts ready when runsv reports it `run` (supervise/stat, as `sv status`) ' +
    'and its run script has passed its dependency step and exec\'d the payload (seen in /proc); no ./check scripts',
  dependencies:
    'each run script runs `sv start ../dep… || exit 1` before its payload (runit\'s documented way); `sv start` waits only until ' +
    'the dependency is `run` (its run script started), and fails at once if the dependency\'s runsv is not up yet, so runsv retries 1 s later',

  async prepare() {
    return unshareAvailable() ?? ensureDebianPackage('runit', PROGRAMS);
  },

  async run(w: Workload, marker: string): Promise<RunResult> {
    const { dir } = stateTmp();
    const svdir = path.join(dir, 'service');
    writeServiceDir(svdir, w, marker);
    const names = w.units.map((u) => u.name);
    const t0 = performance.now();
    const ns = startNamespaced('runsvdir', [svdir], cleanEnv(), svdir);
    const alive = () => ns.child.exitCode === null && ns.child.signalCode === null;
    let stopper: ChildProcess | undefined;
    try {
      const tReady = await waitFor(
        'every unit to be `run` with its payload running',
        () => {
          if (!alive()) throw new Error('runsvdir exited');
          if (!names.every((n) => stat(svdir, n) === 'run')) return null;
          return payloadPids(marker).length === names.length ? performance.now() : null;
        },
        READY_TIMEOUT_MS,
        10,
        () => `${names.filter((n) => stat(svdir, n) !== 'run').length} not run, ${payloadPids(marker).length} of ${names.length} payloads`,
      );
      const readyMs = tReady - t0;
      const pid1 = await ns.pid1;
      // runsvdir and every runsv; the payloads (run scripts exec'd into `sleep MARKER`) are left out.
      const usage = managerUsage(pid1, marker);
      const t1 = performance.now();
      // runit's own stage 3 stops services this way: down, TERM to each payload, wait (and KILL after 30 s).
      stopper = spawn('sv', ['-w', '30', 'force-stop', ...names.map((n) => `./${n}`)], { cwd: svdir, env: cleanEnv(), stdio: 'ignore' });
      await payloadsGone(marker, 60_000);
      const stopMs = since(t1);
      // Then the supervisors: SIGHUP makes runsvdir TERM every runsv and exit, which ends the namespace.
      signal(pid1, 'SIGHUP');
      await waitFor('runsvdir to exit', () => !alive(), 10_000);
      return { readyMs, stopMs, rssKb: usage.rssKb, pssKb: usage.pssKb, cpuMs: usage.cpuMs };
    } catch (err) {
      throw new Error(`runit: ${(err as Error).message}\n${ns.output().slice(-1500)}`, { cause: err });
    } finally {
      if (stopper && stopper.exitCode === null && stopper.signalCode === null) stopper.kill('SIGKILL');
      await endNamespace(ns, marker);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
