// The event queue's ordering rule (udev's event_is_blocked), as pure logic.
import t from 'tap';
import { EventQueue, type QueuedEvent } from '../../devmaster/queue.js';

let seq = 0;
const ev = (devpath: string, extra: Partial<QueuedEvent> = {}): QueuedEvent => ({ seqnum: ++seq, devpath, ...extra });
const paths = (es: QueuedEvent[]) => es.map((e) => e.devpath);

t.test('independent devices run in parallel; one device waits for its earlier event', async (t) => {
  const q = new EventQueue<QueuedEvent>();
  const a1 = ev('/devices/a');
  const b = ev('/devices/b');
  const a2 = ev('/devices/a');
  [a1, b, a2].forEach((e) => q.push(e));
  t.same(paths(q.take(10)), ['/devices/a', '/devices/b'], 'a2 waits behind a1');
  t.same(q.take(10), [], 'nothing more while a1 runs');
  q.done(a1);
  t.same(q.take(10), [a2]);
  q.done(b);
  q.done(a2);
  t.ok(q.idle);
});

t.test('a device waits for its parent and a parent for its children', async (t) => {
  const q = new EventQueue<QueuedEvent>();
  const disk = ev('/devices/virtual/block/loop0');
  const part = ev('/devices/virtual/block/loop0/loop0p1');
  const other = ev('/devices/virtual/block/loop01');
  [disk, part, other].forEach((e) => q.push(e));
  t.same(q.take(10), [disk, other], 'the partition waits; loop01 is no child of loop0');
  q.done(disk);
  t.same(q.take(10), [part]);
  const q2 = new EventQueue<QueuedEvent>();
  const child = ev('/devices/x/y');
  const parent = ev('/devices/x');
  q2.push(child);
  q2.push(parent);
  t.same(q2.take(10), [child], 'the parent waits for the child queued before it');
});

t.test('move, devnum and ifindex block too; take respects the slots', async (t) => {
  const q = new EventQueue<QueuedEvent>();
  const move = ev('/devices/net/new', { devpathOld: '/devices/net/old' });
  const old = ev('/devices/net/old');
  const n1 = ev('/devices/c1', { devnum: 'b7:0' });
  const n2 = ev('/devices/c2', { devnum: 'b7:0' });
  const i1 = ev('/devices/i1', { ifindex: '5' });
  const i2 = ev('/devices/i2', { ifindex: '5' });
  [move, old, n1, n2, i1, i2].forEach((e) => q.push(e));
  t.same(q.take(2), [move, n1], 'two slots');
  t.same(q.take(10), [i1], 'old waits for the move, n2 for n1, i2 for i1');
  t.equal(q.size, 6);
});
