// Device units in the spec: named in a dependency without a table (the loader makes them), or with a table of their
// own; the synthesised default.target starts neither them nor what only a device starts.
import t from 'tap';
import type { DeviceConfig, TargetConfig } from '../../specs/types.js';
import { parse, problem } from './helpers.js';

const NET = 'sys-subsystem-net-devices-dm0.device';

t.test('a device named in a dependency is a unit with every default, where it is first named', async (t) => {
  const spec = await parse(`[manager]
DefaultTimeoutStartSec = "10s"

[service.vpn]
ExecStart = "/bin/true"
BindsTo = "${NET}"
After = ["${NET}", "dev-loop0.device"]
`);
  const d = spec.units[NET];
  t.match(d, { name: NET, type: 'device', keys: {}, where: { file: '/specs/system.toml', line: 6 } });
  t.match(d.config as DeviceConfig, { Description: NET, JobRunningTimeoutSec: 10_000, Wants: [], BindsTo: [] });
  t.equal(spec.units['dev-loop0.device'].where.line, 7, 'After= names it first');
});

t.test('a [device.NAME] table: Description, the [Unit] keys and JobRunningTimeoutSec=', async (t) => {
  const spec = await parse(`[device."dev-disk-by\\\\x2dlabel-data"]
Description = "The data disk"
Wants = "fsck.service"
JobRunningTimeoutSec = "infinity"

[service.fsck]
Type = "oneshot"
ExecStart = "/bin/true"
`);
  const c = spec.units['dev-disk-by\\x2dlabel-data.device'].config as DeviceConfig;
  t.match(c, { Description: 'The data disk', Wants: ['fsck.service'], JobRunningTimeoutSec: Infinity });
  const p = await problem('[device.x]\nExecStart = "/bin/true"\n');
  t.match(p, { unit: 'x.device', key: 'ExecStart', message: 'unknown device key "ExecStart"', hint: /service key/ });
});

t.test('default.target wants no device, nor what only devices start', async (t) => {
  const spec = await parse(`[device.dev-loop0]
Wants = "by-device-wants.service"

[service.by-device-wants]
ExecStart = "/bin/true"

[service.wanted-by-device]
ExecStart = "/bin/true"
WantedBy = "${NET}"

[service.wanted-by-both]
ExecStart = "/bin/true"
WantedBy = ["${NET}", "multi-user.target"]

[service.bound]
ExecStart = "/bin/true"
BindsTo = "dev-loop1.device"

[target.multi-user]
`);
  t.same((spec.units['default.target'].config as TargetConfig).Wants, ['bound.service', 'multi-user.target', 'wanted-by-both.service']);
  t.ok(spec.units[NET] && spec.units['dev-loop1.device'], 'the named devices are units');
});

t.test('a name of another type still has to be defined', async (t) => {
  const p = await problem('[service.a]\nExecStart = "/bin/true"\nBindsTo = "dev-loop0.mount"\n');
  t.match(p, { key: 'BindsTo', message: 'BindsTo= names dev-loop0.mount, which is not defined' });
});
