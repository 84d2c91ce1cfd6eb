// init as PID 1 of its own PID namespace (unshare): orphans come to it without any subreaper, a crashed core is
// replaced, and SIGTERM ends the namespace through the core, or by kill(-1) after the grace period.
// Pids the fake core reports are the namespace's; the test maps them through /proc/PID/status NSpid.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { descendants } from '../../init/killall.js';
import { Init, pid1Unavailable, procState, until } from './harness.js';

/** Set when unshare cannot run here: each test is then skipped with it as the reason. */
const why = pid1Unavailable();

/** The pid this test sees for `nsPid` in init's namespace, or null when no such process is left. */
function hostPid(init: Init, nsPid: number): number | null {
  for (const pid of descendants(init.pid)) {
    try {
      const ns = /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1].split(/\s+/);
      if (Number(ns.at(-1)) === nsPid) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** Zombies in the namespace, as its own /proc shows them. */
async function zombies(init: Init): Promise<string[]> {
  const { out } = await init.ask({ cmd: 'run', script: 'cat /proc/[0-9]*/stat 2>/dev/null' });
  return (out as string).split('\n').filter((l) => /\) Z /.test(l));
}

const opts = { skip: why ?? false };

t.test('as PID 1: orphans reaped, a core replaced, the downtime exit delivered, SIGTERM ends all', opts, async (t) => {
  const init = new Init(t, { pid1: true, env: { FAKE_EXIT_CODE: '7' } });
  const c1 = await init.ready();
  t.match(init.events().find((e) => e.ev === 'start'), { ppid: 1, core: c1 }, 'the core is a child of PID 1');

  const storm = 'i=0; while [ $i -lt 300 ]; do ( (exit $((i % 256))) & ); i=$((i + 1)); done';
  await init.ask({ cmd: 'run', script: storm });
  await init.waitFor((evs) => evs.filter((e) => e.ev === 'exit').length >= 300, '300 orphan exits');
  t.same(await zombies(init), [], 'no zombie in the namespace');

  const go = path.join(init.dir, 'go');
  const svc = await init.ask({ cmd: 'spawn', script: `while [ ! -e ${go} ]; do sleep 0.02; done; exit 3` });
  const svcHost = hostPid(init, svc.pid)!;
  init.hold(true);
  init.ask({ cmd: 'crash' }).catch(() => {}); // no answer: it kills itself
  const c2 = await init.started(c1);
  init.hold(true, 'go');
  await until(() => procState(svcHost) === null, 'PID 1 to reap the service');
  init.hold(false);
  await init.waitFor((evs) => evs.some((e) => e.ev === 'acked' && e.core === c2), 'the exit at the new core');
  const got = init.events().filter((e) => e.ev === 'exit' && e.pid === svc.pid);
  t.equal(got.length, 1, 'one exit');
  t.match(got[0], { core: c2, code: 3, signal: null });

  await init.ask({ cmd: 'orphan', script: 'exec sleep 1000' });
  process.kill(init.pid, 'SIGTERM');
  t.same(await init.exited, { code: 7, signal: null }, 'the namespace ends with the core\'s code');
  t.match(init.events().find((e) => e.ev === 'shutdown'), { core: c2, reason: 'SIGTERM' });
});

t.test('as PID 1: a core that ignores shutdown is killed with everything after the grace period', opts, async (t) => {
  const init = new Init(t, { pid1: true, modes: ['ignore-shutdown'], args: ['--grace', '1s'] });
  await init.ready();
  const svc = await init.ask({ cmd: 'orphan', script: 'exec sleep 1000' });
  const svcHost = hostPid(init, svc.pid)!;
  process.kill(init.pid, 'SIGTERM');
  t.same(await init.exited, { code: 0, signal: null });
  t.match(init.output, /the grace period of 1000 ms is over: killing what is left/);
  t.equal(procState(svcHost), null, 'the service is gone');
});
