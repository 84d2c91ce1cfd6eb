// s6 (skarnet, Debian's s6 2.11) in the side-by-side benchmark (issue 9): s6-svscan as PID 1 of its own PID
// namespace over a scan directory made from the workload, one s6-supervise per unit. No s6-rc (Debian 12 has
// none), so dependencies are what a plain s6 user writes: the run script waits for each dependency with s6-svwait.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stateTmp } from '../dirs.js';
import { ensureDebianPackage } from './apt.js';
import { endNamespace } from './teardown.js';
import {
  cleanEnv,
  managerUsage,
  payloadPids,
  payloadsGone,
  signal,
  since,
  startNamespaced,
  unshareAvailable,
  waitFor,
} from './measure.js';
import type { Manager, RunResult, Workload } from './types.js';
import { payloadScript } from './workloads.js';

const PROGRAMS = ['s6-svscan', 's6-supervise', 's6-svwait'];
const READY_TIMEOUT_MS = 300_000;

/** One service directory's run script: wait for every dependency to be up and ready, then the payload. */
export function runScript(after: string[], marker: string): string {
  const lines = ['#!/bin/sh'];
  // A dependency whose s6-supervise has not written its status yet makes s6-svwait fail (111): the script exits and
  // s6-supervise runs it again 1 s later, as it would for any plain s6 user.
  if (after.length) lines.push(`s6-svwait -U ${after.map((a) => `../${a}`).join(' ')} || exit 1`);
  lines.push(payloadScript('echo >&3', marker), '');
  return lines.join('\n');
}

/** The scan directory: one service directory per unit, created in dependency order. */
export function writeScanDir(scan: string, w: Workload, marker: string): void {
  fs.mkdirSync(scan, { recursive: true });
  for (const u of w.units) {
    const dir = path.join(scan, u.name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'run'), runScript(u.after, marker), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'notification-fd'), '3\n');
  }
}

/**
 * Every unit up and ready, as s6 itself reports it: once every s6-supervise has written its status file, one
 * `s6-svwait -U` on all the service directories (run from outside the namespace; it listens on each one's event
 * fifodir, it does not poll). Retried while a supervisor is still setting up its fifodir (exit 111).
 */
async function allReady(scan: string, names: string[], deadline: number, alive: () => boolean): Promise<number> {
  await waitFor(
    'every s6-supervise to write its status',
    () => {
      if (!alive()) throw new Error('s6-svscan exited');
      return names.every((n) => fs.existsSync(path.join(scan, n, 'supervise', 'status')));
    },
    deadline - performance.now(),
    5,
    () => `${names.filter((n) => !fs.existsSync(path.join(scan, n, 'supervise', 'status'))).length} not yet`,
  );
  for (;;) {
    const left = Math.max(1, Math.round(deadline - performance.now()));
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn('s6-svwait', ['-U', '-t', String(left), ...names], { cwd: scan, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr!.on('data', (d) => (err += d));
      c.on('error', (e) => resolve({ code: -1, err: e.message }));
      c.on('exit', (code) => resolve({ code, err }));
    });
    if (r.code === 0) return performance.now();
    if (r.code !== 111 || performance.now() > deadline || !alive()) throw new Error(`s6-svwait -U on every service exited ${r.code}: ${r.err.trim()}`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

export const manager: Manager = {
  name: 's6',
  readiness: 's6 notification-fd: `notification-fd` holds 3; the run script writes a newline to fd 3 (`echo >&3`) and execs the payload',
  dependencies:
    'each run script waits for its dependencies with `s6-svwait -U ../dep…` (up and ready) before its payload; ' +
    'if a dependency\'s supervisor is not up yet, the script fails and s6-supervise retries it 1 s later (no s6-rc in Debian 12)',

  async prepare() {
    return unshareAvailable() ?? ensureDebianPackage('s6', PROGRAMS);
  },

  async run(w: Workload, marker: string): Promise<RunResult> {
    const { dir } = stateTmp();
    const scan = path.join(dir, 'scan');
    writeScanDir(scan, w, marker);
    const names = w.units.map((u) => u.name);
    const t0 = performance.now();
    // -c: room for every service (the default is a few hundred).
    const ns = startNamespaced('s6-svscan', ['-c', String(Math.max(1000, 2 * names.length)), scan], cleanEnv(), scan);
    const alive = () => ns.child.exitCode === null && ns.child.signalCode === null;
    try {
      const tReady = await allReady(scan, names, t0 + READY_TIMEOUT_MS, alive);
      const readyMs = tReady - t0;
      const pid1 = await ns.pid1;
      // A run script signals readiness just before it execs the payload: let the last ones get there (not timed), so
      // that no run script is counted as the manager's.
      await waitFor('every payload to run', () => payloadPids(marker).length === names.length, 5000, 5, () => `${payloadPids(marker).length} of ${names.length}`);
      // s6-svscan and every s6-supervise; the payloads (the run scripts exec'd into `sleep MARKER`) are left out.
      const usage = managerUsage(pid1, marker);
      const t1 = performance.now();
      // As `s6-svscanctl -t`: SIGTERM to every s6-supervise, each stops its service (TERM) and exits; s6-svscan waits
      // for them all, then exits (no .s6-svscan/finish), which ends the namespace.
      signal(pid1, 'SIGTERM');
      await payloadsGone(marker, 60_000);
      const stopMs = since(t1);
      await waitFor('s6-svscan to exit', () => !alive(), 10_000);
      return { readyMs, stopMs, rssKb: usage.rssKb, pssKb: usage.pssKb, cpuMs: usage.cpuMs };
    } catch (err) {
      throw new Error(`s6: ${(err as Error).message}\n${ns.output().slice(-1500)}`, { cause: err });
    } finally {
      await endNamespace(ns, marker);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
