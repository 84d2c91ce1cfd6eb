// Device units with real network interfaces (ip link add ... type dummy, or a bridge where the kernel has no dummy
// driver, as this VM's has not): the test plays devmaster, writing each device's database record (devmaster/db.ts) in a
// database of its own (DEVMASTER_RUN_DIR) and broadcasting the processed event on netlink group 2
// (devmaster/monitor.ts), as devmaster does. Every manager on this machine hears these broadcasts, so the interfaces
// have names no other test uses, and only one device is tagged `systemd` in them, briefly: the others are units
// because the spec names them, which no other manager's spec does.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { deviceId, DeviceDb } from '../../devmaster/db.js';
import { MonitorSender } from '../../devmaster/monitor.js';
import { Device } from '../../devmaster/sysfs.js';
import { interfaceKind } from '../devmaster/trigger.js';
import { marker, scratch, sleep, Up, writeSpec } from './harness.js';

interface Info {
  name: string;
  active: string;
  sub: string;
}

const tag = `smd${process.pid % 100_000}`;

const kind = process.getuid?.() === 0 ? interfaceKind() : null;
const cannot = process.getuid?.() !== 0 ? 'needs root: ip link add, and sending on netlink group 2' : kind ? false : 'ip link add makes neither a dummy nor a bridge interface here';

t.test('device units follow devices', { skip: cannot }, async (t) => {
  const dir = scratch('sm-device-');
  const runDir = path.join(dir, 'devmaster');
  // The core reads its devmaster's database here (the manager's environment is this process's).
  process.env.DEVMASTER_RUN_DIR = runDir;
  const db = new DeviceDb(runDir);
  const sender = new MonitorSender();
  const [A, B, C, D, E] = ['a', 'b', 'c', 'd', 'e'].map((s) => `${tag}${s}`);
  const unit = (iface: string) => `sys-subsystem-net-devices-${iface}.device`;
  const ip = (...args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  };
  t.teardown(() => {
    for (const iface of [A, B, D, E]) spawnSync('ip', ['link', 'del', iface]);
    sender.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let seq = 0;
  /** What devmaster broadcasts once it has processed an event of `iface`. */
  const send = (action: string, d: Device, extra: Record<string, string> = {}, tagged = false) =>
    sender.send(
      new Map([
        ['ACTION', action],
        ['DEVPATH', d.devpath],
        ['SUBSYSTEM', 'net'],
        ['INTERFACE', d.sysname],
        ['IFINDEX', String(d.ifindex)],
        ['SEQNUM', String(++seq)],
        ...(tagged ? [['TAGS', ':systemd:'], ['CURRENT_TAGS', ':systemd:']] : []),
        ...Object.entries(extra),
      ] as [string, string][]),
    );
  const record = (props: [string, string][] = [], tagged = false) => {
    const tags = tagged ? ['systemd'] : [];
    return { links: [], linkPriority: 0, properties: props, tags, currentTags: tags };
  };
  /** The interface is made and processed: its database record, then the broadcast (`quiet`: none, as at boot). */
  const plug = (iface: string, opts: { extra?: Record<string, string>; tagged?: boolean; quiet?: boolean } = {}) => {
    ip('link', 'add', iface, 'type', kind!);
    const d = Device.find(`/sys/class/net/${iface}`)!;
    db.write(deviceId(d), record(Object.entries(opts.extra ?? {}), opts.tagged));
    if (!opts.quiet) send('add', d, opts.extra, opts.tagged);
  };
  const unplug = (iface: string, tagged = false) => {
    const d = Device.find(`/sys/class/net/${iface}`)!;
    const id = deviceId(d);
    ip('link', 'del', iface);
    db.remove(id);
    send('remove', d, {}, tagged);
  };

  // A is there before the manager starts: only the database says so (tagged there: no broadcast reaches anyone).
  plug(A, { tagged: true, quiet: true });
  // E too, with no tag: a unit only because the spec names it.
  plug(E, { quiet: true });
  const [coldMark, hotMark, tplMark, untaggedMark] = [marker(), marker(), marker(), marker()];
  const bound = (iface: string) => `BindsTo = "${unit(iface)}"\nAfter = "${unit(iface)}"\nWantedBy = "${unit(iface)}"`;
  const spec = writeSpec(
    dir,
    `[service.cold]
ExecStart = ["/bin/sleep", "${coldMark}"]
${bound(A)}

[service.hot]
ExecStart = ["/bin/sleep", "${hotMark}"]
${bound(B)}

[service."tpl@"]
ExecStart = ["/bin/sleep", "${tplMark}"]

[service.untagged]
ExecStart = ["/bin/sleep", "${untaggedMark}"]
${bound(E)}

[device."sys-subsystem-net-devices-${C}"]
Description = "Never there"
JobRunningTimeoutSec = "1s"
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const active = (name: string, want: string) => up.prop(name, 'ActiveState', (v) => v === want);
  const devices = async () => (await up.json<Info[]>('list-units', '--type=device')).map((u) => u.name);

  t.test('coldplug: a tagged device already there is plugged at start, and what wants it runs', async (t) => {
    t.equal(await active(unit(A), 'active'), 'active');
    t.equal(await up.prop(unit(A), 'SysFSPath', () => true), `/sys/devices/virtual/net/${A}`);
    t.equal(await active('cold.service', 'active'), 'active', 'WantedBy= and BindsTo= the device');
    t.equal(await up.prop('hot.service', 'ActiveState', () => true), 'inactive', 'its device is not there: default.target does not start it');
    t.equal(await up.prop(unit(B), 'ActiveState', () => true), 'inactive', 'nor the device');
    t.equal(await active(unit(E), 'active'), 'active', 'a device no rule tagged, looked up when the spec\'s unit was made');
    t.equal(await active('untagged.service', 'active'), 'active');
  });

  t.test('status, list-units and JSON show the device', async (t) => {
    const status = await up.sctl('status', unit(A));
    t.match(status.stdout, `Device: /sys/devices/virtual/net/${A}`);
    t.match(status.stdout, /Active: active \(plugged\)/);
    const list = await up.json<Info[]>('list-units', '--type=device');
    t.match(list.find((u) => u.name === `sys-devices-virtual-net-${A}.device`), { active: 'active', sub: 'plugged' }, 'the /sys path form, found');
    t.match(list.find((u) => u.name === unit(A)), { active: 'active', sub: 'plugged' });
    const [json] = await up.json<{ sysfs: string; type: string }[]>('status', unit(A));
    t.match(json, { type: 'device', sysfs: `/sys/devices/virtual/net/${A}` });
  });

  t.test('plugged: the bound service starts, and SYSTEMD_WANTS starts an instance of a template', async (t) => {
    plug(B, { extra: { SYSTEMD_WANTS: 'tpl@.service' } });
    t.equal(await active(unit(B), 'active'), 'active');
    t.equal(await active('hot.service', 'active'), 'active');
    t.equal(await active(`tpl@sys-devices-virtual-net-${B}.service`, 'active'), 'active', 'the escaped /sys path as instance');
  });

  t.test('unplugged: the bound service stops, the units only the device made go', async (t) => {
    unplug(B);
    t.equal(await active('hot.service', 'inactive'), 'inactive', 'BindsTo=');
    t.equal(await active(unit(B), 'inactive'), 'inactive', 'a unit the spec names stays, inactive');
    for (let i = 0; i < 200 && (await devices()).includes(`sys-devices-virtual-net-${B}.device`); i++) await sleep(25);
    t.notOk((await devices()).includes(`sys-devices-virtual-net-${B}.device`), 'the found /sys path unit is gone');
    plug(B);
    t.equal(await active('hot.service', 'active'), 'active', 'plugged again: WantedBy= starts it again');
  });

  t.test('a tagged device no spec names is a unit while it is there', async (t) => {
    plug(D, { tagged: true });
    const found = async () => (await up.json<(Info & { description: string })[]>('list-units', '--type=device')).find((u) => u.name === unit(D));
    for (let i = 0; i < 200 && !(await found()); i++) await sleep(25);
    t.match(await found(), { active: 'active', sub: 'plugged', description: `/sys/subsystem/net/devices/${D}` }, 'described by its path');
    unplug(D, true);
    for (let i = 0; i < 200 && (await found()); i++) await sleep(25);
    t.notOk(await found(), 'gone with the device');
  });

  t.test('SYSTEMD_READY=0 counts as unplugged', async (t) => {
    const d = Device.find(`/sys/class/net/${A}`)!;
    db.write(deviceId(d), record([['SYSTEMD_READY', '0']], true));
    send('change', d, { SYSTEMD_READY: '0' });
    t.equal(await active(unit(A), 'inactive'), 'inactive');
    t.equal(await active('cold.service', 'inactive'), 'inactive');
    db.write(deviceId(d), record([], true));
    send('change', d);
    t.equal(await active('cold.service', 'active'), 'active', 'ready again: started again');
  });

  t.test('a stop of a plugged device is done at once and leaves it plugged', async (t) => {
    const r = await up.sctl('stop', unit(A));
    t.equal(r.code, 0, r.stderr);
    t.equal(await up.prop(unit(A), 'ActiveState', () => true), 'active');
    t.equal(await up.prop('cold.service', 'ActiveState', () => true), 'inactive', 'what is bound to it stops with the stop job, as in systemd');
    t.equal((await up.sctl('start', 'cold.service')).code, 0);
  });

  t.test('a start of a device that does not come fails after JobRunningTimeoutSec= with result timeout', async (t) => {
    const t0 = Date.now();
    const r = await up.sctl('start', unit(C));
    t.not(r.code, 0);
    t.ok(Date.now() - t0 >= 1_000, 'it waited');
    t.match(await up.call<Record<string, string>>('show', { unit: unit(C) }), { ActiveState: 'inactive', Result: 'timeout', Description: 'Never there' });
  });

  t.test('a device removed while no core ran is noticed by the next core', async (t) => {
    await sleep(300); // the state saved
    await up.killCore(async () => unplug(A)); // its broadcast dies with the stopped core's socket
    t.equal(await active(unit(A), 'inactive'), 'inactive');
    t.equal(await active('cold.service', 'inactive'), 'inactive', 'BindsTo=');
    t.equal(await active('hot.service', 'active'), 'active', 'B is still there');
  });
});
