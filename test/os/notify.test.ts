import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotifySocket, parseNotify, sendNotify, type NotifyMessage } from '../../reconciler/notify.js';
import { spawnProcess } from '../../reconciler/spawn.js';
import { SO_PASSCRED, SOL_SOCKET, SysError, bindUnix, setSockOpt, unixDgramSocket } from '../../reconciler/sys.js';
import { tempDir, until } from './fixtures/helpers.js';

const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';

/** A socket in a fresh directory, closed at the end of the test, collecting what arrives. */
function listen(t: Test, path = join(tempDir(t), 'notify')) {
  const sock = NotifySocket.open(path);
  t.teardown(() => sock.close());
  const got: NotifyMessage[] = [];
  sock.on('message', (m) => got.push(m));
  return { sock, path, got };
}

t.test('parseNotify', async (t) => {
  const cases: [string, Record<string, string>][] = [
    ['READY=1', { READY: '1' }],
    ['READY=1\nSTATUS=hello world\nMAINPID=42\n', { READY: '1', STATUS: 'hello world', MAINPID: '42' }],
    ['STATUS=a=b', { STATUS: 'a=b' }],
    ['STATUS=one\nSTATUS=two', { STATUS: 'two' }],
    ['no equals sign\n=empty key\nX=', { X: '' }],
    ['', {}],
  ];
  for (const [text, want] of cases) t.same(parseNotify(Buffer.from(text)), want, JSON.stringify(text));
  t.same(parseNotify(Buffer.from([0x41, 0x3d, 0xff, 0x0a, 0x42, 0x3d, 0x31])), { B: '1' }, 'an invalid UTF-8 line is skipped');
});

t.test('READY=1, STATUS= and MAINPID= from a child process arrive with its pid', async (t) => {
  const { path, got } = listen(t);
  const tsImport = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  const sender = fileURLToPath(new URL('./fixtures/send-notify.ts', import.meta.url));
  const child = spawn(process.execPath, [...tsImport, sender, path, 'READY=1\\nSTATUS=serving 3 clients\\nMAINPID=4242'], {
    stdio: 'inherit',
  });
  const code = await new Promise((res) => child.once('exit', res));
  t.equal(code, 0, 'the sender exited cleanly');
  await until(() => got.length > 0, 'the datagram');
  t.equal(got[0].pid, child.pid, 'SCM_CREDENTIALS carries the sender pid');
  t.equal(got[0].uid, process.getuid!());
  t.same(got[0].fields, { READY: '1', STATUS: 'serving 3 clients', MAINPID: '4242' });
  t.equal(got[0].raw, 'READY=1\nSTATUS=serving 3 clients\nMAINPID=4242');
});

t.test('abstract socket names and speaking for another pid', async (t) => {
  const { path, got } = listen(t, `@sysmaster-test-${process.pid}`);
  sendNotify(path, 'READY=1');
  sendNotify(path, 'STATUS=for my parent', { pid: process.ppid });
  await until(() => got.length === 2, 'both datagrams');
  t.same(
    got.map((m) => [m.pid, m.fields]),
    [
      [process.pid, { READY: '1' }],
      [process.getuid!() === 0 ? process.ppid : process.pid, { STATUS: 'for my parent' }],
    ],
  );
});

const noSystemdNotify = !existsSync(SYSTEMD_NOTIFY) && `${SYSTEMD_NOTIFY} is not installed`;
const notRoot = process.getuid!() !== 0 && 'only root can switch to nobody';

t.test('systemd-notify --ready reports its parent and does not block on BARRIER=1', { skip: noSystemdNotify }, async (t) => {
  const { path, got } = listen(t);
  const started = Date.now();
  const shell = spawn('sh', ['-c', `${SYSTEMD_NOTIFY} --ready --status=up`], {
    env: { NOTIFY_SOCKET: path },
    stdio: 'inherit',
  });
  const code = await new Promise((res) => shell.once('exit', res));
  const elapsed = Date.now() - started;
  t.equal(code, 0, 'systemd-notify succeeded');
  // Without closing the barrier's fd at once, systemd-notify waits its full 5 s timeout.
  t.ok(elapsed < 3000, `returned after ${elapsed} ms, before the 5 s barrier timeout`);
  await until(() => got.some((m) => m.fields.READY === '1'), 'READY=1');
  const ready = got.find((m) => m.fields.READY === '1')!;
  t.equal(ready.pid, shell.pid, 'the pid is the shell, systemd-notify’s parent');
  t.equal(ready.fields.STATUS, 'up');
  t.ok(got.some((m) => m.fields.BARRIER === '1'), 'the barrier datagram came too');
});

t.test('a service running as nobody can reach the socket', { skip: noSystemdNotify || notRoot }, async (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o755); // mkdtemp makes it 0700: nobody could not even look inside
  const { path, got } = listen(t, join(dir, 'notify'));
  const h = spawnProcess({
    argv: [SYSTEMD_NOTIFY, '--ready'],
    env: {},
    uid: 65534,
    gid: 65534,
    stdout: { kind: 'null' },
    stderr: { kind: 'inherit' },
    notifySocket: path,
  });
  t.equal((await h.exited).code, 0, 'systemd-notify succeeded');
  await until(() => got.some((m) => m.fields.READY === '1'), 'READY=1');
  t.equal(got.find((m) => m.fields.READY === '1')!.uid, 65534);
});

t.test('garbage does not throw and is dropped as systemd drops it', async (t) => {
  const { path, got } = listen(t);
  sendNotify(path, Buffer.from([0x52, 0x00, 0x3d, 0x31])); // embedded NUL: ignored whole
  sendNotify(path, Buffer.alloc(8192, 0x41)); // longer than 4096 bytes: ignored whole
  sendNotify(path, Buffer.from([0xff, 0xfe, 0x00])); // binary ending in NUL: the NUL is tolerated
  sendNotify(path, 'just words');
  sendNotify(path, 'READY=1\0'); // one trailing NUL is allowed
  sendNotify(path, 'STATUS=last');
  await until(() => got.some((m) => m.fields.STATUS === 'last'), 'the last datagram');
  t.same(
    got.map((m) => m.fields),
    [{}, {}, { READY: '1' }, { STATUS: 'last' }],
  );
});

t.test('a stale socket file is replaced; a socket handed over as an fd works', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'notify');
  NotifySocket.open(path).close();
  t.ok(existsSync(path), 'close leaves the file, like a crashed core would');
  const { got } = listen(t, path);
  sendNotify(path, 'READY=1');
  await until(() => got.length === 1, 'the datagram on the reopened socket');

  const handed = join(dir, 'handed');
  const fd = unixDgramSocket(true);
  bindUnix(fd, handed);
  setSockOpt(fd, SOL_SOCKET, SO_PASSCRED, 1);
  const sock = NotifySocket.fromFd(fd);
  t.teardown(() => sock.close());
  const more: NotifyMessage[] = [];
  sock.on('message', (m) => more.push(m));
  sendNotify(handed, 'WATCHDOG=1');
  await until(() => more.length === 1, 'the datagram on the adopted socket');
  t.same(more[0].fields, { WATCHDOG: '1' });
  t.equal(more[0].pid, process.pid);
});

t.test('sendNotify errors carry errno codes', async (t) => {
  const dir = tempDir(t);
  t.throws(() => sendNotify(join(dir, 'nobody-here'), 'READY=1'), { code: 'ENOENT' });
  t.throws(() => sendNotify('relative/path', 'READY=1'), { code: 'EAFNOSUPPORT' });
  t.throws(() => sendNotify(join(dir, 'x'.repeat(120)), 'READY=1'), SysError);
});
