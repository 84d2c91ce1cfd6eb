// Kernel uevents on the netlink socket: the message format, and real events written through /sys, a burst of 2,000
// with none lost.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import t from 'tap';
import { cannotTrigger, LO } from './trigger.js';
import { parseUevent, UeventListener, type Uevent } from '../../devmaster/uevents.js';

const msg = (...parts: string[]) => Buffer.from(parts.join('\0') + '\0');

t.test('the message format', async (t) => {
  t.same(parseUevent(msg('change@/devices/virtual/net/lo', 'ACTION=change', 'DEVPATH=/devices/virtual/net/lo', 'SUBSYSTEM=net', 'INTERFACE=lo', 'IFINDEX=1', 'SEQNUM=7')), {
    action: 'change',
    devpath: '/devices/virtual/net/lo',
    properties: { ACTION: 'change', DEVPATH: '/devices/virtual/net/lo', SUBSYSTEM: 'net', INTERFACE: 'lo', IFINDEX: '1', SEQNUM: '7' },
  });
  t.equal(parseUevent(msg('libudev', 'whatever')), null, "libudev's own messages are not the kernel's");
  t.equal(parseUevent(msg('add@/devices/x', 'ACTION=remove', 'DEVPATH=/devices/x', 'SUBSYSTEM=y')), null, 'a header that disagrees');
  t.equal(parseUevent(msg('add@/devices/x', 'ACTION=add', 'DEVPATH=/devices/x')), null, 'no SUBSYSTEM');
});


t.test('real events through /sys: one change, then a burst of 2,000 with none lost', { skip: cannotTrigger }, async (t) => {
  const got: Uevent[] = [];
  let overflows = 0;
  const l = new UeventListener(
    (e) => got.push(e),
    () => overflows++,
  );
  t.teardown(() => l.close());
  // Marked with a SYNTH_UUID: other tests on this machine cause events on lo too, and these are told apart.
  const uuid = randomUUID();
  const lo = () => got.filter((e) => e.devpath === '/devices/virtual/net/lo' && e.properties.SYNTH_UUID === uuid);
  const until = async (n: number) => {
    for (let i = 0; i < 400 && lo().length < n; i++) await new Promise((r) => setTimeout(r, 25));
  };
  fs.writeFileSync(LO, `change ${uuid}`);
  await until(1);
  t.match(lo()[0]?.properties, { SUBSYSTEM: 'net', INTERFACE: 'lo', IFINDEX: '1' });
  // Written while the loop is busy here: every event waits in the socket's buffer.
  for (let i = 0; i < 2000; i++) fs.writeFileSync(LO, `change ${uuid}`);
  await until(2001);
  t.equal(lo().length, 2001, 'every event arrived');
  t.equal(new Set(lo().map((e) => e.properties.SEQNUM)).size, 2001, 'each once (distinct SEQNUM)');
  t.equal(overflows, 0, 'no overflow');
});
