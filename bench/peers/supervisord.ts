// supervisord (Debian's supervisor 4.2) in the side-by-side benchmark (issue 9): `supervisord -n` as PID 1 of its
// own PID namespace, one [program:x] per unit and one [group:] per depth of the workload. It has no dependencies and
// no readiness protocol; the table says so. Seen here (4.2.5): it idles about 1 s before its first spawn, and on stop
// it waits for each group in turn while its main loop can sleep up to 1 s (its poll timeout) before it reaps a
// program that has died, so stopping takes up to about a second per group (a chain of 20 units: about 7 s).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stateTmp } from '../dirs.js';
import { ensureDebianPackage } from './apt.js';
import { cleanEnv, managerUsage, payloadPids, payloadsGone, signal, since, startNamespaced, unshareAvailable, waitFor } from './measure.js';
import { endNamespace } from './teardown.js';
import type { Manager, RunResult, Workload } from './types.js';
import { payloadScript } from './workloads.js';

const PROGRAMS = ['supervisord', 'supervisorctl'];
const READY_TIMEOUT_MS = 300_000;
/** supervisord's notion of started: RUNNING once the process has stayed up this long (its default, 1 s). */
const STARTSECS = Number(process.env.BENCH_SUPERVISORD_STARTSECS || 1);
if (!Number.isInteger(STARTSECS) || STARTSECS < 0) throw new Error(`BENCH_SUPERVISORD_STARTSECS wants a whole number of seconds, got "${process.env.BENCH_SUPERVISORD_STARTSECS}"`);

/** Each unit's depth in the workload (0: requires nothing), for `priority`: the only ordering supervisord has. */
export function depths(w: Workload): Map<string, number> {
  const d = new Map<string, number>();
  for (const u of w.units) d.set(u.name, u.after.length ? 1 + Math.max(...u.after.map((a) => d.get(a) ?? 0)) : 0);
  return d;
}

/** The whole configuration: control over a unix socket in the scratch directory, one program per unit, a group per depth. */
export function config(dir: string, w: Workload, marker: string): string {
  const depth = depths(w);
  const out = [
    '[unix_http_server]',
    `file=${path.join(dir, 'supervisor.sock')}`,
    '',
    '[supervisord]',
    'nodaemon=true',
    'user=root',
    `logfile=${path.join(dir, 'supervisord.log')}`,
    'logfile_maxbytes=0',
    'loglevel=info',
    `pidfile=${path.join(dir, 'supervisord.pid')}`,
    `childlogdir=${dir}`,
    // Two pipes per program (stdout, stderr merged): 300 programs need more than the default 1024 fds.
    `minfds=${Math.max(1024, 4 * w.units.length + 64)}`,
    '',
    '[rpcinterface:supervisor]',
    'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
    '',
    '[supervisorctl]',
    `serverurl=unix://${path.join(dir, 'supervisor.sock')}`,
    '',
  ];
  for (const u of w.units) {
    out.push(
      `[program:${u.name}]`,
      `command=/bin/sh -c "${payloadScript('', marker)}"`,
      // Lower starts first and stops last: start order follows the workload's depth, nothing waits.
      `priority=${100 + (depth.get(u.name) ?? 0)}`,
      `startsecs=${STARTSECS}`,
      'redirect_stderr=true',
      'stdout_logfile=NONE',
      'stopsignal=TERM',
      'stopwaitsecs=30',
      '',
    );
  }
  // One group per depth: supervisord starts groups in priority order without waiting, and stops them in reverse
  // order, each group only once the one before it has stopped (the only ordering it has).
  for (const [d, members] of byDepth(w)) out.push(`[group:d${d}]`, `programs=${members.join(',')}`, `priority=${100 + d}`, '');
  return out.join('\n');
}

/** The workload's units grouped by depth, shallowest first. */
export function byDepth(w: Workload): Map<number, string[]> {
  const depth = depths(w);
  const groups = new Map<number, string[]>();
  for (const u of w.units) {
    const d = depth.get(u.name) ?? 0;
    groups.set(d, [...(groups.get(d) ?? []), u.name]);
  }
  return new Map([...groups].sort((a, b) => a[0] - b[0]));
}

export const manager: Manager = {
  name: 'supervisord',
  readiness: `none (no readiness protocol): RUNNING once a process has stayed up startsecs=${STARTSECS} s, seen in supervisord's log`,
  dependencies:
    'none: supervisord has no dependency ordering; priority only: one group per depth of the workload, started in order ' +
    'without waiting, stopped in reverse order one group at a time',

  async prepare() {
    return unshareAvailable() ?? ensureDebianPackage('supervisor', PROGRAMS);
  },

  async run(w: Workload, marker: string): Promise<RunResult> {
    const { dir } = stateTmp();
    const conf = path.join(dir, 'supervisord.conf');
    fs.writeFileSync(conf, config(dir, w, marker));
    const names = new Set(w.units.map((u) => u.name));
    const running = new Set<string>();
    const t0 = performance.now();
    const ns = startNamespaced('supervisord', ['-n', '-c', conf], cleanEnv(), dir);
    const alive = () => ns.child.exitCode === null && ns.child.signalCode === null;
    // With -n, supervisord logs to its stdout too: every "success: NAME entered RUNNING state" line, counted as it comes.
    let tail = '';
    let tAll = 0;
    ns.child.stdout!.on('data', (d: Buffer) => {
      const lines = (tail + d.toString()).split('\n');
      tail = lines.pop()!;
      for (const line of lines) {
        const m = /success: (\S+) entered RUNNING state/.exec(line);
        if (m && names.has(m[1])) running.add(m[1]);
      }
      if (!tAll && running.size === names.size) tAll = performance.now();
    });
    try {
      const tReady = await waitFor(
        'every program to be RUNNING',
        () => {
          if (!alive() && !tAll) throw new Error('supervisord exited');
          return tAll || null;
        },
        READY_TIMEOUT_MS,
        10,
        () => `${running.size} of ${names.size}`,
      );
      const readyMs = tReady - t0;
      const pid1 = await ns.pid1;
      // supervisord is one process; its children are all payloads.
      const usage = managerUsage(pid1, marker);
      await confirmRunning(conf, names.size);
      const payloads = payloadPids(marker).length;
      if (payloads !== names.size) throw new Error(`all RUNNING, but ${payloads} payloads run for ${names.size} programs`);
      const t1 = performance.now();
      // SIGTERM: supervisord stops every program (TERM, in reverse priority order), then exits, ending the namespace.
      signal(pid1, 'SIGTERM');
      // One group at a time, and its loop can sleep up to 1 s before it notices a group is down: allow 2 s a group.
      await payloadsGone(marker, Math.max(60_000, 2000 * byDepth(w).size));
      const stopMs = since(t1);
      await waitFor('supervisord to exit', () => !alive(), 15_000);
      return { readyMs, stopMs, rssKb: usage.rssKb, pssKb: usage.pssKb, cpuMs: usage.cpuMs };
    } catch (err) {
      throw new Error(`supervisord: ${(err as Error).message}\n${ns.output().slice(-1500)}`, { cause: err });
    } finally {
      await endNamespace(ns, marker);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};

/** `supervisorctl status` over the scratch socket: every program RUNNING (after the measurements, so its cost is not counted). */
function confirmRunning(conf: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('supervisorctl', ['-c', conf, 'status'], { env: cleanEnv(), timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout) => {
      const lines = stdout.split('\n').filter((l) => l.trim());
      const up = lines.filter((l) => /^\S+\s+RUNNING\b/.test(l)).length;
      if (up === count) return resolve();
      reject(new Error(`supervisorctl status: ${up} of ${count} RUNNING${err ? ` (${err.message.split('\n')[0]})` : ''}\n${lines.filter((l) => !/RUNNING/.test(l)).slice(0, 5).join('\n')}`));
    });
  });
}
