// unitMembers (proc.ts): after a takeover, a unit with a cgroup is its cgroup's members, whatever their environment.
import { spawn } from 'node:child_process';
import t from 'tap';
import { pgidOf, unitMembers, type UnitProcess } from '../../reconciler/proc.js';

t.test("the cgroup's members are the unit's; the environment scan stands only without a cgroup", async (t) => {
  // A real process with an empty environment: the /proc scan by SYSMASTER_UNIT cannot see it.
  const bare = spawn('/usr/bin/env', ['-i', '/bin/sleep', '30'], { detached: true, stdio: 'ignore' });
  t.teardown(() => bare.kill('SIGKILL'));
  await new Promise((r) => bare.once('spawn', r));
  const pid = bare.pid!;
  for (let i = 0; i < 100 && pgidOf(pid) !== pid; i++) await new Promise((r) => setTimeout(r, 10));
  const scanned: UnitProcess = { pid: 999_999_999, session: 1, group: 1, start: 1n, unit: 'web.service', spawn: 'tok' };
  const mine: UnitProcess = { pid: process.pid, session: 2, group: 2, start: 2n, unit: 'web.service', spawn: 'tok2' };

  t.same(unitMembers('web.service', [scanned], null), [scanned], 'no cgroup: what the scan found');
  const got = unitMembers('web.service', [scanned, mine], [process.pid, pid]);
  t.same(
    got.map((p) => p.pid),
    [process.pid, pid],
    'the members: the scanned one in the cgroup keeps its spawn token, the bare one is found too',
  );
  t.equal(got[0].spawn, 'tok2');
  t.match(got[1], { pid, group: pid, unit: 'web.service', spawn: null }, 'its process group, from /proc');
  t.notOk(got.some((p) => p.pid === scanned.pid), 'a process outside the cgroup is not the unit\'s, whatever its environment says');
  t.same(unitMembers('web.service', [scanned], []), [], 'an empty cgroup: nothing');
  t.same(unitMembers('web.service', [], [2 ** 22 + 12345]), [], 'a member gone meanwhile is skipped');
});
