// sctl daemon-reexec under sysmaster-init: a fresh core takes over; services keep their PIDs; no job is lost.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { marker, pidsWith, scratch, sleep, Up, writeSpec } from './harness.js';

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
  // The spec's 3 units and the mount table's mount units (docs/mount.md).
  await up.waitFor(/took over \d+ units from the previous core/);
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

/**
 * Restarts in flight while the core is replaced (daemon-reexec, or kill -9): each sctl call still ends with its job
 * done, each unit asked for restarts exactly once (the retried call finds its request by key), and no other unit is
 * touched.
 */
for (const how of ['daemon-reexec', 'kill -9'] as const) {
  t.test(`${how} under load: no service restarted twice or touched, no job lost`, async (t) => {
    const dir = scratch();
    const mark = marker();
    const runs = path.join(dir, 'runs');
    const gate = path.join(dir, 'gate');
    fs.mkdirSync(runs);
    const n = 12;
    const units = Array.from({ length: n }, (_, i) => `s${i}`);
    const spec = units
      .map((u) => `[service.${u}]
# A restart holds in its start phase until the gate opens; the first start does not.
ExecStartPre = ["/bin/sh", "-c", "[ ! -e ${runs}/${u} ] || while [ ! -e ${gate} ]; do sleep 0.02; done"]
ExecStart = ["/bin/sh", "-c", "echo run >> ${runs}/${u}; exec sleep ${mark}"]
`)
      .join('\n');
    const up = new Up(writeSpec(dir, spec), path.join(dir, 'state'));
    t.teardown(() => up.stop());
    await up.ready();
    const pids = async () => new Map((await up.json<{ name: string; mainPid: number }[]>('list-units', '--type=service')).map((u) => [u.name, u.mainPid]));
    const before = await pids();
    const asked = units.slice(0, n / 2);
    const calls = asked.map((u) => up.sctl('restart', u));
    // Every restart under way, then the core replaced under them, then the gate opened.
    for (let i = 0; i < 1000 && (await up.call<unknown[]>('list-jobs')).length < asked.length; i++) await sleep(10);
    t.equal((await up.call<unknown[]>('list-jobs')).length, asked.length, 'the restarts are under way');
    const core = up.corePid();
    if (how === 'kill -9') process.kill(core, 'SIGKILL');
    else t.equal((await up.sctl('daemon-reexec')).code, 0);
    await up.waitFor(/took over/);
    fs.writeFileSync(gate, '');
    const results = await Promise.all(calls);
    t.same(results.map((r) => [r.code, r.stderr]), asked.map(() => [0, '']), 'every restart call ends with its job done');
    t.not(up.corePid(), core, 'a new core');
    t.same(await up.call('list-jobs'), [], 'no job left behind');
    const after = await pids();
    for (const u of units) {
      const count = fs.readFileSync(path.join(runs, u), 'utf8').trim().split('\n').length;
      if (asked.includes(u)) {
        t.equal(count, 2, `${u}: restarted once`);
        t.not(after.get(`${u}.service`), before.get(`${u}.service`));
      } else {
        t.equal(count, 1, `${u}: not restarted`);
        t.equal(after.get(`${u}.service`), before.get(`${u}.service`), `${u}: same PID`);
      }
    }
    t.equal(pidsWith(mark).length, n, 'one process per unit');
  });
}
