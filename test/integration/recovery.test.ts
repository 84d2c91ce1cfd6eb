// What happens while no core runs reaches the next core exactly once (docs/recovery.md). "While no core runs" is
// made deterministic by SIGSTOPping the core first, then killing it: init replaces it, and the new core takes over.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { marker, pidsWith, scratch, sleep, Up, writeSpec } from './harness.js';

t.test('an exit during the downtime is applied once: result exit-code 3, restarted once', async (t) => {
  const dir = scratch();
  const mark = marker();
  const runs = path.join(dir, 'runs');
  const gate = path.join(dir, 'gate');
  const up = new Up(
    writeSpec(
      dir,
      `[service.crash]
ExecStart = ["/bin/sh", "-c", "echo run >> ${runs}; if [ $(wc -l < ${runs}) -ge 2 ]; then exec sleep ${mark}; fi; while [ ! -e ${gate} ]; do sleep 0.02; done; exit 3"]
Restart = "on-failure"
RestartSec = "50ms"
StandardOutput = "null"
`,
    ),
    path.join(dir, 'state'),
    [],
    { init: true },
  );
  t.teardown(() => up.stop());
  await up.ready();
  const first = Number(await up.until('crash', 'MainPID', (v) => Number(v) > 0));
  await up.killCore(async () => {
    fs.writeFileSync(gate, '');
    while (fs.existsSync(`/proc/${first}`) && !/\) Z /.test(fs.readFileSync(`/proc/${first}/stat`, 'utf8'))) await sleep(10);
  });
  await up.until('crash', 'SubState', (v) => v === 'running');
  t.equal(fs.readFileSync(runs, 'utf8').trim().split('\n').length, 2, 'restarted exactly once');
  t.equal(await up.until('crash', 'NRestarts', () => true), '1');
  t.equal(pidsWith(mark).length, 1, 'one instance');
  t.match(up.output, /crash\.service +\| active → activating \(auto-restart\) \(exit-code\)/, 'seen as exit-code');
});

t.test('READY=1 sent during the downtime: the service becomes active, not restarted', { skip: fs.existsSync('/usr/bin/systemd-notify') || fs.existsSync('/bin/systemd-notify') ? false : 'systemd-notify is not installed' }, async (t) => {
  const dir = scratch();
  const mark = marker();
  const gate = path.join(dir, 'gate');
  const up = new Up(
    writeSpec(
      dir,
      `[service.slow]
Type = "notify"
NotifyAccess = "all"
ExecStart = ["/bin/sh", "-c", "while [ ! -e ${gate} ]; do sleep 0.02; done; systemd-notify --ready; exec sleep ${mark}"]
`,
    ),
    path.join(dir, 'state'),
    [],
    { init: true },
  );
  t.teardown(() => up.stop());
  await up.waitFor(/slow\.service +\| inactive → activating/);
  const pid = Number(await up.until('slow', 'MainPID', (v) => Number(v) > 0));
  await up.killCore(async () => {
    fs.writeFileSync(gate, '');
    await sleep(300); // systemd-notify has sent READY=1; its barrier waits for a core
  });
  t.equal(await up.until('slow', 'ActiveState', (v) => v === 'active'), 'active');
  t.equal(await up.until('slow', 'MainPID', () => true), String(pid), 'same PID');
  t.equal(await up.until('slow', 'NRestarts', () => true), '0', 'not restarted');
  t.equal(pidsWith(mark).length, 1);
});

t.test('a stop timeout that expires during the downtime escalates to SIGKILL after recovery', async (t) => {
  const dir = scratch();
  const mark = marker();
  const up = new Up(
    writeSpec(
      dir,
      `[service.stubborn]
ExecStart = ["/bin/sh", "-c", "trap '' TERM; exec sleep ${mark}"]
TimeoutStopSec = "3s"
`,
    ),
    path.join(dir, 'state'),
  );
  t.teardown(() => up.stop());
  await up.ready();
  const pid = Number(await up.until('stubborn', 'MainPID', (v) => Number(v) > 0));
  t.equal((await up.sctl('stop', '--no-block', 'stubborn')).code, 0);
  // Polled over the socket (no CLI start per poll): the core must be stopped well before the deadline.
  await up.prop('stubborn', 'SubState', (v) => v === 'stop-sigterm');
  await up.killCore(async () => void (await sleep(3500))); // the deadline passes while no core runs
  t.equal(await up.until('stubborn', 'ActiveState', (v) => v === 'failed'), 'failed', 'the overdue timeout fired');
  t.equal(await up.until('stubborn', 'Result', () => true), 'timeout');
  t.notOk(fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), 'killed');
  t.same(pidsWith(mark), []);
  t.match(up.output, /stubborn\.service +\| deactivating → failed/);
});

t.test('a SIGSTOPped core is caught by the watchdog and replaced; the service keeps its PID', async (t) => {
  const dir = scratch();
  const mark = marker();
  const up = new Up(writeSpec(dir, `[service.s]\nExecStart = ["/bin/sleep", "${mark}"]\n`), path.join(dir, 'state'), ['--watchdog-sec', '1s'], { init: true });
  t.teardown(() => up.stop());
  await up.ready();
  const pid = await up.until('s', 'MainPID', (v) => Number(v) > 0);
  const core = up.corePid();
  process.kill(core, 'SIGSTOP');
  await up.waitFor(/took over \d+ units/, 10_000);
  t.not(up.corePid(), core, 'a new core');
  t.notOk(fs.existsSync(`/proc/${core}`) && !/\) Z /.test(fs.readFileSync(`/proc/${core}/stat`, 'utf8')), 'the hung one is gone');
  t.equal(await up.until('s', 'MainPID', () => true), pid, 'same PID');
  t.equal(await up.until('s', 'ActiveState', () => true), 'active');
  t.same(pidsWith(mark), [Number(pid)]);
});
