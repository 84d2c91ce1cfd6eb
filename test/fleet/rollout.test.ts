// Rollouts through a real etcd to five real nodes (each a sysmaster core and an agent): canaries and waves, a spec
// that fails on one node because of its label, the rollback of the nodes already changed, groups for nodes that
// join later, stale revisions, and `sctl fleet rollback`.
import t from 'tap';
import path from 'node:path';
import { cli, marker, pidsWith, writeSpec } from '../integration/harness.js';
import { fleetFor, waitFor } from './harness.js';
import { keys, specHash, type Rollout } from '../../fleet/keys.js';

const fleet = fleetFor(t);
if (fleet) {
  const dir = fleet.dir;
  const [m1, m2] = [marker(), marker()];
  const v1 = `[service.app]\nExecStart = ["/bin/sleep", "${m1}"]\n`;
  // Fails where the agent gives the service SYSMASTER_LABEL_DISK=none.
  const v2 = `[service.app]\nExecStartPre = ["/bin/sh", "-c", "test \\"$SYSMASTER_LABEL_DISK\\" != none"]\nExecStart = ["/bin/sleep", "${m2}"]\n`;
  const v1File = writeSpec(dir, v1, 'v1.toml');
  const v2File = writeSpec(dir, v2, 'v2.toml');
  const history = async () => JSON.parse((await cli('sctl', ['-o', 'json', 'fleet', 'history', '--endpoints', fleet.etcd.endpoint])).stdout) as Rollout[];
  const coreHistory = async (node: string) => (await fleet.node(node).up.json<unknown[]>('history')).length;

  t.before(async () => {
    await fleet.etcd.start();
    await Promise.all(['n1', 'n2', 'n3', 'n4', 'n5'].map((n) => fleet.add(n, ['role=web', `disk=${n === 'n3' ? 'none' : 'ssd'}`])));
    await waitFor('five live nodes', async () => Object.values(await fleet.records()).filter((s) => s.alive).length === 5);
  });

  t.test('bad input changes no node', async (t) => {
    const none = await fleet.sctl('apply', v1File, '--selector', 'role=nothing');
    t.equal(none.code, 1);
    t.match(none.stderr, /no live node matches role=nothing \(5 live nodes/);
    const badSel = await fleet.sctl('apply', v1File, '--selector', 'role');
    t.equal(badSel.code, 1);
    t.match(badSel.stderr, /--selector "role": expected KEY=VALUE/);
    const bad = writeSpec(dir, '[service.x]\nExecStart = 5\n', 'bad.toml');
    const spec = await fleet.sctl('apply', bad, '--selector', 'role=web');
    t.equal(spec.code, 1);
    t.match(spec.stderr, /bad\.toml:2: x\.service: ExecStart: .*\n1 problem found; no node was changed/);
    writeSpec(dir, 'include = ["v1.toml"]\n', 'inc.toml');
    const inc = await fleet.sctl('apply', path.join(dir, 'inc.toml'), '--selector', 'role=web');
    t.equal(inc.code, 1);
    t.match(inc.stderr, /a fleet spec must be one self-contained file/);
    const noEtcd = await cli('sctl', ['fleet', 'status', '--endpoints', 'http://127.0.0.1:1']);
    t.equal(noEtcd.code, 1);
    t.match(noEtcd.stderr, /etcd at http:\/\/127\.0\.0\.1:1: .*is etcd running\?/);
    t.same(await history(), [], 'no rollout was recorded');
  });

  t.test('a rollout commits on every node, canary first, then two at a time', async (t) => {
    const r = await fleet.sctl('apply', v1File, '--selector', 'role=web', '--canary', '1', '--max-unavailable', '2');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /Rollout 1: committed in [\d.]+s on 5 node\(s\)\./);
    t.match(r.stderr, /wave 1\/3 \(canary\): n1\n[^]*wave 2\/3: n2, n3\n[^]*wave 3\/3: n4, n5\n/);
    const st = await fleet.status();
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) {
      t.equal(st[n]!.state, 'committed', `${n} committed`);
      t.equal(st[n]!.specHash, specHash(v1));
      t.same(st[n]!.failed, []);
      t.equal(st[n]!.units['app.service'], 'active/running');
      t.equal((await fleet.node(n).up.call<Record<string, string>>('show', { unit: 'app.service' })).ActiveState, 'active');
    }
    t.equal(pidsWith(m1).length, 5, 'one payload per node');
    const [h] = await history();
    t.match(h, { id: 1, kind: 'apply', result: 'committed', waves: [['n1'], ['n2', 'n3'], ['n4', 'n5']], failed: null });
  });

  t.test('a node that joins later gets the spec through the rollout group; a node the selector misses does not', async (t) => {
    await fleet.add('n6', ['role=web', 'disk=ssd']);
    await fleet.add('n7', ['role=db']);
    await waitFor('n6 to apply the group', async () => (await fleet.records()).n6?.state === 'committed');
    const st = await fleet.status();
    t.equal(st.n6!.specHash, specHash(v1));
    t.equal((await fleet.node('n6').up.sctl('is-active', 'app')).code, 0);
    t.equal(st.n7?.state ?? null, null, 'n7 has applied nothing');
    t.equal((await fleet.node('n7').up.sctl('status', 'app')).code, 4, 'n7 has no app.service');
  });

  t.test('a spec that fails on one node stops the rollout and rolls back the nodes already changed', async (t) => {
    const before = await fleet.status();
    const r = await fleet.sctl('apply', v2File, '--selector', 'role=web', '--canary', '1', '--max-unavailable', '2');
    t.equal(r.code, 1);
    t.match(r.stdout, /Rollout 2: rolled-back in [\d.]+s on 6 node\(s\)\.\nNode n3 failed: rolled-back: restart app\.service: failed/);
    t.match(r.stderr, /rolling back n1, n2, n3\n/);
    const st = await fleet.status();
    for (const n of ['n1', 'n2', 'n3']) {
      t.equal(st[n]!.specHash, specHash(v1), `${n} is back on v1`);
      t.equal(st[n]!.state, 'committed');
      t.ok(st[n]!.revision! > before[n]!.revision!, `${n} applied the rollback as a new revision`);
    }
    for (const n of ['n4', 'n5', 'n6']) t.equal(st[n]!.revision, before[n]!.revision, `${n} was never touched`);
    t.equal(pidsWith(m2).length, 0, 'v2 runs nowhere');
    t.equal(pidsWith(m1).length, 6, 'v1 runs on the six web nodes');
    const h = (await history())[1]!;
    t.match(h, { id: 2, result: 'rolled-back', failed: { node: 'n3' } });
    t.match(h.failed!.reason, /restart app\.service: failed/);
    t.same(Object.keys(h.nodes).filter((n) => h.nodes[n]!.revision !== null), ['n1', 'n2', 'n3']);
    const text = await fleet.sctl('history');
    t.match(text.stdout, /^ID +KIND +START +DURATION +NODES +RESULT +SELECTOR +SPEC\n1 +apply +\S+ +[\d.]+s +5 +committed +role=web +\w+\n/);
    t.match(text.stdout, /2: n3: rolled-back: restart app\.service: failed/);
  });

  t.test('a stale revision is never applied, and a revision never twice', async (t) => {
    const txs = await coreHistory('n1');
    const was = (await fleet.status()).n1!;
    // n1's own assignment goes: what is left in force, the group's, is older than what n1 applied.
    const client = fleet.etcd.client();
    await client.delete().key(keys.desired('n1')).exec();
    client.close();
    await waitFor('n1 to notice', () => /not applying revision \d+ \(group:role=web\): revision \d+ is newer/.test(fleet.node('n1').agentLog));
    t.equal((await fleet.status()).n1!.revision, was.revision, 'n1 keeps the revision it applied');
    t.equal(await coreHistory('n1'), txs, 'no transaction on n1');
    // A restarted agent finds its revision applied.
    const n2txs = await coreHistory('n2');
    const n2 = fleet.node('n2');
    await n2.killAgent('SIGKILL');
    n2.agentLog = '';
    n2.startAgent();
    await waitFor('n2 to re-register', () => /registered in etcd/.test(n2.agentLog));
    await waitFor('n2 alive', async () => (await fleet.records()).n2!.alive);
    t.notMatch(n2.agentLog, /applying revision/);
    t.equal(await coreHistory('n2'), n2txs, 'no transaction on n2');
  });

  t.test('sctl fleet rollback undoes the newest committed rollout on every node it changed', async (t) => {
    const r = await fleet.sctl('rollback');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /Rollback 3 \(of rollout 1\): committed/);
    const st = await fleet.status();
    for (const n of ['n1', 'n2', 'n3', 'n4', 'n5']) {
      t.equal(st[n]!.specHash, specHash(null), `${n} is back on the spec it ran before the fleet`);
      t.equal((await fleet.node(n).up.sctl('status', 'app')).code, 4, `${n} has no app.service`);
    }
    t.equal(pidsWith(m1).length, 1, 'only n6, which joined through the group, still runs v1');
    const again = await fleet.sctl('rollback');
    t.equal(again.code, 1);
    t.match(again.stderr, /no committed rollout to roll back/);
    const json = await cli('sctl', ['-o', 'json', 'fleet', 'history', '--endpoints', fleet.etcd.endpoint]);
    t.match(JSON.parse(json.stdout).at(-1), { id: 3, kind: 'rollback', reverts: 1, result: 'committed' });
    const status = await fleet.sctl('status');
    t.match(status.stdout, /^NODE +ALIVE +LABELS +REVISION +RESULT +ROLLOUT +FAILED\nn1 +yes +disk=ssd,role=web +\d+ +committed +3 +-/);
  });
}
