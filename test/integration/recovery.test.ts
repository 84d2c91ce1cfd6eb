// What happens while no core runs reaches the next core exactly once (docs/recovery.md). "While no core runs" is
// made deterministic by SIGSTOPping the core first, then killing it: init replaces it, and the new core takes over.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { marker, pidsWith, scratch, sleep, Up, writeSpec } from './harness.js';

async function killCore(up: Up, during: () => Promise<void>): Promise<void> {
  const core = up.corePid();
  process.kill(core, 'SIGSTOP');
  await during();
  process.kill(core, 'SIGKILL');
  for (let i = 0; i < 200 && (up.corePid() === core || !/took over/.test(up.output.split(`${core}`).pop() ?? '')); i++) await sleep(25);
}

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
  await killCore(up, async () => {
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
  await killCore(up, async () => {
    fs.writeFileSync(gate, '');
    await sleep(300); // systemd-notify has sent READY=1; its barrier waits for a core
  });
  t.equal(await up.until('slow', 'ActiveState', (v) => v === 'active'), 'active');
  t.equal(await up.until('slow', 'MainPID', () => true), String(pid), 'same PID');
  t.equal(await up.until('slow', 'NRestarts', () => true), '0', 'not restarted');
  t.equal(pidsWith(mark).length, 1);
});
