// The whole path on a real interface: devmaster runs as a Type=notify service of `sysmaster up`, processes the
// kernel's events with Debian's rules and a rule of the test's that tags the interface `systemd`, and the core makes
// its device unit follow: a service bound to the interface starts when it appears and stops when it goes, twice.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { bin, scratch, Up, writeSpec } from '../integration/harness.js';
import { addInterface, deleteInterface } from './trigger.js';
import { debianRules } from './udevadm.js';

const rules = debianRules();
const skip = process.getuid?.() !== 0 ? 'needs root (network interfaces, netlink broadcast)' : typeof rules !== 'string' ? rules.skip : false;

t.test('ip link add / del: devmaster processes it, the bound service starts and stops', { skip }, async (t) => {
  const iface = `sme${process.pid % 100_000}`;
  const dir = scratch('sm-e2e-');
  const runDir = path.join(dir, 'devmaster');
  fs.mkdirSync(path.join(dir, 'rules'));
  fs.mkdirSync(path.join(dir, 'dev'));
  fs.writeFileSync(path.join(dir, 'rules/99-e2e.rules'), `SUBSYSTEM=="net", KERNEL=="${iface}", TAG+="systemd", ENV{E2E}="1"\n`);
  // The core reads the database devmaster writes.
  process.env.DEVMASTER_RUN_DIR = runDir;
  const device = `sys-subsystem-net-devices-${iface}.device`;
  const spec = writeSpec(
    dir,
    `
[service.devmaster]
Type = "notify"
ExecStart = [${JSON.stringify(process.execPath)}, ${JSON.stringify(bin('devmaster'))}]
Environment = { DEVMASTER_RUN_DIR = ${JSON.stringify(runDir)}, DEVMASTER_DEV_DIR = ${JSON.stringify(path.join(dir, 'dev'))}, DEVMASTER_RULES_DIRS = ${JSON.stringify(`${path.join(dir, 'rules')}:${rules}`)} }

[service.on-iface]
ExecStart = ["/bin/sleep", "3600"]
BindsTo = "${device.replaceAll('\\', '\\\\')}"
After = "${device}"
WantedBy = "${device}"
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(async () => {
    deleteInterface(iface);
    await up.stop();
  });
  await up.ready();
  const state = async (unit: string) => (await up.call<Record<string, string>>('show', { unit })).ActiveState;
  const until = (unit: string, want: string) => up.prop(unit, 'ActiveState', (v) => v === want).catch((e: Error) => e.message);
  t.equal(await state('devmaster.service'), 'active', 'devmaster is up (READY=1)');
  t.equal(await state('on-iface.service'), 'inactive', 'no interface, so the wanted service waits');
  for (const round of [1, 2]) {
    t.comment(`round ${round}: ip link add ${iface} type ${addInterface(iface)}`);
    t.equal(await until(device, 'active'), 'active', 'the device unit is plugged');
    t.equal(await until('on-iface.service', 'active'), 'active', 'what it wants started');
    deleteInterface(iface);
    t.equal(await until(device, 'inactive'), 'inactive', 'unplugged');
    t.equal(await until('on-iface.service', 'inactive'), 'inactive', 'what is bound to it stopped');
  }
});
