// Socket activation with real clients: the service starts on the first connection and inherits the listening fds
// (LISTEN_FDS from 3); a client that connects while no core runs is served once a new core has taken over;
// Accept=yes runs one instance per connection.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { scratch, sleep, Up, writeSpec } from './harness.js';

const node = process.execPath;

/** A server on the inherited fd 3 that answers every connection with what it got from the manager. */
const SERVER = `
const net = require('node:net');
const names = process.env.LISTEN_FDNAMES;
const ok = process.env.LISTEN_PID === String(process.pid);
for (let fd = 3; fd < 3 + Number(process.env.LISTEN_FDS); fd++)
  net.createServer((c) => c.end('pid=' + process.pid + ' fds=' + process.env.LISTEN_FDS + ' names=' + names + ' listenpid=' + ok + '\\n')).listen({ fd });
`;
/** An Accept=yes instance: fd 3 is the connection. */
const INSTANCE = `
const net = require('node:net');
const c = new net.Socket({ fd: 3, readable: true, writable: true });
c.once('data', (d) => c.end('echo ' + d.toString().trim() + ' from ' + process.env.REMOTE_ADDR + ' pid=' + process.pid + '\\n'));
`;

function ask(target: string | number, say = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect(target);
    let got = '';
    c.on('connect', () => say && c.write(say + '\n'));
    c.on('data', (d) => (got += d));
    c.on('end', () => resolve(got));
    c.on('error', reject);
    c.setTimeout(30_000, () => reject(new Error(`no answer from ${target}: ${got}`)));
  });
}

/** `sysmaster up` of `spec` in `dir`, up; stopped and `dir` removed at the end of the test. */
async function manager(t: Test, dir: string, spec: string): Promise<Up> {
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(async () => {
    await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await up.ready();
  return up;
}

const port = () => 20000 + ((process.pid * 7 + Math.floor(Math.random() * 1000)) % 20000);

t.test('Accept=no: the first connection starts the service, which inherits the listening fds', async (t) => {
  const dir = scratch();
  const sock = path.join(dir, 'run', 'app.sock');
  const tcp = port();
  fs.writeFileSync(path.join(dir, 'server.js'), SERVER);
  const spec = writeSpec(
    dir,
    `[socket.app]
ListenStream = ["${sock}", "127.0.0.1:${tcp}"]
SocketMode = "0600"

[service.app]
ExecStart = ["${node}", "${path.join(dir, 'server.js')}"]
`,
  );
  const up = await manager(t, dir, spec);
  t.equal(await up.prop('app.socket', 'ActiveState', (v) => v !== ''), 'active', 'the socket listens');
  t.equal(await up.prop('app.service', 'ActiveState', (v) => v !== ''), 'inactive', 'the service waits for a connection');
  t.equal(fs.statSync(sock).mode & 0o777, 0o600, 'SocketMode');
  t.equal((await up.call<Record<string, string>>('show', { unit: 'app.socket' })).SocketMode, '0600', 'shown in octal');
  const first = await ask(sock);
  t.match(first, /fds=2 names=app:app listenpid=true/, 'LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID');
  await up.prop('app.service', 'ActiveState', (v) => v === 'active');
  t.equal(await up.prop('app.socket', 'SubState', (v) => v !== ''), 'running', 'the socket hands over to the service');
  const second = await ask(tcp);
  t.equal(second.split(' ')[0], first.split(' ')[0], 'the same process serves the TCP socket');
  // Stopped, the service is started again by the next connection.
  await up.sctl('stop', 'app.service');
  await up.prop('app.socket', 'SubState', (v) => v === 'listening');
  const third = await ask(tcp);
  t.not(third.split(' ')[0], first.split(' ')[0], 'a new service process for the next connection');
});

t.test('a client that connects while no core runs is served after the takeover', async (t) => {
  const dir = scratch();
  const tcp = port();
  fs.writeFileSync(path.join(dir, 'server.js'), SERVER);
  const spec = writeSpec(
    dir,
    `[socket.app]
ListenStream = "127.0.0.1:${tcp}"

[service.app]
ExecStart = ["${node}", "${path.join(dir, 'server.js')}"]
`,
  );
  const up = await manager(t, dir, spec);
  await up.prop('app.socket', 'SubState', (v) => v === 'listening');
  const core = up.corePid();
  // SIGSTOP first, so that the connection surely arrives while the core cannot act; then kill -9.
  process.kill(core, 'SIGSTOP');
  const answer = ask(tcp);
  await sleep(200);
  process.kill(core, 'SIGKILL');
  const first = await answer;
  t.match(first, /fds=1 names=app listenpid=true/, 'served by the service the new core started');
  t.not(up.corePid(), core, 'by a new core');
  t.match(up.output, /took over/);
  // Again, with the service running: the same socket, the same service, and the socket listens again after it.
  const second = up.corePid();
  process.kill(second, 'SIGKILL');
  for (let i = 0; i < 200 && (up.corePid() === second || up.output.split('took over').length < 3); i++) await sleep(25);
  t.equal((await ask(tcp)).split(' ')[0], first.split(' ')[0], 'the service kept running through a second crash');
  await up.sctl('stop', 'app.service');
  await up.prop('app.socket', 'SubState', (v) => v === 'listening');
  t.match(await ask(tcp), /fds=1 names=app listenpid=true/, 'the socket the third core got back starts the service again');
  t.notMatch(up.output, /cannot listen/, 'never re-created');
});

t.test('Accept=yes: one instance per connection, concurrently, gone when done', async (t) => {
  const dir = scratch();
  const tcp = port();
  fs.writeFileSync(path.join(dir, 'instance.js'), INSTANCE);
  const spec = writeSpec(
    dir,
    `[socket.echo]
ListenStream = "127.0.0.1:${tcp}"
Accept = true

[service."echo@"]
ExecStart = ["${node}", "${path.join(dir, 'instance.js')}"]
`,
  );
  const up = await manager(t, dir, spec);
  const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => ask(tcp, `hi${i}`)));
  answers.forEach((a, i) => t.match(a, new RegExp(`^echo hi${i + 1} from 127\\.0\\.0\\.1 pid=\\d+`), `client ${i + 1} answered`));
  t.equal(new Set(answers.map((a) => a.split('pid=')[1])).size, 5, 'by five processes');
  const instances = async () =>
    (await up.call<{ name: string }[]>('list-units')).filter((u) => /^echo@\d/.test(u.name)).map((u) => u.name);
  for (let i = 0; i < 200 && (await instances()).length; i++) await sleep(50);
  t.same(await instances(), [], 'the instances are gone');
  const show = await up.call<Record<string, string>>('show', { unit: 'echo.socket' });
  t.equal(show.ActiveState, 'active');
});

const ipv6 = fs.existsSync('/proc/net/if_inet6') ? false : 'no IPv6 on this machine (/proc/net/if_inet6 is missing)';

t.test('IPv6, datagram, sequential-packet (abstract) and FIFO: a write to the FIFO starts the service with all four', { skip: ipv6 }, async (t) => {
  const dir = scratch();
  const fifo = path.join(dir, 'in.fifo');
  const dgram = path.join(dir, 'dgram.sock');
  const report = path.join(dir, 'report.json');
  const tcp = port();
  fs.writeFileSync(
    path.join(dir, 'report.js'),
    `const fs = require('node:fs');
const n = Number(process.env.LISTEN_FDS);
const kinds = [];
for (let fd = 3; fd < 3 + n; fd++) { const s = fs.fstatSync(fd); kinds.push(s.isFIFO() ? 'fifo' : s.isSocket() ? 'socket' : 'other'); }
fs.writeFileSync(${JSON.stringify(report)}, JSON.stringify({ n, names: process.env.LISTEN_FDNAMES, kinds }));
setInterval(() => {}, 1000);
`,
  );
  const spec = writeSpec(
    dir,
    `[socket.multi]
ListenStream = "[::1]:${tcp}"
ListenDatagram = "${dgram}"
ListenSequentialPacket = "@sm-test-${process.pid}"
ListenFIFO = "${fifo}"
FileDescriptorName = "all"

[service.multi]
ExecStart = ["${node}", "${path.join(dir, 'report.js')}"]
`,
  );
  const up = await manager(t, dir, spec);
  t.equal(await up.prop('multi.socket', 'SubState', (v) => v !== ''), 'listening');
  t.ok(fs.statSync(fifo).isFIFO(), 'the FIFO exists');
  t.notOk(fs.existsSync(report), 'nothing ran yet');
  fs.writeFileSync(fifo, 'go\n');
  await up.prop('multi.service', 'ActiveState', (v) => v === 'active');
  for (let i = 0; i < 100 && !fs.existsSync(report); i++) await sleep(50);
  t.same(JSON.parse(fs.readFileSync(report, 'utf8')), { n: 4, names: 'all:all:all:all', kinds: ['socket', 'socket', 'socket', 'fifo'] });
});

t.test('a socket unit that cannot listen fails with result resources, and says why', async (t) => {
  const dir = scratch();
  const busy = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => busy.once('listening', r));
  const taken = (busy.address() as net.AddressInfo).port;
  fs.writeFileSync(path.join(dir, 'server.js'), SERVER);
  const spec = writeSpec(
    dir,
    `[socket.app]
ListenStream = "127.0.0.1:${taken}"

[service.app]
ExecStart = ["${node}", "${path.join(dir, 'server.js')}"]
`,
  );
  const up = await manager(t, dir, spec);
  t.teardown(() => {
    busy.close();
  });
  t.equal(await up.prop('app.socket', 'ActiveState', (v) => v === 'failed'), 'failed');
  t.equal((await up.call<Record<string, string>>('show', { unit: 'app.socket' })).Result, 'resources');
  t.match(up.output, /app\.socket: cannot listen: bind 127\.0\.0\.1:\d+: EADDRINUSE/);
});

t.test('sctl list-sockets, as systemctl prints it, and in JSON', async (t) => {
  const dir = scratch();
  const tcp = port();
  const spec = writeSpec(
    dir,
    `[socket.app]
ListenStream = ["127.0.0.1:${tcp}", "${path.join(dir, 'app.sock')}"]
ListenDatagram = "${path.join(dir, 'app.dgram')}"

[service.app]
ExecStart = ["${node}", "-e", "setInterval(() => {}, 1000)"]

[socket.idle]
ListenStream = "${path.join(dir, 'idle.sock')}"

[service.idle]
ExecStart = ["${node}", "-e", "setInterval(() => {}, 1000)"]

[target.default]
Wants = "app.socket"
`,
  );
  const up = await manager(t, dir, spec);
  const rows = await up.json<{ listen: string; type: string; unit: string; activates: string }[]>('list-sockets');
  t.same(
    rows.map((r) => [r.listen, r.type, r.unit, r.activates]),
    [
      [path.join(dir, 'app.dgram'), 'Datagram', 'app.socket', 'app.service'],
      [path.join(dir, 'app.sock'), 'Stream', 'app.socket', 'app.service'],
      [`127.0.0.1:${tcp}`, 'Stream', 'app.socket', 'app.service'],
    ],
    'the active socket, each address, sorted',
  );
  t.equal((await up.json<unknown[]>('list-sockets', '--all')).length, 4, '--all adds the inactive one');
  const text = await up.sctl('list-sockets', '--show-types');
  t.match(text.stdout, /^LISTEN\s+TYPE\s+UNIT\s+ACTIVATES\n/);
  t.match(text.stdout, new RegExp(`127\\.0\\.0\\.1:${tcp}\\s+Stream\\s+app\\.socket\\s+app\\.service`));
  t.match(text.stdout, /3 sockets listed\./);
  const status = (await up.sctl('status', 'app.socket')).stdout.split('\n');
  const at = status.findIndex((l) => l.includes('Listen:'));
  t.same(
    status.slice(at, at + 3).map((l) => l.trim()),
    [`Listen: 127.0.0.1:${tcp} (Stream)`, `${path.join(dir, 'app.sock')} (Stream)`, `${path.join(dir, 'app.dgram')} (Datagram)`],
    'sctl status lists the addresses as systemctl does',
  );
  t.match(status.join('\n'), /Triggers: app\.service/);
});

const python = ['/usr/bin/python3', '/bin/python3'].find((p) => fs.existsSync(p));

t.test('Accept=yes on a sequential-packet socket: each connection gets an instance', { skip: !python && 'no python3 to speak SOCK_SEQPACKET' }, async (t) => {
  const dir = scratch();
  const name = `sm-seq-${process.pid}`;
  // Node cannot read a SOCK_SEQPACKET fd: the instance and the client are python3.
  fs.writeFileSync(path.join(dir, 'instance.py'), "import os\nmsg = os.read(3, 100)\nos.write(3, b'echo ' + msg)\n");
  const spec = writeSpec(
    dir,
    `[socket.seq]
ListenSequentialPacket = "@${name}"
Accept = true

[service."seq@"]
ExecStart = ["${python}", "${path.join(dir, 'instance.py')}"]
`,
  );
  await manager(t, dir, spec);
  const client = `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(20)
s.connect('\\0${name}')
s.send(sys.argv[1].encode())
print(s.recv(100).decode())
`;
  const ask1 = (word: string) => new Promise<string>((resolve) => {
    const c = spawn(python!, ['-c', client, word]);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('close', () => resolve(out.trim()));
  });
  t.same(await Promise.all([ask1('one'), ask1('two')]), ['echo one', 'echo two']);
});
