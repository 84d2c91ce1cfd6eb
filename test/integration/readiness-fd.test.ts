// NotifyFd= (s6's notification-fd) end to end: a newline on the fd makes a Type=notify service active, through
// posix_spawn and through child_process (User=), next to a socket unit's LISTEN_FDS, and across a core's death.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { cli, marker, pidsWith, scratch, sleep, Up, writeSpec } from './harness.js';

const root = process.getuid!() === 0;

/** Connect and leave the connection pending: enough for a socket unit to start its service. */
function poke(sock: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock, () => {
      c.destroy();
      resolve();
    });
    c.on('error', reject);
  });
}

t.test('a newline on NotifyFd is READY=1', async (t) => {
  const dir = scratch();
  const file = (n: string) => path.join(dir, n);
  const [mFd, mUser, mSock, mClash] = [marker(), marker(), marker(), marker()];
  const spec = writeSpec(
    dir,
    `[service.fd]
Type = "notify"
NotifyFd = 5
ExecStart = ["/bin/sh", "-c", "printf 'not yet' >&5; touch ${file('partial')}; until [ -e ${file('go')} ]; do sleep 0.02; done; echo >&5; exec sleep ${mFd}"]

${root ? `[service.user]
Type = "notify"
NotifyFd = 4
User = "nobody"
ExecStart = ["/bin/sh", "-c", "echo >&4; exec sleep ${mUser}"]
` : ''}
[socket.sock]
ListenStream = "${file('s.sock')}"

# $$$$ is the shell's $$ (the manager expands $$ to $): the sockets at 3, the FIFO above them.
[service.sock]
Type = "notify"
NotifyFd = 4
ExecStart = ["/bin/sh", "-c", "[ -S /proc/$$$$/fd/3 ] && [ -p /proc/$$$$/fd/4 ] && echo >&4; exec sleep ${mSock}"]

[socket.clash]
ListenStream = "${file('c.sock')}"

[service.clash]
Type = "notify"
NotifyFd = 3
ExecStart = ["/bin/sleep", "${mClash}"]
`,
  );
  const up = new Up(spec, file('state'));
  t.teardown(async () => {
    await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  t.test('activating until the newline; text without one is not readiness', async (t) => {
    await up.waitFor(/fd\.service +\| inactive → activating/);
    while (!fs.existsSync(file('partial'))) await sleep(20);
    await sleep(500);
    t.equal(await up.prop('fd', 'ActiveState', () => true), 'activating', '"not yet" without a newline: still activating');
    fs.writeFileSync(file('go'), '');
    await up.prop('fd', 'ActiveState', (v) => v === 'active');
    const [s] = await up.json<{ sub: string; mainPid: number }[]>('status', 'fd');
    t.equal(s.sub, 'running');
    t.same(pidsWith(mFd), [s.mainPid], 'the main process is the payload');
  });

  t.test('User=: the fd comes through child_process too', { skip: !root && 'needs root (User=nobody)' }, async (t) => {
    t.equal(await up.prop('user', 'ActiveState', (v) => v === 'active'), 'active');
    t.equal(pidsWith(mUser).length, 1);
  });

  t.test('next to a socket unit: LISTEN_FDS from 3, the NotifyFd above them', async (t) => {
    await up.prop('sock.socket', 'ActiveState', (v) => v === 'active');
    await poke(file('s.sock'));
    t.equal(await up.prop('sock', 'ActiveState', (v) => v === 'active'), 'active', 'both fds were where they belong');
    t.equal(pidsWith(mSock).length, 1);
  });

  t.test('a NotifyFd among the LISTEN_FDS is refused at start, saying what to write', async (t) => {
    await up.prop('clash.socket', 'ActiveState', (v) => v === 'active');
    await poke(file('c.sock'));
    t.equal(await up.prop('clash', 'ActiveState', (v) => v === 'failed'), 'failed');
    t.match(up.output, /clash\.service: failed to run ExecStart command \/bin\/sleep: NotifyFd=3 is taken: fd 3 is its LISTEN_FDS socket; set NotifyFd = 4 or more/);
    t.same(pidsWith(mClash), [], 'nothing ran');
  });

  t.test('everything stops', async (t) => {
    t.equal(await up.stop(), 0);
    t.same([mFd, mUser, mSock, mClash].flatMap((m) => pidsWith(m)), []);
  });
});

t.test('a newline written while no core runs is seen by the next core', async (t) => {
  const dir = scratch();
  const mark = marker();
  const [go, wrote] = [path.join(dir, 'go'), path.join(dir, 'wrote')];
  const up = new Up(
    writeSpec(
      dir,
      `[service.slow]
Type = "notify"
NotifyFd = 3
ExecStart = ["/bin/sh", "-c", "until [ -e ${go} ]; do sleep 0.02; done; echo >&3; touch ${wrote}; exec sleep ${mark}"]
`,
    ),
    path.join(dir, 'state'),
    [],
    { init: true },
  );
  t.teardown(async () => {
    await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await up.waitFor(/slow\.service +\| inactive → activating/);
  const pid = Number(await up.until('slow', 'MainPID', (v) => Number(v) > 0));
  await up.killCore(async () => {
    fs.writeFileSync(go, '');
    while (!fs.existsSync(wrote)) await sleep(20); // written, and nobody reads it
  });
  t.equal(await up.until('slow', 'ActiveState', (v) => v === 'active'), 'active');
  t.equal(await up.until('slow', 'MainPID', () => true), String(pid), 'same PID');
  t.equal(await up.until('slow', 'NRestarts', () => true), '0', 'not restarted');
  t.same(pidsWith(mark), [pid]);
});

t.test('validate: NotifyFd needs Type=notify and a number past stderr', async (t) => {
  const dir = scratch();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const spec = writeSpec(
    dir,
    `[service.simple]
ExecStart = ["/bin/true"]
NotifyFd = 3

[service.stdio]
Type = "notify"
ExecStart = ["/bin/true"]
NotifyFd = 2
`,
  );
  const r = await cli('sysmaster', ['validate', spec]);
  t.equal(r.code, 1);
  t.match(r.stderr, `${spec}:3: simple.service: NotifyFd: NotifyFd= is a readiness protocol, which only Type=notify waits for (Type=simple) (set Type = "notify", or leave NotifyFd out)`);
  t.match(r.stderr, `${spec}:8: stdio.service: NotifyFd: NotifyFd=2 would replace the service's stderr (use 3 or more`);
});
