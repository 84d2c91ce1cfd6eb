// The fd store: a listening socket the core deposits with init outlives the core. A client that connects while no
// core runs waits in its backlog and is served by the next core, which gets the socket back at start.
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { depositFds } from '../../init/protocol.js';
import { Init } from './harness.js';

/** Connect, send one line and close; resolves once the line is written (the kernel queues the connection). */
const client = (port: number, line: string) =>
  new Promise<void>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.end(line, () => resolve()));
    c.on('error', reject);
  });

t.test('a stored listener outlives the core; the client of the downtime is served by the next one', async (t) => {
  const init = new Init(t);
  const c1 = await init.ready();
  const { port } = await init.ask({ cmd: 'store', name: 'web' });
  await new Promise((r) => setTimeout(r, 100)); // the datagram is read by init

  init.hold(true);
  process.kill(c1, 'SIGKILL');
  const c2 = await init.started(c1);
  await client(port, 'hello from the downtime\n');
  init.hold(false);
  await init.ready(c1);
  const start = init.events().find((e) => e.ev === 'start' && e.core === c2)!;
  t.same(start.stored, { web: [6] }, 'the new core gets it back as fd 6, named');
  t.same(await init.ask({ cmd: 'accept', name: 'web' }), { data: 'hello from the downtime\n' }, 'the waiting client is served');
});

t.test('FDSTOREREMOVE closes it; messages from anyone but the core are ignored', async (t) => {
  const init = new Init(t);
  const c1 = await init.ready();
  await init.ask({ cmd: 'store', name: 'a' });
  await init.ask({ cmd: 'store', name: 'b' });
  await init.ask({ cmd: 'unstore', name: 'a' });
  // This test process is not the core: its deposit must not land in the store.
  const intruder = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => intruder.once('listening', r));
  depositFds(path.join(init.stateDir, 'fdstore.sock'), 'evil', [(intruder as unknown as { _handle: { fd: number } })._handle.fd]);
  intruder.close();
  await new Promise((r) => setTimeout(r, 100));
  process.kill(c1, 'SIGKILL');
  const c2 = await init.ready(c1);
  t.same(init.events().find((e) => e.ev === 'start' && e.core === c2)!.stored, { b: [6] });
  t.match(init.output, /fd store: ignoring a message from pid \d+, which is not the core/);
});
