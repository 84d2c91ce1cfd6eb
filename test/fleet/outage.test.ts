// What the fleet survives, with real processes: an agent killed with SIGKILL in the middle of an apply, and etcd
// itself killed for 10 s (FLEET_OUTAGE_MS) and restarted. The services never stop, and the fleet converges again.
import t from 'tap';
import { cli, marker, pidsWith, sleep, writeSpec } from '../integration/harness.js';
import { fleetFor, waitFor } from './harness.js';
import { specHash } from '../../fleet/keys.js';

const OUTAGE_MS = Number(process.env.FLEET_OUTAGE_MS ?? 10_000);
const fleet = fleetFor(t);
if (fleet) {
  const dir = fleet.dir;
  const [m1, m2, m3, m4] = [marker(), marker(), marker(), marker()];
  const v1 = `[service.app]\nExecStart = ["/bin/sleep", "${m1}"]\n`;
  // The slow service keeps the transaction open for 3 s: time to kill an agent in the middle of it.
  const v2 = `${v1}[service.slow]\nExecStartPre = ["/bin/sleep", "3"]\nExecStart = ["/bin/sleep", "${m2}"]\n`;
  const v3 = `${v2}[service.extra]\nExecStart = ["/bin/sleep", "${m3}"]\n`;
  const names = ['n1', 'n2', 'n3'];
  const mainPids = async () => Promise.all(names.map(async (n) => (await fleet.node(n).up.call<Record<string, string>>('show', { unit: 'app.service' })).MainPID));

  t.before(async () => {
    await fleet.etcd.start();
    await Promise.all(names.map((n) => fleet.add(n, ['role=web'])));
    await waitFor('three live nodes', async () => Object.values(await fleet.records()).filter((s) => s.alive).length === 3);
    const r = await fleet.sctl('apply', writeSpec(dir, v1, 'v1.toml'), '--selector', 'role=web', '--max-unavailable', '3');
    if (r.code !== 0) throw new Error(`first rollout: ${r.stdout}${r.stderr}`);
  });

  t.test('an agent killed mid-apply resolves its transaction when it comes back', async (t) => {
    const n1 = fleet.node('n1');
    const before = (await n1.up.json<unknown[]>('history')).length;
    const rollout = fleet.sctl('apply', writeSpec(dir, v2, 'v2.toml'), '--selector', 'role=web', '--max-unavailable', '3');
    await waitFor('n1 to start applying', () => /applying revision \d+ \(node, spec \w+, rollout 2\)/.test(n1.agentLog));
    await n1.killAgent('SIGKILL');
    const revision = /applying revision (\d+) \(node, spec \w+, rollout 2\)/.exec(n1.agentLog)![1];
    n1.agentLog = '';
    n1.startAgent();
    const r = await rollout;
    t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    t.match(n1.agentLog, new RegExp(`an apply of revision ${revision} was unanswered when the agent stopped: asking the core again`));
    t.match(n1.agentLog, new RegExp(`revision ${revision}: committed \\(transaction \\d+\\)`));
    const history = await n1.up.json<{ result: string }[]>('history');
    t.equal(history.length, before + 1, 'the core ran the apply once');
    t.equal(history.at(-1)!.result, 'committed');
    t.equal(pidsWith(m2).length, 3, 'slow.service runs on every node, once');
    const st = await fleet.status();
    t.equal(st.n1!.specHash, specHash(v2));
    t.equal(st.n1!.state, 'committed');
  });

  t.test('a rollout past its --timeout stops, and the nodes abort their applies and go back', async (t) => {
    const before = await fleet.records();
    // The stuck service never finishes starting (its ExecStartPre sleeps for years).
    const stuck = `${v3}[service.stuck]\nExecStartPre = ["/bin/sleep", "${m4}"]\nExecStart = ["/bin/true"]\n`;
    const r = await fleet.sctl('apply', writeSpec(dir, stuck, 'stuck.toml'), '--selector', 'role=web', '--max-unavailable', '3', '--timeout', '3s');
    t.equal(r.code, 1);
    t.match(r.stdout, /Rollout \d+: rolled-back in [\d.]+s on 3 node\(s\)\.\nNode n1 failed: timed out after 3s waiting for n1 \(applying\), n2 \(applying\), n3 \(applying\)/);
    for (const n of names) t.match(fleet.node(n).agentLog, /supersedes revision \d+: asking the core to abort that apply/);
    const after = await fleet.records();
    for (const n of names) {
      t.match(after[n], { state: 'committed', specHash: before[n]!.specHash }, `${n} is back on the spec it had`);
      t.match(fleet.node(n).agentLog, /: rolled-back \(transaction \d+\): superseded by revision \d+/);
    }
    t.equal(pidsWith(m4).length, 0, 'no stuck start is left running');
  });

  t.test(`etcd killed for ${OUTAGE_MS / 1000}s: the services never stop and the agents reconverge`, async (t) => {
    const pids = await mainPids();
    await fleet.etcd.kill();
    await sleep(OUTAGE_MS);
    t.same(await mainPids(), pids, 'every app.service kept its main process while etcd was away');
    t.equal(pidsWith(m1).length, 3);
    for (const n of names) t.match(fleet.node(n).agent!.exitCode, null, `${n}'s agent is still running`);
    await fleet.etcd.start();
    await waitFor('every node alive again', async () => Object.values(await fleet.records()).filter((s) => s.alive).length === 3, 30_000);
    const r = await fleet.sctl('apply', writeSpec(dir, v3, 'v3.toml'), '--selector', 'role=web', '--max-unavailable', '3');
    t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    t.equal(pidsWith(m3).length, 3, 'the new spec runs everywhere');
    t.same(await mainPids(), pids, 'app.service was never restarted');
    const json = await cli('sctl', ['-o', 'json', 'fleet', 'status', '--endpoints', fleet.etcd.endpoint]);
    for (const s of JSON.parse(json.stdout) as { state: string; specHash: string; failed: string[] }[]) t.match(s, { state: 'committed', specHash: specHash(v3), failed: [] });
  });
}
