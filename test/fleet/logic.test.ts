// The fleet's pure parts: waves, labels and selectors, the etcd connection settings, the agent's config file.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { waves } from '../../fleet/rollout.js';
import { matches, parseLabels, selectorText, specHash } from '../../fleet/keys.js';
import { etcdOptions } from '../../fleet/etcd.js';
import { cli, scratch } from '../integration/harness.js';

t.test('waves: canaries first, then at most max-unavailable at a time, in name order', async (t) => {
  const names = ['n5', 'n1', 'n3', 'n2', 'n4'];
  t.same(waves(names, 1, 2), [['n1'], ['n2', 'n3'], ['n4', 'n5']]);
  t.same(waves(names, 0, 2), [['n1', 'n2'], ['n3', 'n4'], ['n5']]);
  t.same(waves(names, 0, 10), [['n1', 'n2', 'n3', 'n4', 'n5']]);
  t.same(waves(names, 2, 1), [['n1', 'n2'], ['n3'], ['n4'], ['n5']]);
  t.same(waves(names, 9, 1), [['n1', 'n2', 'n3', 'n4', 'n5']], 'more canaries than nodes: one wave');
  t.same(waves([], 1, 1), []);
});

t.test('labels and selectors', async (t) => {
  t.same(parseLabels(['role=web,zone=a', 'disk=ssd'], '--label'), { role: 'web', zone: 'a', disk: 'ssd' });
  t.same(parseLabels(['example.com/tier=gold'], '--label'), { 'example.com/tier': 'gold' });
  t.same(parseLabels(['empty='], '--label'), { empty: '' });
  t.throws(() => parseLabels(['role'], '--selector'), /--selector "role": expected KEY=VALUE/);
  t.throws(() => parseLabels(['role=a b'], '--label'), /--label "role=a b"/);
  t.ok(matches({ role: 'web' }, { role: 'web', zone: 'a' }));
  t.notOk(matches({ role: 'web', zone: 'b' }, { role: 'web', zone: 'a' }));
  t.ok(matches({}, { role: 'web' }), 'an empty selector matches every node');
  t.equal(selectorText({ zone: 'a', role: 'web' }), 'role=web,zone=a');
  t.equal(specHash(null), 'base');
  t.equal(specHash('a'), specHash('a'));
  t.not(specHash('a'), specHash('b'));
});

t.test('etcd settings: flags over SYSMASTER_ETCD_* over ETCDCTL_*, and what is wrong said plainly', async (t) => {
  t.same(etcdOptions({}, {}).hosts, ['http://127.0.0.1:2379']);
  t.same(etcdOptions({}, { ETCDCTL_ENDPOINTS: '10.0.0.1:2379,10.0.0.2:2379' }).hosts, ['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
  t.same(etcdOptions({}, { ETCDCTL_ENDPOINTS: 'a:1', SYSMASTER_ETCD_ENDPOINTS: 'b:2' }).hosts, ['http://b:2']);
  t.same(etcdOptions({ endpoints: 'c:3' }, { SYSMASTER_ETCD_ENDPOINTS: 'b:2' }).hosts, ['http://c:3']);
  t.same(etcdOptions({ user: 'root:secret' }, {}).auth, { username: 'root', password: 'secret' });
  t.same(etcdOptions({ user: 'root' }, { ETCDCTL_PASSWORD: 'pw' }).auth, { username: 'root', password: 'pw' });
  t.throws(() => etcdOptions({ user: 'root' }, {}), /no password for etcd user root/);
  const dir = scratch('sm-etcd-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ca = path.join(dir, 'ca.pem');
  fs.writeFileSync(ca, 'CA');
  const tls = etcdOptions({ endpoints: 'h:2379', cacert: ca }, {});
  t.same(tls.hosts, ['https://h:2379'], 'a CA means TLS');
  t.equal(tls.credentials!.rootCertificate.toString(), 'CA');
  t.throws(() => etcdOptions({ cert: ca }, {}), /--cert and --key go together/);
  t.throws(() => etcdOptions({ cacert: path.join(dir, 'missing.pem') }, {}), /cannot read the CA bundle \(--cacert\) .*missing\.pem/);
});

t.test('sysmaster agent refuses a bad config, name or label before connecting', async (t) => {
  const dir = scratch('sm-agent-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const conf = (text: string) => {
    const f = path.join(dir, 'agent.toml');
    fs.writeFileSync(f, text);
    return f;
  };
  const run = (...args: string[]) => cli('sysmaster', ['--state-dir', dir, 'agent', ...args]);
  let r = await run('--config', conf('node = "a"\ncolour = "red"\n'));
  t.equal(r.code, 1);
  t.match(r.stderr, /agent\.toml: unknown key "colour" \(expected one of node, labels, ttl, endpoints/);
  r = await run('--config', conf('labels = { role = 5 }\n'));
  t.match(r.stderr, /agent\.toml: labels: expected a table of strings/);
  r = await run('--config', conf('node = \n'));
  t.match(r.stderr, /agent\.toml:1: /);
  r = await run('--node', 'bad name');
  t.match(r.stderr, /node name "bad name": expected letters, digits/);
  r = await run('--label', 'role');
  t.match(r.stderr, /--label "role": expected KEY=VALUE/);
  r = await run('--ttl', '1');
  t.match(r.stderr, /--ttl: "1" is not a whole number of seconds of at least 2/);
});
