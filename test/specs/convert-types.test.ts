// sysmaster convert for .socket, .timer, .path and .mount units: systemd's directives map to the spec keys of the
// same name, the unit each one starts is converted too, and a type the spec does not have yet is reported.
import path from 'node:path';
import t from 'tap';
import { unitKeys } from '../../specs/keys.js';
import { convert, type Report } from '../../specs/systemd/convert.js';
import { configOf, loadConverted } from './convert-helpers.js';
import { tree } from './helpers.js';

const about = (reports: Report[], text: string): Report[] => reports.filter((r) => r.message.includes(text));
const missing = (type: string): string | false => !unitKeys[type] && `the spec has no .${type} units yet`;

const files = {
  'echo.socket': '[Socket]\nListenStream=127.0.0.1:7777\nAccept=yes\nSocketMode=0600\nBacklog=16\nMaxConnections=4\n',
  'echo@.service': '[Unit]\nDescription=Echo %i for %p\n[Service]\nExecStart=/bin/cat\nStandardInput=socket\n',
  'web.socket':
    '[Unit]\nDescription=Web\n[Socket]\nListenStream=8080\nListenStream=[::1]:8081\nService=webd.service\nFreeBind=yes\n' +
    '[Install]\nWantedBy=sockets.target\n',
  'webd.service': '[Service]\nExecStart=/bin/webd\n',
  'daily.timer':
    '[Timer]\nOnCalendar=daily\nOnCalendar=Mon..Fri *-*-* 02:00\nOnBootSec=15min\nPersistent=yes\nRandomizedDelaySec=1h\n' +
    'Unit=job.service\nWakeSystem=no\n',
  'job.service': '[Service]\nType=oneshot\nExecStart=/bin/job\n',
  'watch.path': '[Path]\nPathExists=/srv/in/ready\nPathChanged=/etc/app.conf\nMakeDirectory=yes\nDirectoryMode=0700\n',
  'watch.service': '[Service]\nType=oneshot\nExecStart=/bin/reload\n',
  'srv-data.mount': '[Mount]\nWhat=tmpfs\nWhere=/srv/data\nType=tmpfs\nOptions=size=1m,mode=0755\nTimeoutSec=10\nLazyUnmount=yes\n',
};

t.test('.socket: listen addresses accumulate, Accept=yes converts the template service', { skip: missing('socket') }, async (t) => {
  const dir = tree(t, files);
  const c = await convert([path.join(dir, 'echo.socket'), path.join(dir, 'web.socket')]);
  const spec = await loadConverted(c.toml);
  const echo = spec.units['echo.socket'].config as unknown as Record<string, unknown>;
  t.equal(echo.Accept, true);
  t.equal(echo.SocketMode, 0o600);
  t.equal(echo.Backlog, 16);
  t.equal(echo.MaxConnections, 4);
  t.ok(spec.units['echo@.service'], 'the template it starts is converted too');
  t.match(about(c.reports, 'converted too: echo.socket starts it'), [{ unit: 'echo@.service', kind: 'note' }]);
  t.match(about(c.reports, '%i depends on the instance'), [{ unit: 'echo@.service', line: 2, kind: 'unsupported' }]);
  t.match(about(c.reports, 'StandardInput='), [{ unit: 'echo@.service', kind: 'unsupported' }]);
  const web = spec.units['web.socket'].config as unknown as Record<string, unknown>;
  t.equal(web.Service, 'webd.service');
  t.same(web.WantedBy, ['sockets.target']);
  t.ok(spec.units['webd.service']);
  t.match(about(c.reports, 'FreeBind='), [{ unit: 'web.socket', line: 7, kind: 'unsupported', message: /not supported in \[Socket\]/ }]);
  t.ok(/ListenStream = \["8080", "\[::1\]:8081"\]/.test(c.toml), 'both ListenStream= lines, as written');
});

t.test('.timer: calendar events and spans, Unit= converted too', { skip: missing('timer') }, async (t) => {
  const dir = tree(t, files);
  const c = await convert([path.join(dir, 'daily.timer')]);
  const spec = await loadConverted(c.toml);
  const timer = spec.units['daily.timer'].config as unknown as Record<string, unknown>;
  t.equal((timer.OnCalendar as unknown[]).length, 2, 'two OnCalendar= lines, two events');
  t.equal(timer.Persistent, true);
  t.equal(timer.RandomizedDelaySec, 3600_000);
  t.equal(timer.Unit, 'job.service');
  t.ok(spec.units['job.service'], 'Unit= is converted too');
  t.same(c.reports.filter((r) => r.kind !== 'note'), [], 'nothing lost');
});

t.test('.path: conditions and MakeDirectory=, the service of the same name converted too', { skip: missing('path') }, async (t) => {
  const dir = tree(t, files);
  const c = await convert([path.join(dir, 'watch.path')]);
  const spec = await loadConverted(c.toml);
  const watch = configOf(t, spec, c, 'watch.path');
  t.same(watch.PathExists, ['/srv/in/ready']);
  t.same(watch.PathChanged, ['/etc/app.conf']);
  t.equal(watch.MakeDirectory, true);
  t.equal(watch.DirectoryMode, 0o700);
  t.ok(spec.units['watch.service'], 'watch.service, which it starts, is converted too');
});

t.test('.mount: What= Where= Type= Options=, its own TimeoutSec=', { skip: missing('mount') }, async (t) => {
  const dir = tree(t, files);
  const c = await convert([path.join(dir, 'srv-data.mount')]);
  const mount = (await loadConverted(c.toml)).units['srv-data.mount'].config as unknown as Record<string, unknown>;
  t.equal(mount.What, 'tmpfs');
  t.equal(mount.Where, '/srv/data');
  t.equal(mount.Type, 'tmpfs');
  t.equal(mount.Options, 'size=1m,mode=0755');
  t.equal(mount.TimeoutSec, 10_000);
  t.equal(mount.LazyUnmount, true);
  t.same(c.reports, [], 'nothing lost');
});

t.test('a type the spec does not have is reported, from a directory too', async (t) => {
  const dir = tree(t, { 'x.swap': '[Swap]\nWhat=/swapfile\n', 'y.service': '[Service]\nExecStart=/bin/y\n' });
  const c = await convert([dir]);
  t.same(c.units, ['y.service']);
  t.match(c.reports, [{ unit: 'x.swap', kind: 'unsupported', message: '.swap units are not supported yet' }]);
});
