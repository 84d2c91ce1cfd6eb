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

t.test("random bursts: the queue starts exactly what udev's rule allows, step by step", async (t) => {
  // The rule itself, as udev states it: an event may start when no earlier pending event relates to it.
  const under = (a: string, b: string) => a === b || b.startsWith(`${a}/`);
  const paths = (e: QueuedEvent) => [e.devpath, e.devpathOld].filter((p): p is string => !!p);
  const related = (a: QueuedEvent, b: QueuedEvent) =>
    paths(a).some((p) => paths(b).some((q) => under(p, q) || under(q, p))) ||
    (!!a.devnum && a.devnum === b.devnum) ||
    (!!a.ifindex && a.ifindex === b.ifindex);
  const devpaths = ['/devices/a', '/devices/a/b', '/devices/a/b/c', '/devices/a2', '/devices/d', '/devices/d/e'];
  let rng = 42;
  const rand = (n: number) => ((rng = (rng * 1103515245 + 12345) & 0x7fffffff) % n);
  let mismatches = 0;
  for (let round = 0; round < 200; round++) {
    const q = new EventQueue<QueuedEvent>();
    const pending: QueuedEvent[] = [];
    const running = new Set<QueuedEvent>();
    for (let step = 0; step < 60; step++) {
      if (rand(3) > 0 || !running.size) {
        const e = ev(devpaths[rand(devpaths.length)], {
          ...(rand(8) === 0 ? { devpathOld: devpaths[rand(devpaths.length)] } : {}),
          ...(rand(4) === 0 ? { devnum: `b7:${rand(3)}` } : {}),
          ...(rand(4) === 0 ? { ifindex: String(rand(3)) } : {}),
        });
        pending.push(e);
        q.push(e);
      } else {
        const done = [...running][rand(running.size)];
        running.delete(done);
        pending.splice(pending.indexOf(done), 1);
        q.done(done);
      }
      const allowed = pending.filter((e, i) => !running.has(e) && !pending.slice(0, i).some((x) => related(x, e)));
      const started = q.take(Infinity);
      started.forEach((e) => running.add(e));
      if (JSON.stringify(started) !== JSON.stringify(allowed)) mismatches++;
    }
  }
  t.equal(mismatches, 0, 'the same events, in the same order, at every step of 200 random runs');
});
