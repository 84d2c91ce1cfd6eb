// Processed events in libudev's netlink format: the hashes udev's BPF filters use, a round trip through the real
// netlink group 2, and the real udevadm 252 reading what we send (its subsystem and tag filters run on our header).
import { spawn } from 'node:child_process';
import t from 'tap';
import { bloom64, decodeMonitorMessage, encodeMonitorMessage, MonitorListener, MonitorSender, murmur2 } from '../../devmaster/monitor.js';
import { udevadm } from './udevadm.js';

const root = process.getuid?.() === 0 ? false : 'sending to a netlink uevent group needs root';

t.test('MurmurHash2 as systemd computes it', async (t) => {
  // The real check is udevadm's BPF filter below, which compares our header's hashes with its own.
  t.equal(murmur2(''), 0, 'no bytes: seed ^ 0, mixed');
  t.equal(bloom64('systemd') & ~0n, bloom64('systemd'), 'a bloom is 64 bits');
  t.ok([0, 6, 12, 18].every((s) => (bloom64('seat') >> BigInt((murmur2('seat') >>> s) & 63)) & 1n), 'the four bits of the hash');
});

t.test('a message decodes to what was encoded; anything else is refused', async (t) => {
  const props = new Map([['ACTION', 'add'], ['DEVPATH', '/devices/virtual/net/x'], ['SUBSYSTEM', 'net'], ['SEQNUM', '7'], ['TAGS', ':systemd:']]);
  t.equal(decodeMonitorMessage(encodeMonitorMessage(new Map([...props].filter(([k]) => k !== 'SEQNUM')))), null, 'no SEQNUM');
  const m = encodeMonitorMessage(props);
  t.equal(m.subarray(0, 8).toString('latin1'), 'libudev\0');
  t.equal(m.readUInt32BE(24), murmur2('net'), 'subsystem hash, big-endian');
  t.equal((BigInt(m.readUInt32BE(32)) << 32n) | BigInt(m.readUInt32BE(36)), bloom64('systemd'), 'tag bloom');
  t.same(decodeMonitorMessage(m), props);
  t.equal(decodeMonitorMessage(Buffer.from('add@/devices/x\0ACTION=add\0')), null, 'a kernel uevent');
  const bad = Buffer.from(m);
  bad.writeUInt32BE(0xdeadbeef, 8);
  t.equal(decodeMonitorMessage(bad), null, 'a wrong magic');
  t.equal(decodeMonitorMessage(m.subarray(0, 50)), null, 'cut short');
});

t.test('sent on group 2, received by a listener', { skip: root }, async (t) => {
  const got: Map<string, string>[] = [];
  const l = new MonitorListener((p) => got.push(p));
  const s = new MonitorSender();
  const devpath = `/devices/virtual/test/monitor-${process.pid}`;
  s.send(new Map([['ACTION', 'change'], ['DEVPATH', devpath], ['SUBSYSTEM', 'test'], ['SEQNUM', '1']]));
  const deadline = Date.now() + 5000;
  while (!got.some((p) => p.get('DEVPATH') === devpath) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  s.close();
  l.close();
  t.ok(got.some((p) => p.get('DEVPATH') === devpath && p.get('ACTION') === 'change'));
});

const found = udevadm();
const noUdevadm = root || (typeof found === 'string' ? found : false);

t.test('udevadm monitor --udev reads our messages, with its filters', { skip: noUdevadm }, async (t) => {
  const u = found as { bin: string; lib: string };
  // udevadm listens on group 2 only where /run/udev/control exists (else it assumes no udevd and a container): give
  // it one in a mount namespace of its own, on a tmpfs /run, leaving this machine's /run alone.
  const tag = `t${process.pid}`;
  const child = spawn('unshare', ['-m', 'sh', '-c', `mount -t tmpfs tmpfs /run && mkdir -p /run/udev && touch /run/udev/control && exec "$0" monitor --udev --property --subsystem-match=net --tag-match=${tag}`, u.bin], {
    env: { ...process.env, LD_LIBRARY_PATH: u.lib },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  while (!out.includes('UDEV - the event')) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 1000)); // the header is printed before the socket is bound
  const s = new MonitorSender();
  const dev = (name: string, sub: string, tags: string) => new Map([['ACTION', 'change'], ['DEVPATH', `/devices/virtual/${sub}/${name}`], ['SUBSYSTEM', sub], ['SEQNUM', '1'], ['TAGS', tags]]);
  s.send(dev('wrong-subsystem', 'block', `:${tag}:`));
  s.send(dev('wrong-tag', 'net', ':other:'));
  s.send(dev('wanted', 'net', `:${tag}:`));
  s.close();
  // udevadm's stdout is a pipe here, so fully buffered: what it printed shows when it exits.
  await new Promise((r) => setTimeout(r, 500));
  const exited = new Promise((r) => child.on('exit', r));
  child.kill();
  await exited;
  t.match(out, /UDEV {2}\[\d+\.\d+\] change {3}\/devices\/virtual\/net\/wanted \(net\)\nACTION=change\n/);
  t.notMatch(out, /wrong-/, 'the BPF filters, computed from our hashes, dropped the others');
});
