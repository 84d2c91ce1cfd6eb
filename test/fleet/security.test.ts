// A fleet behind etcd's TLS (client certificates verified against a CA) and user/password auth: agents configured
// through SYSMASTER_ETCD_* and a config file, the operator through flags; wrong or missing credentials are refused
// with a message that says which.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { cli, marker, pidsWith, writeSpec } from '../integration/harness.js';
import { fleetFor, waitFor } from './harness.js';

const fleet = fleetFor(t, true);
if (fleet) {
  const dir = fleet.dir;
  const tls = fleet.etcd.tls!;
  const m = marker();
  const auth = { username: 'root', password: 'fleet-secret' };

  t.before(async () => {
    await fleet.etcd.start();
    const admin = fleet.etcd.client();
    await admin.role('root').create();
    await admin.user('root').create(auth.password);
    await admin.user('root').addRole('root');
    await admin.auth.authEnable({});
    admin.close();
    fleet.auth = auth;
    // The agents read TLS from their config file and the user from the environment; sctl gets flags.
    fs.writeFileSync(path.join(dir, 'agent.toml'), `cacert = "${tls.ca}"\ncert = "${tls.clientCert}"\nkey = "${tls.clientKey}"\n`);
    fleet.etcdFlags.push('--config', path.join(dir, 'agent.toml'));
    process.env.SYSMASTER_ETCD_USER = 'root';
    process.env.SYSMASTER_ETCD_PASSWORD = auth.password;
    await fleet.add('s1', ['role=web']);
    await fleet.add('s2', ['role=web']);
    delete process.env.SYSMASTER_ETCD_USER;
    delete process.env.SYSMASTER_ETCD_PASSWORD;
    fleet.etcdFlags.splice(0, fleet.etcdFlags.length, '--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey, '--user', `root:${auth.password}`);
    await waitFor('two live nodes', async () => Object.values(await fleet.records()).filter((s) => s.alive).length === 2);
  });

  t.test('a rollout over TLS with auth commits', async (t) => {
    const r = await fleet.sctl('apply', writeSpec(dir, `[service.app]\nExecStart = ["/bin/sleep", "${m}"]\n`, 'v1.toml'), '--selector', 'role=web', '--max-unavailable', '2');
    t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    t.equal(pidsWith(m).length, 2);
  });

  t.test('missing or wrong credentials are refused, saying which', async (t) => {
    const ep = ['--endpoints', fleet.etcd.endpoint];
    const certs = ['--cacert', tls.ca, '--cert', tls.clientCert, '--key', tls.clientKey];
    const noUser = await cli('sctl', ['fleet', 'status', ...ep, ...certs]);
    t.equal(noUser.code, 1);
    t.match(noUser.stderr, /sctl fleet status: etcd at https:\/\/127\.0\.0\.1:\d+: .*(user name|permission denied)/i);
    const wrong = await cli('sctl', ['fleet', 'status', ...ep, ...certs, '--user', 'root:nope']);
    t.equal(wrong.code, 1);
    t.match(wrong.stderr, /authentication failed/i);
    const noCert = await cli('sctl', ['fleet', 'status', ...ep, '--cacert', tls.ca, '--user', `root:${auth.password}`]);
    t.equal(noCert.code, 1, 'the server wants a client certificate');
    const noPassword = await cli('sctl', ['fleet', 'status', ...ep, ...certs, '--user', 'root']);
    t.equal(noPassword.code, 1);
    t.match(noPassword.stderr, /no password for etcd user root: --user NAME:PASSWORD, or --password/);
    const ok = await cli('sctl', ['-o', 'json', 'fleet', 'status', ...ep, ...certs, '--user', 'root', '--password', auth.password]);
    t.equal(ok.code, 0, ok.stderr);
    t.same((JSON.parse(ok.stdout) as { node: string }[]).map((n) => n.node), ['s1', 's2']);
  });
}
