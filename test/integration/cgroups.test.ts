// Each service in its own cgroup, through `sysmaster up` as root with real processes (docs/cgroups.md).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { marker, pidsWith, scratch, sleep, Up, writeSpec } from './harness.js';

const skip = process.getuid?.() !== 0 && 'cgroups need root';

const cgroupOf = (pid: number) => fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');

t.test('KillMode=control-group stops a setsid double-forked escapee; the cgroup goes with the unit', { skip }, async (t) => {
  const dir = scratch();
  const mark = marker();
  const spec = writeSpec(
    dir,
    `[service.esc]
ExecStart = ["/bin/sh", "-c", "setsid sh -c 'sleep ${mark} & exit' ; exec sleep 1000"]
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  await up.until('esc', 'SubState', (v) => v === 'running');
  let escaped: number[] = [];
  for (let i = 0; i < 100 && !escaped.length; i++, await sleep(50)) escaped = pidsWith(mark);
  t.equal(escaped.length, 1, 'the escapee runs');
  const main = Number(await up.until('esc', 'MainPID', (v) => v !== '0'));
  t.not(fs.readFileSync(`/proc/${escaped[0]}/stat`, 'utf8').split(' ')[5], String(main), 'in another session than the main process');
  t.match(cgroupOf(escaped[0]), /sysmaster-[0-9a-f]{8}\/esc\.service/, 'in the unit cgroup');
  const tracked = `/sys/fs/cgroup/unified${/^0::(.*)$/m.exec(cgroupOf(main))![1]}`;
  t.ok(tracked.endsWith('/esc.service') && fs.existsSync(tracked), tracked);
  const stop = await up.sctl('stop', 'esc');
  t.equal(stop.code, 0, stop.stderr);
  t.same(pidsWith(mark), [], 'the escapee is gone once stop returns');
  await sleep(300);
  t.notOk(fs.existsSync(tracked), 'the unit cgroup is removed');
});

t.test('MemoryMax: a hog is OOM-killed, the result is oom-kill, Restart=on-failure restarts it', { skip }, async (t) => {
  const dir = scratch();
  const spec = writeSpec(
    dir,
    `[service.hog]
ExecStart = ["/usr/bin/node", "-e", "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))"]
MemoryMax = "64M"
Restart = "on-failure"
RestartSec = "10s"
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  t.equal(await up.until('hog', 'Result', (v) => v === 'oom-kill', 30_000), 'oom-kill');
  t.equal(await up.until('hog', 'SubState', (v) => v === 'auto-restart'), 'auto-restart', 'waits to restart');
  t.equal(await up.until('hog', 'NRestarts', (v) => v === '1', 30_000), '1', 'restarted');
});

t.test('OOMPolicy=: a child of the main process OOM-killed stops the unit (stop), or not (continue)', { skip }, async (t) => {
  const dir = scratch();
  // The main process (sh) outlives its child, the hog, and then sleeps: only OOMPolicy= can end the unit.
  const hog = `["/bin/sh", "-c", "/usr/bin/node -e 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))'; touch ${dir}/$0; exec sleep 60"`;
  const spec = writeSpec(
    dir,
    `[service.stops]
ExecStart = ${hog}, "stops"]
MemoryMax = "64M"

[service.goes-on]
ExecStart = ${hog}, "goes-on"]
MemoryMax = "64M"
OOMPolicy = "continue"
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  t.equal(await up.until('stops', 'Result', (v) => v === 'oom-kill', 30_000), 'oom-kill', 'the default, stop: result oom-kill');
  t.equal(await up.until('stops', 'ActiveState', (v) => v === 'failed'), 'failed', 'and stopped');
  for (let i = 0; i < 1500 && !fs.existsSync(path.join(dir, 'goes-on')); i++) await sleep(20);
  t.ok(fs.existsSync(path.join(dir, 'goes-on')), 'continue: the hog was killed and the main process went on');
  // Once the manager has seen the OOM kill (it logs it), the unit must still run.
  const seen = /goes-on\.service: the OOM killer killed \d+ of its processes \(OOMPolicy=continue\)/;
  let manager = '';
  for (let i = 0; i < 500 && !seen.test(manager); i++, await sleep(20)) manager = (await up.sctl('logs', 'sysmaster')).stdout;
  t.match(manager, seen, 'the manager saw it');
  t.equal(await up.until('goes-on', 'ActiveState', () => true), 'active', 'continue: still active');
  t.equal(await up.until('goes-on', 'Result', () => true), 'success');
});

t.test('TasksMax stops a fork loop', { skip }, async (t) => {
  const dir = scratch();
  const mark = marker();
  const spec = writeSpec(
    dir,
    `[service.forks]
ExecStart = ["/bin/sh", "-c", "i=0; while [ $i -lt 50 ]; do sleep ${mark} & i=$((i+1)); done; exec sleep ${mark}"]
TasksMax = 10
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  // dash gives up at the first fork the pids controller refuses: the loop never reaches 50.
  t.equal(await up.until('forks', 'Result', (v) => v === 'exit-code'), 'exit-code');
  const logs = await up.sctl('logs', 'forks');
  t.match(logs.stdout, /Cannot fork/, 'the shell was refused a fork');
  await sleep(300);
  t.same(pidsWith(mark), [], 'the sleeps it had started went with the failed unit (KillMode=control-group)');
});

t.test('a limit the machine cannot honour is refused at apply time, naming unit, key and controller', { skip }, async (t) => {
  const dir = scratch();
  const mark = marker();
  const ok = writeSpec(dir, `[service.a]\nExecStart = ["/bin/sleep", "${mark}"]\n`);
  const up = new Up(ok, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  // This machine's v1 blkio offers no weight file (neither CFQ nor BFQ).
  const hasWeight = ['blkio.weight', 'blkio.bfq.weight'].some((f) => fs.existsSync(`/sys/fs/cgroup/blkio/${f}`));
  if (hasWeight) return void t.pass('this machine can honour IOWeight: nothing to refuse');
  const bad = writeSpec(dir, `[service.a]\nExecStart = ["/bin/sleep", "${mark}"]\nIOWeight = 200\n`, 'bad.toml');
  const r = await up.sctl('apply', bad, '--yes');
  t.not(r.code, 0, 'refused');
  t.match(r.stdout + r.stderr, /a\.service: IOWeight: cannot be honoured: .*io/, r.stdout + r.stderr);
  t.equal(await up.until('a', 'ActiveState', () => true), 'active', 'nothing changed');
});

t.test('status shows the cgroup accounting, as systemctl does, and -o json and show carry it', { skip }, async (t) => {
  const dir = scratch();
  const spec = writeSpec(
    dir,
    `[service.acct]
ExecStart = ["/usr/bin/node", "-e", "globalThis.keep = Buffer.alloc(48 << 20, 1); let x = 0; const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; }; while (cpu() < 300000) x++; require('fs').writeFileSync('${path.join(dir, 'spent')}', ''); setInterval(() => {}, 1000)"]
TasksMax = 50
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  await up.until('acct', 'SubState', (v) => v === 'running');
  // The 48 MB are touched and 300 ms of CPU spent (CPU time, not wall time: the machine may be busy).
  for (let i = 0; i < 1000 && !fs.existsSync(path.join(dir, 'spent')); i++) await sleep(20);
  const status = await up.sctl('status', 'acct');
  t.match(status.stdout, /\n {6}Tasks: \d+ \(limit: 50\)\n/);
  t.match(status.stdout, /\n {5}Memory: \d+\.\dM \(peak: \d+\.\dM\)\n/);
  t.match(status.stdout, /\n {8}CPU: (\d+ms|\d+(\.\d+)?s)\n/);
  const [json] = await up.json<{ resources: { memoryCurrent: number; memoryPeak: number; tasksCurrent: number; tasksMax: number; cpuUsageNs: number } }[]>('status', 'acct');
  t.ok(json.resources.memoryCurrent > 48 << 20, `memory ${json.resources.memoryCurrent} holds the 48 MB`);
  t.ok(json.resources.memoryPeak >= json.resources.memoryCurrent, 'peak ≥ current');
  t.ok(json.resources.tasksCurrent >= 1 && json.resources.tasksMax === 50);
  t.ok(json.resources.cpuUsageNs >= 250e6, `CPU ${json.resources.cpuUsageNs} ns counts the busy loop`);
  const show = await up.sctl('show', 'acct', '-p', 'TasksCurrent', '--value');
  t.match(show.stdout, /^\d+\n$/);
});
