// Type=notify end to end: real senders (systemd-notify, `sysmaster notify`, a raw datagram), readiness held by a
// gate file so "activating until READY" is observed without timing assumptions.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { bin, marker, pidsWith, root, scratch, Up, writeSpec } from './harness.js';

interface Info {
  name: string;
  active: string;
  sub: string;
  mainPid: number | null;
}

const hasSystemdNotify = spawnSync('systemd-notify', ['--help'], { stdio: 'ignore' }).status === 0;

const dir = scratch();
const gate = (name: string) => path.join(dir, `gate-${name}`);
const open = path.join(dir, 'gate-open');
fs.writeFileSync(open, '');

// The raw sender: waits for its gate, then speaks sd_notify itself (it is the main process) and stays. In mainpid
// mode it hands the main role to a child, then stays until the file named by LEAVE exists (if set).
const sender = path.join(dir, 'sender.mjs');
fs.writeFileSync(
  sender,
  `import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { sendNotify } from ${JSON.stringify(path.join(root, 'dist/reconciler/notify.js'))};
const [mode, gate] = process.argv.slice(2);
const socket = process.env.NOTIFY_SOCKET;
const tick = setInterval(() => {
  if (!existsSync(gate)) return;
  clearInterval(tick);
  if (mode === 'ready') sendNotify(socket, 'READY=1\\nSTATUS=ready via datagram');
  if (mode === 'mainpid') {
    const child = spawn('/bin/sleep', [process.env.SLEEP_ARG], { stdio: 'ignore' });
    sendNotify(socket, \`MAINPID=\${child.pid}\\nREADY=1\\nSTATUS=handed over\`);
  }
  setInterval(() => process.env.LEAVE && existsSync(process.env.LEAVE) && process.exit(0), 20); // else stay up
}, 20);
`,
);

const names = ['sdnotify', 'smnotify', 'dgram', 'mainpid', 'mainpidSleep', 'adopted', 'adoptedSleep', 'never', 'deaf'] as const;
const marks = Object.fromEntries(names.map((n) => [n, marker()])) as Record<(typeof names)[number], string>;
const waitGate = (name: string) => `until [ -e ${gate(name)} ]; do sleep 0.05; done`;
// `tag` finds the sender's process; the handed-over sleep gets its own through the environment
const node = (mode: string, g: string, tag: string) => `ExecStart = ${JSON.stringify([process.execPath, sender, mode, g, tag])}`;
const units = [
  hasSystemdNotify &&
    `[service.sdnotify]
Type = "notify"
ExecStart = ["/bin/sh", "-c", "${waitGate('sdnotify')}; systemd-notify --ready --status='ready via systemd-notify'; exec sleep ${marks.sdnotify}"]
`,
  `[service.smnotify]
Type = "notify"
ExecStart = ["/bin/sh", "-c", "${waitGate('smnotify')}; ${process.execPath} ${bin('sysmaster')} notify READY=1 'STATUS=ready via sysmaster notify'; exec sleep ${marks.smnotify}"]
`,
  `[service.dgram]
Type = "notify"
${node('ready', gate('dgram'), marks.dgram)}
`,
  `[service.mainpid]
Type = "notify"
${node('mainpid', gate('mainpid'), marks.mainpid)}
Environment = { SLEEP_ARG = "${marks.mainpidSleep}", LEAVE = "${gate('mainpid-leave')}" }
`,
  // The old main stays up as the new main's parent, so the manager is not the one that reaps the new main.
  `[service.adopted]
Type = "notify"
TimeoutStopSec = "1s"
${node('mainpid', open, marks.adopted)}
Environment = { SLEEP_ARG = "${marks.adoptedSleep}" }
`,
  `[service.never]
Type = "notify"
TimeoutStartSec = "1s"
${node('never', open, marks.never)}
`,
  // The loader refuses Type=notify with NotifyAccess=none (systemd would quietly use main), so the access check is
  // shown with main: READY=1 from a grandchild of the main process (not the main process, not its child) is ignored.
  `[service.deaf]
Type = "notify"
NotifyAccess = "main"
# Long enough for the grandchild's Node cold start to send it even on a loaded machine; then it times out.
TimeoutStartSec = "5s"
ExecStart = ["/bin/sh", "-c", "/bin/sh -c '${process.execPath} ${bin('sysmaster')} notify --pid self READY=1; :'; exec sleep ${marks.deaf}"]
`,
].filter(Boolean);

const up = new Up(writeSpec(dir, units.join('\n')), path.join(dir, 'state'));
// stop first, then remove the directory it runs in
t.teardown(async () => {
  await up.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function waitGone(mark: string, timeoutMs = 20_000) {
  const t0 = Date.now();
  while (pidsWith(mark).length) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`process ${mark} still there`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const info = async (name: string) => (await up.call<Info[]>('list-units')).find((u) => u.name === name)!;

t.test('activating until READY=1', async (t) => {
  const held = ['smnotify', 'dgram', 'mainpid', ...(hasSystemdNotify ? ['sdnotify'] : [])];
  await up.waitFor(/\.service +\| inactive → activating/); // the spec is applied: every unit exists
  for (const u of held) await up.prop(u, 'ActiveState', (v) => v !== 'inactive');
  // never times out after 1 s: the held ones are still waiting after that
  await up.prop('never', 'ActiveState', (v) => v === 'failed');
  for (const u of held) {
    t.match(await info(`${u}.service`), { active: 'activating', sub: 'start', mainPid: Number }, `${u} is activating`);
    t.equal((await up.sctl('is-active', u)).code, 3, `${u}: is-active says no`);
  }
});

t.test('systemd-notify --ready', { skip: !hasSystemdNotify && 'systemd-notify is not installed (Debian package systemd)' }, async (t) => {
  fs.writeFileSync(gate('sdnotify'), '');
  await up.prop('sdnotify', 'ActiveState', (v) => v === 'active');
  const s = await up.sctl('status', 'sdnotify');
  t.equal(s.code, 0);
  t.match(s.stdout, /Status: "ready via systemd-notify"/);
  t.same(pidsWith(marks.sdnotify), [(await info('sdnotify.service')).mainPid], 'the main process is the payload');
});

t.test('sysmaster notify READY=1 STATUS=...', async (t) => {
  fs.writeFileSync(gate('smnotify'), '');
  await up.prop('smnotify', 'ActiveState', (v) => v === 'active');
  const s = await up.sctl('status', 'smnotify');
  t.equal(s.code, 0);
  t.match(s.stdout, /Status: "ready via sysmaster notify"/);
  const v = await up.sctl('show', 'smnotify', '-p', 'StatusText,SubState', '--value');
  t.equal(v.stdout, 'ready via sysmaster notify\nrunning\n');
});

t.test('a raw datagram from the main process', async (t) => {
  fs.writeFileSync(gate('dgram'), '');
  await up.prop('dgram', 'ActiveState', (v) => v === 'active');
  const [s] = await up.json<{ statusText: string; sub: string }[]>('status', 'dgram');
  t.match(s, { statusText: 'ready via datagram', sub: 'running' });
});

t.test('MAINPID= changes the main PID', async (t) => {
  const before = (await info('mainpid.service')).mainPid;
  t.same(pidsWith(marks.mainpid), [before], 'the sender is the main process first');
  fs.writeFileSync(gate('mainpid'), '');
  await up.prop('mainpid', 'ActiveState', (v) => v === 'active');
  const [sleeper] = pidsWith(marks.mainpidSleep);
  t.ok(sleeper, 'the handed-over process runs');
  t.equal((await up.sctl('show', 'mainpid', '-p', 'MainPID', '--value')).stdout.trim(), String(sleeper), 'MainPID is the new process');
  // the old main leaves, as a daemon's starter does: the new main is orphaned to the manager
  fs.writeFileSync(gate('mainpid-leave'), '');
  await waitGone(marks.mainpid);
  t.match(await info('mainpid.service'), { active: 'active', mainPid: sleeper }, 'the old main leaving does not end the unit');
  t.equal((await up.sctl('stop', 'mainpid')).code, 0);
  t.same(pidsWith(marks.mainpidSleep), [], 'stop ends the new main');
  t.equal((await info('mainpid.service')).active, 'inactive');
});

t.test('the exit of a new main process reaped by someone else is noticed', async (t) => {
  await up.prop('adopted', 'ActiveState', (v) => v === 'active');
  const [sleeper] = pidsWith(marks.adoptedSleep);
  t.equal((await info('adopted.service')).mainPid, sleeper, 'MainPID is the handed-over process');
  process.kill(sleeper, 'SIGKILL'); // its parent, the old main, reaps it
  // Not our child: a pidfd tells the manager it is gone, but not how it ended.
  const left = await up.prop('adopted', 'ActiveState', (v) => v !== 'active', 5_000).catch(() => 'active');
  t.equal(left, 'inactive', 'the unit ends when its main process is gone (status unknown: counted as clean)');
  t.match(up.output, new RegExp(`adopted\\.service: main process ${sleeper} exited; its status is unknown`), 'and says so');
  t.equal((await up.sctl('stop', 'adopted')).code, 0);
  t.same([...pidsWith(marks.adopted), ...pidsWith(marks.adoptedSleep)], [], 'stop ends the rest');
});

t.test('no READY=1: TimeoutStartSec fails the unit with result timeout', async (t) => {
  await up.prop('never', 'ActiveState', (v) => v === 'failed');
  const v = await up.sctl('show', 'never', '-p', 'ActiveState,Result', '--value');
  t.equal(v.stdout, 'failed\ntimeout\n');
  t.same(pidsWith(marks.never), [], 'its process was killed');
});

t.test('NotifyAccess=main ignores READY=1 from another process of the unit', async (t) => {
  await up.prop('deaf', 'ActiveState', (v) => v === 'failed');
  const v = await up.sctl('show', 'deaf', '-p', 'ActiveState,Result', '--value');
  t.equal(v.stdout, 'failed\ntimeout\n', 'times out although it sent READY=1');
  t.match(up.output, /deaf\.service: notify message from pid \d+ ignored \(NotifyAccess=main\)/, 'and the manager says why');
  t.same(pidsWith(marks.deaf), []);
});

t.test('everything stops', async (t) => {
  await up.ready();
  t.equal(await up.stop(), 0);
  t.same(Object.values(marks).flatMap((m) => pidsWith(m)), [], 'no payload left');
});
