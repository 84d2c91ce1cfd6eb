// The control socket under hostile clients (docs/protocol.md, "Bad input"): raw bytes, no sctl.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { marker, pidsWith, scratch, Up, writeSpec } from './harness.js';

interface Reply {
  id: number | string | null;
  result?: unknown;
  error?: { code: string; message: string };
  event?: unknown;
}

/** A raw connection: write bytes, read reply lines, see whether the core closed it. */
class Raw {
  readonly sock: net.Socket;
  private buf = '';
  private replies: Reply[] = [];
  private waiters: (() => void)[] = [];
  ended = false;
  readonly connected: Promise<void>;
  readonly closed: Promise<void>;

  constructor(file: string) {
    this.sock = net.connect(file);
    this.sock.setEncoding('utf8');
    this.connected = new Promise((resolve, reject) => {
      this.sock.once('connect', resolve);
      this.sock.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.sock.on('close', () => resolve()));
    this.sock.on('error', () => {}); // a reset after ETOOBIG is fine: `closed` reports it
    this.sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.replies.push(JSON.parse(this.buf.slice(0, nl)) as Reply);
        this.buf = this.buf.slice(nl + 1);
      }
      this.wake();
    });
    this.sock.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  send(data: string | Buffer): void {
    this.sock.write(data);
  }

  /** The next reply, or null when the core ends the connection first. */
  async next(timeoutMs = 10_000): Promise<Reply | null> {
    const t0 = Date.now();
    while (!this.replies.length && !this.ended) {
      if (Date.now() - t0 > timeoutMs) throw new Error('no reply');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100).unref();
      });
    }
    return this.replies.shift() ?? null;
  }

  async request(id: number, method: string, params?: unknown): Promise<Reply | null> {
    this.send(JSON.stringify({ id, method, params }) + '\n');
    return this.next();
  }

  close(): void {
    this.sock.destroy();
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
}

const dir = scratch();
const [mA, mB] = [marker(), marker()];
const spec = writeSpec(
  dir,
  `[service.a]
ExecStart = ["/bin/sleep", "${mA}"]

[service.b]
ExecStart = ["/bin/sleep", "${mB}"]
`,
);
const state = path.join(dir, 'state');
const sockFile = path.join(state, 'control.sock');
const up = new Up(spec, state);
// stop first, then remove the directory it runs in
t.teardown(async () => {
  await up.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});
const conns: Raw[] = [];
t.teardown(() => conns.forEach((c) => c.close()));
const open = async () => {
  const c = new Raw(sockFile);
  conns.push(c);
  await c.connected;
  return c;
};

let before: unknown;
/** A status without its live cgroup accounting (memory, tasks, CPU), which moves on its own. */
const steady = (status: unknown) => (status as { resources?: unknown }[]).map(({ resources: _, ...s }) => s);
t.before(async () => {
  await up.ready();
  before = steady(await up.call('status', { lines: 0 }));
});

t.test('the socket is 0600 in a 0711 directory (traversable, not listable)', async (t) => {
  t.equal(fs.statSync(sockFile).mode & 0o777, 0o600);
  t.equal(fs.statSync(state).mode & 0o777, 0o711);
});

t.test('garbage gets EPARSE and the connection stays usable', async (t) => {
  const c = await open();
  c.send(Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x22, 0x0a])); // NUL, invalid UTF-8, '{"', newline
  t.match(await c.next(), { id: null, error: { code: 'EPARSE', message: String } });
  c.send('{"id": 1, "method": \n');
  t.match(await c.next(), { id: null, error: { code: 'EPARSE' } }, 'a truncated object');
  t.match(await c.request(2, 'ping'), { id: 2, result: { pid: up.corePid() } }, 'a request afterwards is answered');
});

t.test('malformed requests get their codes and the connection stays open', async (t) => {
  const c = await open();
  c.send('{"method": "ping"}\n');
  t.match(await c.next(), { id: null, error: { code: 'EREQUEST' } }, 'no id');
  c.send('{"id": 3}\n');
  t.match(await c.next(), { id: 3, error: { code: 'EREQUEST' } }, 'no method');
  c.send('[1, 2]\n');
  t.match(await c.next(), { id: null, error: { code: 'EREQUEST' } }, 'not an object');
  t.match(await c.request(4, 'no-such-method'), { id: 4, error: { code: 'EMETHOD' } });
  t.match(await c.request(5, '__proto__'), { id: 5, error: { code: 'EMETHOD' } }, 'an inherited name is not a method');
  t.match(await c.request(6, 'status', { units: 'a.service' }), { id: 6, error: { code: 'EPARAMS' } }, 'a string for a list');
  t.match(await c.request(7, 'show', { unit: 5 }), { id: 7, error: { code: 'EPARAMS' } }, 'a number for a name');
  t.match(await c.request(8, 'job', { units: ['a'], type: 'explode' }), { id: 8, error: { code: 'EPARAMS' } }, 'an unknown job type');
  t.match(await c.request(9, 'show', { unit: 'nope' }), { id: 9, error: { code: 'ENOUNIT' } });
  t.match(await c.request(10, 'ping'), { id: 10, result: { pid: up.corePid() } }, 'still open');
  t.notOk(c.ended, 'the core never closed it');
});

const stopB = JSON.stringify({ id: 11, method: 'job', params: { units: ['b'], type: 'stop' } }) + '\n';

t.test('a line over 1 MiB gets ETOOBIG and the connection is closed', async (t) => {
  const c = await open();
  // One write: the long line, its newline and a request after it, which the core must not run once it gave up.
  c.send('x'.repeat(2 * 1024 * 1024) + '\n' + stopB);
  t.match(await c.next(), { id: null, error: { code: 'ETOOBIG' } });
  t.equal(await c.next(), null, 'nothing else comes');
  await c.closed;
  t.pass('closed');
  t.equal((await up.call<Record<string, string>>('show', { unit: 'b' })).ActiveState, 'active', 'the request after the long line did not run');
});

t.test('ETOOBIG before the newline; the client goes on writing', async (t) => {
  const c = await open();
  c.send('y'.repeat(1.5 * 1024 * 1024));
  t.match(await c.next(), { id: null, error: { code: 'ETOOBIG' } }, 'the reply comes while the line is unfinished');
  c.send('\n' + stopB);
  t.equal(await c.next(), null, 'nothing else comes');
  await c.closed;
  t.equal((await up.call<Record<string, string>>('show', { unit: 'b' })).ActiveState, 'active', 'the later request did not run');
});

t.test('a half-open client does not block others', async (t) => {
  const slow = await open();
  slow.send('{"id": 12, "method": "pi');
  const other = await open();
  t.match(await other.request(13, 'ping'), { id: 13, result: { pid: up.corePid() } }, 'another client is answered');
  // The spec's units: the mount table's mount units (docs/mount.md) are not this test's.
  t.match(await other.request(14, 'list-units', { types: ['service', 'target'] }), { id: 14, result: [{ name: 'a.service' }, { name: 'b.service' }, { name: 'default.target' }] });
  slow.send('ng"}\n');
  t.match(await slow.next(), { id: 12, result: { pid: up.corePid() } }, 'the slow client finishes its line and is answered');
});

t.test('200 concurrent connections each get their answer', async (t) => {
  const n = 200;
  const clients = await Promise.all(Array.from({ length: n }, () => open()));
  const replies = await Promise.all(clients.map((c, i) => c.request(1000 + i, 'ping')));
  t.equal(replies.filter((r, i) => r?.id === 1000 + i && (r.result as { pid: number }).pid === up.corePid()).length, n, 'every ping answered with its own id');
  for (const c of clients) c.close();
});

t.test('afterwards the core answers and no unit changed', async (t) => {
  t.match(await up.call('ping'), { pid: up.corePid(), units: (before as unknown[]).length });
  t.same(steady(await up.call('status', { lines: 0 })), before, 'every unit as before: states, pids, restarts, since');
  t.equal(pidsWith(mA).length, 1);
  t.equal(pidsWith(mB).length, 1);
  t.equal(await up.stop(), 0);
  t.same([...pidsWith(mA), ...pidsWith(mB)], []);
});
