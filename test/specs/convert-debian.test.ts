// sysmaster convert on the unit files Debian 12 packages ship (test/specs/debian-units.sh fetches them with
// apt-get download and unpacks them with dpkg-deb -x, into a cache under /tmp): every unit converts to a spec that
// validates or is reported, and the directives sysmaster supports come out as systemd means them. Skipped, with the
// reason, when the packages cannot be fetched.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { unitKeys } from '../../specs/keys.js';
import type { Command } from '../../specs/types.js';
import { convert, type Report } from '../../specs/systemd/convert.js';
import { accountFor, configOf } from './convert-helpers.js';

const cache = process.env.SYSMASTER_DEBIAN_UNITS ?? '/tmp/sysmaster-debian-units';
const root = path.join(cache, 'root');
const units = path.join(root, 'lib/systemd/system');

/** Why the packages cannot be had, or false. The script downloads only the .deb files not in the cache yet. */
function unavailable(): string | false {
  const r = spawnSync('bash', [path.resolve('test/specs/debian-units.sh'), cache], { encoding: 'utf8', timeout: 100_000 });
  if (r.status === 0) return false;
  const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop();
  return `the Debian packages could not be fetched (no network to Debian's mirror?): ${why}`;
}
const skip = unavailable();
if (skip) console.log(`# SKIP convert-debian: ${skip}`);

const cmds = (c: Record<string, unknown>, key: string) =>
  (c[key] as Command[]).map((x) => (x.ignoreFailure ? ['-', ...x.argv] : x.argv));
const at = (reports: Report[], unit: string, text: string) =>
  reports.filter((r) => r.unit === unit && r.message.includes(text)).map((r) => `${path.basename(r.file)}:${r.line}:${r.kind}`);

t.test('every unit file of the packages', { skip }, async (t) => {
  const c = await convert([units]);
  const spec = await accountFor(t, units, c);
  const config = (u: string) => spec.units[u].config as unknown as Record<string, unknown>;

  const ssh = config('ssh.service');
  t.equal(ssh.Type, 'notify');
  t.same(cmds(ssh, 'ExecStartPre'), [['/usr/sbin/sshd', '-t']]);
  t.same(cmds(ssh, 'ExecStart'), [['/usr/sbin/sshd', '-D', '$SSHD_OPTS']]);
  t.same(cmds(ssh, 'ExecReload'), [['/usr/sbin/sshd', '-t'], ['/bin/kill', '-HUP', '$MAINPID']], 'two ExecReload= lines');
  t.equal(ssh.KillMode, 'process');
  t.equal(ssh.Restart, 'on-failure');
  t.same(ssh.RestartPreventExitStatus, { codes: [255], signals: [] });
  t.same(ssh.EnvironmentFile, [{ path: '/etc/default/ssh', optional: true }]);
  t.same(ssh.ConditionPathExists, [{ value: '/etc/ssh/sshd_not_to_be_run', negate: true }]);
  t.same(ssh.WantedBy, ['multi-user.target']);
  t.same(ssh.After, ['network.target'], 'auditd.service is not among the units');
  t.same(at(c.reports, 'ssh.service', 'After=auditd.service'), ['ssh.service:4:ignored']);
  t.same(ssh.RuntimeDirectory, ['sshd']);
  t.equal(ssh.RuntimeDirectoryMode, 0o755);
  t.same(at(c.reports, 'ssh.service', 'RuntimeDirectory'), [], 'RuntimeDirectory= and its mode converted as written');
  t.same(at(c.reports, 'ssh.service', 'Alias=: sshd.service'), ['ssh.service:22:differs']);
  t.same(at(c.reports, 'ssh.service', 'Documentation='), ['ssh.service:3:ignored']);

  const cron = config('cron.service');
  t.same(cron.EnvironmentFile, [{ path: '/etc/default/cron', optional: true }], 'EnvironmentFile=-...');
  t.same(cmds(cron, 'ExecStart'), [['/usr/sbin/cron', '-f', '$EXTRA_OPTS']]);
  t.equal(cron.KillMode, 'process');
  t.same(at(c.reports, 'cron.service', 'IgnoreSIGPIPE='), ['cron.service:9:unsupported']);
  t.same(cron.After, ['remote-fs.target', 'nss-user-lookup.target'], 'targets outside the set are added empty');
  t.ok(spec.units['remote-fs.target']);

  const nginx = config('nginx.service');
  t.equal(nginx.Type, 'forking');
  t.equal(nginx.PIDFile, '/run/nginx.pid');
  t.same(cmds(nginx, 'ExecStartPre'), [['/usr/sbin/nginx', '-t', '-q', '-g', 'daemon on; master_process on;']], 'single quotes');
  t.same(cmds(nginx, 'ExecStop'), [
    ['-', '/sbin/start-stop-daemon', '--quiet', '--stop', '--retry', 'QUIT/5', '--pidfile', '/run/nginx.pid'],
  ]);
  t.equal(nginx.TimeoutStopSec, 5000);
  t.equal(nginx.KillMode, 'mixed');

  const rsyslog = config('rsyslog.service');
  t.same(rsyslog.StandardOutput, { kind: 'null' });
  t.same(at(c.reports, 'rsyslog.service', 'LimitNOFILE='), ['rsyslog.service:16:unsupported']);
  t.same(at(c.reports, 'rsyslog.service', 'Requires=syslog.socket'), ['rsyslog.service:3:ignored'], 'not shipped by rsyslog');

  const dbus = config('dbus.service');
  t.equal(dbus.NotifyAccess, 'main');
  t.same(at(c.reports, 'dbus.service', 'OOMScoreAdjust='), ['dbus.service:11:unsupported']);

  const manDb = config('man-db.service');
  t.equal(manDb.Type, 'oneshot');
  t.equal(manDb.User, 'man');
  t.same(cmds(manDb, 'ExecStart'), [
    ['/usr/bin/find', '/var/cache/man', '-type', 'f', '-name', '*.gz', '-atime', '+6', '-delete'],
    ['/usr/bin/mandb', '--quiet'],
  ]);
  t.same(at(c.reports, 'man-db.service', '"+"'), ['man-db.service:9:unsupported'], 'the + prefix: that command left out');

  t.same(config('apt-daily.service').ExecStartPre, [
    { path: '/usr/lib/apt/apt-helper', argv: ['/usr/lib/apt/apt-helper', 'wait-online'], ignoreFailure: true },
  ]);
  t.same(config('rescue-ssh.target').Requires, ['network-online.target', 'ssh.service']);
  t.same(at(c.reports, 'cups.service', 'Also='), ['cups.service:14:ignored']);
  t.match(c.reports.find((r) => r.unit === 'nfs-common.service'), { kind: 'note', message: /masked/ });
});

// The other unit types, each once the spec has it (specs/keys.ts unitKeys); until then its files are reported.
const types: [string, string[], (c: Record<string, unknown>, t: Test) => void][] = [
  ['socket', ['ssh.socket', 'cups.socket'], (c, t) => t.same(c.ListenStream, ['22'])],
  ['timer', ['apt-daily.timer', 'apt-daily-upgrade.timer', 'logrotate.timer', 'man-db.timer'], (c, t) => {
    t.equal(c.Persistent, true);
    t.equal(c.RandomizedDelaySec, 12 * 3600_000);
  }],
  ['path', ['cups.path'], (c, t) => t.same(c.PathExists, ['/var/cache/cups/org.cups.cupsd'])],
  ['mount', ['proc-fs-nfsd.mount', 'var-lib-nfs-rpc_pipefs.mount'], (c, t) => t.equal(c.What, 'nfsd')],
];
for (const [type, files, check] of types) {
  t.test(`.${type} units`, { skip }, async (t) => {
    const c = await convert(files.map((f) => path.join(units, f)));
    if (!unitKeys[type]) {
      for (const f of files)
        t.match(at(c.reports, f, 'not supported yet'), [`${f}:1:unsupported`], `${f}: reported, the type is not there yet`);
      return;
    }
    const all = await convert([units]);
    const spec = await accountFor(t, units, all);
    for (const f of files) configOf(t, spec, all, f);
    check(configOf(t, spec, all, files[0]), t);
  });
}
