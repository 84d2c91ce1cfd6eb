// sctl daemon-reexec under sysmaster-init: a fresh core takes over; services keep their PIDs; no job is lost.
import path from 'node:path';
import t from 'tap';
import { marker, pidsWith, scratch, Up, writeSpec } from './harness.js';

t.test('daemon-reexec hands over to a fresh core without touching a service', async (t) => {
  const dir = scratch();
  const mark = marker();
  const up = new Up(
    writeSpec(
      dir,
      `[service.a]
ExecStart = ["/bin/sleep", "${mark}"]

[service.b]
Type = "notify"
NotifyAccess = "all"
ExecStart = ["/bin/sh", "-c", "systemd-notify --ready; exec sleep ${mark}"]
Requires = ["a.service"]
After = ["a.service"]
`,
    ),
    path.join(dir, 'state'),
    [],
    { init: true },
  );
  t.teardown(() => up.stop());
  await up.ready();
  const before = await up.json<{ name: string; mainPid: number }[]>('list-units', '--type=service');
  const core = up.corePid();
  const r = await up.sctl('daemon-reexec');
  t.equal(r.code, 0, r.stderr);
  await up.waitFor(/took over 3 units from the previous core/);
  t.not(up.corePid(), core, 'a new core');
  const after = await up.json<{ name: string; mainPid: number; active: string }[]>('list-units', '--type=service');
  t.same(after.map((u) => [u.name, u.mainPid, u.active]), before.map((u) => [u.name, u.mainPid, 'active']), 'same PIDs, all active');
  t.equal(pidsWith(mark).length, 2, 'nothing started twice');
  t.equal((await up.sctl('restart', 'b')).code, 0, 'the new core drives the units');
  t.equal(await up.stop(), 0);
  t.same(pidsWith(mark), [], 'all stopped');
});

t.test('sctl poweroff stops everything and ends the manager (no reboot(2) outside a host PID 1)', async (t) => {
  const dir = scratch();
  const mark = marker();
  const up = new Up(writeSpec(dir, `[service.s]\nExecStart = ["/bin/sleep", "${mark}"]\n`), path.join(dir, 'state'), [], { init: true });
  t.teardown(() => up.stop());
  await up.ready();
  t.equal((await up.sctl('poweroff')).code, 0);
  t.equal(await up.exited(), 0, 'init exits 0');
  t.same(pidsWith(mark), [], 'nothing left');
});
