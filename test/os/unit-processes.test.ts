// unitProcesses(): how a core that took over finds the processes of each unit (SYSMASTER_UNIT, SYSMASTER_SPAWN).
import t from 'tap';
import { startTime, unitProcesses } from '../../reconciler/proc.js';
import { spawnProcess } from '../../reconciler/spawn.js';
import { until } from './fixtures/helpers.js';

const PATH = '/usr/bin:/bin';

async function start(argv: string[], env: Record<string, string>) {
  const h = spawnProcess({ argv, env: { PATH, ...env }, stdout: { kind: 'null' }, stderr: { kind: 'null' } });
  const pid = await h.spawned;
  return { pid, end: () => (process.kill(-pid, 'SIGKILL'), h.exited) };
}

t.test('the tagged processes below a root, in one pass: unit, spawn, session, group', async (t) => {
  // A spawn whose process forks a child and then becomes a sleep: both carry its tags, in its session and group.
  const a = await start(['/bin/sh', '-c', 'sleep 100 & exec sleep 100'], { SYSMASTER_UNIT: 'a.service', SYSMASTER_SPAWN: 'tok' });
  const b = await start(['/bin/sleep', '100'], { SYSMASTER_UNIT: 'b.service' });
  const untagged = await start(['/bin/sleep', '100'], {});
  t.teardown(() => Promise.all([a, b, untagged].map((p) => p.end())));
  const ofA = () => unitProcesses(process.pid).filter((p) => p.unit === 'a.service');
  await until(() => ofA().length === 2, 'the child of a');

  const found = unitProcesses(process.pid);
  const first = ofA().find((p) => p.pid === a.pid)!;
  const child = ofA().find((p) => p.pid !== a.pid)!;
  t.ok(first, 'the spawned process');
  for (const p of [first, child]) t.match(p, { session: a.pid, group: a.pid, spawn: 'tok' }, `${p.pid}: a's session and group`);
  t.equal(first.start, BigInt(startTime(a.pid)!));
  t.ok(first.start <= child.start, 'the spawned process started first');
  t.same(
    found.filter((p) => p.unit === 'b.service').map(({ pid, spawn }) => ({ pid, spawn })),
    [{ pid: b.pid, spawn: null }],
    'no SYSMASTER_SPAWN: null',
  );
  t.notOk(found.some((p) => p.pid === untagged.pid), 'no SYSMASTER_UNIT: not a unit process');

  // Below a: a's child only. b, our child too, is not below a: another manager's unit is not ours.
  t.same(unitProcesses(a.pid).map((p) => p.pid), [child.pid], 'only what is below the root');
  t.same(unitProcesses(process.pid, a.pid).filter((p) => p.unit === 'a.service').map((p) => p.pid), [child.pid], 'never `self`');
});
