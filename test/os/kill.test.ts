import t from 'tap';
import type { ExitInfo } from '../../machines/types.js';
import { killRest, killUnit, signalGroup } from '../../reconciler/kill.js';
import { isAlive } from '../../reconciler/proc.js';
import { Reaper } from '../../reconciler/reaper.js';
import { spawnProcess } from '../../reconciler/spawn.js';
import { setChildSubreaper } from '../../reconciler/sys.js';
import { until } from './fixtures/helpers.js';

// Grandchildren orphaned by a killed shell come to us; the reaper collects them (PID 1 here does not).
setChildSubreaper();
const reaper = new Reaper();
const reaped = new Map<number, ExitInfo>();
reaper.on('exit', (i) => reaped.set(i.pid, i));
reaper.start();
t.teardown(() => reaper.stop());

/** A shell (the main process) with a background sleep (its child, same process group). */
async function family() {
  const lines: string[] = [];
  const h = spawnProcess({
    argv: ['sh', '-c', 'sleep 100 & echo $!; wait'],
    env: { PATH: '/usr/bin:/bin' },
    stdout: { kind: 'journal' },
    stderr: { kind: 'inherit' },
    onLine: (_, l) => lines.push(l),
  });
  const main = await h.spawned;
  await until(() => lines.length > 0, 'the grandchild pid');
  const child = Number(lines[0]);
  t.teardown(() => signalGroup(main, 'SIGKILL'));
  return { h, main, child };
}

t.test('control-group reaches the whole process group', async (t) => {
  const f = await family();
  t.ok(killUnit({ mainPid: f.main, controlPid: null, mode: 'control-group', signal: 'SIGTERM' }), 'signalled');
  t.equal((await f.h.exited).signal, 'SIGTERM', 'main got it');
  await until(() => !isAlive(f.child), 'the grandchild to die');
  await until(() => reaped.has(f.child), 'the orphan to be reaped');
  t.equal(reaped.get(f.child)?.signal, 'SIGTERM', 'the grandchild got it too');
});

t.test('control-group covers the control process and extra groups', async (t) => {
  const a = await family();
  const b = await family();
  const c = await family();
  t.ok(killUnit({ mainPid: a.main, controlPid: b.main, groups: [c.main], mode: 'control-group', signal: 'SIGKILL' }));
  for (const f of [a, b, c]) {
    t.equal((await f.h.exited).signal, 'SIGKILL');
    await until(() => !isAlive(f.child), 'the grandchild to die');
  }
});

t.test('mixed signals the main process, killRest the others', async (t) => {
  const f = await family();
  t.ok(killUnit({ mainPid: f.main, controlPid: null, mode: 'mixed', signal: 'SIGTERM' }));
  t.equal((await f.h.exited).signal, 'SIGTERM');
  t.ok(isAlive(f.child), 'the grandchild was spared');
  t.ok(killRest({ mainPid: f.main, controlPid: null }), 'the group still exists without its leader');
  await until(() => reaped.has(f.child), 'the grandchild to be reaped');
  t.equal(reaped.get(f.child)?.signal, 'SIGKILL');
});

t.test('process signals the main process only; none signals nothing', async (t) => {
  const f = await family();
  t.notOk(killUnit({ mainPid: f.main, controlPid: null, mode: 'none', signal: 'SIGTERM' }), 'none');
  t.ok(isAlive(f.main), 'none left the main process alone');
  t.ok(killUnit({ mainPid: f.main, controlPid: null, mode: 'process', signal: 'SIGTERM' }));
  t.equal((await f.h.exited).signal, 'SIGTERM');
  t.ok(isAlive(f.child), 'the grandchild was spared');
  t.ok(signalGroup(f.main, 'SIGKILL'));
  await until(() => !isAlive(f.child), 'the grandchild to die');
});

t.test('a stopped process is continued so the signal acts', async (t) => {
  const h = spawnProcess({ argv: ['sleep', '100'], env: {}, stdout: { kind: 'null' }, stderr: { kind: 'null' } });
  const pid = await h.spawned;
  t.teardown(() => signalGroup(pid, 'SIGKILL'));
  process.kill(pid, 'SIGSTOP');
  t.ok(killUnit({ mainPid: pid, mode: 'process', signal: 'SIGTERM' }));
  t.equal((await h.exited).signal, 'SIGTERM');
});

t.test('gone processes and dangerous pids are no-ops', async (t) => {
  const h = spawnProcess({ argv: ['true'], env: {}, stdout: { kind: 'null' }, stderr: { kind: 'null' } });
  const dead = await h.spawned;
  await h.exited;
  for (const mode of ['control-group', 'mixed', 'process'] as const) {
    t.notOk(killUnit({ mainPid: dead, controlPid: dead, mode, signal: 'SIGTERM' }), `${mode}: ESRCH`);
  }
  t.notOk(killRest({ mainPid: dead, groups: [dead] }));
  // 0 would be our own group, -1 everything, 1 init: never signalled. We are still here to check.
  t.notOk(killUnit({ mainPid: 0, controlPid: -1, groups: [1, 0], mode: 'control-group', signal: 'SIGKILL' }));
  t.notOk(killUnit({ mainPid: 1, mode: 'process', signal: 'SIGKILL' }));
  t.throws(() => killUnit({ mainPid: process.pid, mode: 'process', signal: 'SIGNOPE' }), { name: 'KillError' });
});
