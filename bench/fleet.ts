// `npm run bench:fleet`: a 50-unit spec rolled out through a real etcd to 10 agents on this machine, each with its
// own core; then the etcd traffic per node per minute at steady state, for fleets of 10, 5 and 2 nodes. The
// baseline, measured in the same run, is `sctl apply` of the same spec on one node's core without the fleet.
// Size knobs: BENCH_FLEET_NODES (10), BENCH_FLEET_RUNS (3), BENCH_FLEET_WINDOW_S (60), BENCH_LAYERS/BENCH_WIDTH (5×10).
import fs from 'node:fs';
import os from 'node:os';
import { cli, scratch, writeSpec } from '../test/integration/harness.js';
import { Fleet, missingEtcd, waitFor } from '../test/fleet/harness.js';
import { dagSpec } from './dag.js';
import { median, range, revision, verdict, writeResults } from './stats.js';

const NODES = Number(process.env.BENCH_FLEET_NODES ?? 10);
const RUNS = Number(process.env.BENCH_FLEET_RUNS ?? 3);
const WINDOW_S = Number(process.env.BENCH_FLEET_WINDOW_S ?? 60);
const layers = Number(process.env.BENCH_LAYERS ?? 5);
const width = Number(process.env.BENCH_WIDTH ?? 10);

/** etcd's own counters (its Prometheus endpoint): bytes in and out, and messages received by gRPC method. */
async function metrics(endpoint: string): Promise<{ bytes: number; byMethod: Record<string, number> }> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  let bytes = 0;
  const byMethod: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const b = /^etcd_network_client_grpc_(?:received|sent)_bytes_total (\S+)/.exec(line);
    if (b) bytes += Number(b[1]);
    const m = /^grpc_server_msg_received_total\{.*grpc_method="(\w+)".*\} (\S+)/.exec(line);
    if (m) byMethod[m[1]!] = (byMethod[m[1]!] ?? 0) + Number(m[2]);
  }
  return { bytes, byMethod };
}

const spec = (marker: string) => dagSpec({ layers, width, ready: 'systemd-notify --ready', marker });

async function main(): Promise<void> {
  const missing = missingEtcd();
  if (missing) throw new Error(missing);
  const dir = scratch('sm-bench-fleet-');
  // The agents' default lease (10 s): the keepalive rate is the steady state's main cost.
  const fleet = new Fleet(dir, 10);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    await fleet.etcd.start();
    const names = Array.from({ length: NODES }, (_, i) => `node${String(i + 1).padStart(2, '0')}`);
    for (const n of names) await fleet.add(n, ['role=bench', `id=${n}`]);
    await waitFor(`${NODES} live nodes`, async () => Object.values(await fleet.records()).filter((s) => s.alive).length === NODES, 60_000);
    // The baseline node: a core of its own, no agent, the same spec through sctl apply.
    const local = await fleet.add('local', ['role=baseline']);
    await local.killAgent('SIGTERM');

    const rows: { fleet: number; waves: number; one: number; local: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      // A new marker each run: every unit of the spec changes, so every node restarts all of them.
      const file = writeSpec(dir, spec(`36${i}1.${process.pid}`), `spec${i}.toml`);
      const wavesFile = writeSpec(dir, spec(`36${i}2.${process.pid}`), `waves${i}.toml`);
      const oneFile = writeSpec(dir, spec(`36${i}3.${process.pid}`), `one${i}.toml`);
      let t0 = Date.now();
      const all = await fleet.sctl('apply', file, '--selector', 'role=bench', '--max-unavailable', String(NODES));
      const fleetMs = Date.now() - t0;
      if (all.code !== 0) throw new Error(`rollout failed: ${all.stdout}${all.stderr}`);
      t0 = Date.now();
      const w = await fleet.sctl('apply', wavesFile, '--selector', 'role=bench', '--canary', '1', '--max-unavailable', '3');
      const wavesMs = Date.now() - t0;
      if (w.code !== 0) throw new Error(`rollout failed: ${w.stdout}${w.stderr}`);
      t0 = Date.now();
      const o = await fleet.sctl('apply', oneFile, '--selector', `id=${names[0]}`);
      const oneMs = Date.now() - t0;
      if (o.code !== 0) throw new Error(`rollout failed: ${o.stdout}${o.stderr}`);
      t0 = Date.now();
      const l = await cli('sctl', ['--state-dir', local.stateDir, 'apply', file, '--yes']);
      const localMs = Date.now() - t0;
      if (l.code !== 0) throw new Error(`local apply failed: ${l.stdout}${l.stderr}`);
      rows.push({ fleet: fleetMs, waves: wavesMs, one: oneMs, local: localMs });
      log(`run ${i + 1}/${RUNS}: all at once ${fleetMs} ms, canary + waves of 3 ${wavesMs} ms, one node through the fleet ${oneMs} ms, one node by itself ${localMs} ms`);
    }

    // Steady state: nothing changes; what the agents still send is the fleet's fixed cost.
    const traffic: { nodes: number; bytes: number; byMethod: Record<string, number> }[] = [];
    for (const size of [NODES, Math.ceil(NODES / 2), 2].filter((s, i, a) => s >= 1 && a.indexOf(s) === i)) {
      for (const n of fleet.nodes.filter((x) => x.name !== 'local').slice(size)) await n.killAgent('SIGTERM');
      await new Promise((r) => setTimeout(r, 5000));
      const a = await metrics(fleet.etcd.endpoint);
      await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
      const b = await metrics(fleet.etcd.endpoint);
      const perMin = 60 / WINDOW_S / size;
      const byMethod = Object.fromEntries(Object.keys(b.byMethod).map((k) => [k, ((b.byMethod[k]! - (a.byMethod[k] ?? 0)) * perMin)]).filter(([, v]) => (v as number) > 0));
      traffic.push({ nodes: size, bytes: (b.bytes - a.bytes) * perMin, byMethod });
      log(`${size} nodes: ${((b.bytes - a.bytes) * perMin).toFixed(0)} bytes per node per minute`);
    }

    const ms = (k: 'fleet' | 'waves' | 'one' | 'local') => rows.map((r) => r[k]);
    const ratio = (k: 'fleet' | 'waves' | 'one') => (median(ms(k)) / median(ms('local'))).toFixed(2);
    const [big, small] = [traffic[0]!, traffic.at(-1)!];
    const flat = Math.abs(big.bytes / small.bytes - 1) <= 0.2;
    const methods = [...new Set(traffic.flatMap((x) => Object.keys(x.byMethod)))].sort();
    const out = [
      `## Fleet: a ${layers * width}-unit spec (${layers} × ${width} DAG, Type=notify via systemd-notify) rolled out to ${NODES} agents, each with its own core, through one etcd on this machine`,
      '',
      `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, Node ${process.version}, ${new Date().toISOString()}, ${revision()}; etcd ${fleet.etcd.version()}. ${RUNS} runs; every run changes all ${layers * width} units on every node (a new payload marker), so each node restarts them all.`,
      '',
      '| launch → exit, ms | median (min–max) | ÷ one node by itself (ratio of medians) |',
      '|---|---|---|',
      `| **\`sctl fleet apply\` to ${NODES} nodes at once** (\`--max-unavailable ${NODES}\`): fleet-wide commit | ${range(ms('fleet'))} | ${ratio('fleet')} |`,
      `| \`sctl fleet apply\` in waves (\`--canary 1 --max-unavailable 3\`: ${Math.ceil((NODES - 1) / 3) + 1} waves) | ${range(ms('waves'))} | ${ratio('waves')} |`,
      `| \`sctl fleet apply\` to one node (\`--selector id=${names[0]}\`): the fleet's own cost on top of the apply | ${range(ms('one'))} | ${ratio('one')} |`,
      `| baseline: \`sctl apply --yes\` of the same spec on one node's core, no fleet | ${range(ms('local'))} | 1 |`,
      '',
      `Steady state (no change anywhere), per node per minute, measured over ${WINDOW_S} s by etcd's own counters (\`/metrics\`: gRPC bytes in and out, messages received by method):`,
      '',
      `| nodes | bytes per node per minute | ${methods.map((m) => `${m} messages`).join(' | ')} |`,
      `|---|---|${methods.map(() => '---').join('|')}|`,
      ...traffic.map((x) => `| ${x.nodes} | ${x.bytes.toFixed(0)} | ${methods.map((m) => (x.byMethod[m] ?? 0).toFixed(1)).join(' | ')} |`),
      '',
      `Target: steady-state cost per node independent of fleet size (${big.nodes} nodes within 20% of ${small.nodes}): ${verdict(flat)} (${((big.bytes / small.bytes - 1) * 100).toFixed(0)}%).`,
      '',
    ].join('\n');
    writeResults('fleet.md', out);
    process.stdout.write(out);
  } finally {
    await fleet.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
