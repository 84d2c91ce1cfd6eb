// The side-by-side benchmark's pure parts (bench/peers/, issue 9): the workloads' shapes, the summaries, and the
// table and SVG renderers. Nothing here starts a manager.
import t from 'tap';
import { dagNames, dagParents } from '../../bench/dag.js';
import { summarize } from '../../bench/peers/measure.js';
import { METRICS, niceMax, renderCrashes, renderReport, renderSvg, renderTable, type Row, type WorkloadResults } from '../../bench/peers/report.js';
import { sysmasterSpec } from '../../bench/peers/sysmaster.js';
import type { RunResult } from '../../bench/peers/types.js';
import { chainWorkload, dagWorkload, dependents, flatWorkload, payloadScript, workloads } from '../../bench/peers/workloads.js';

t.test('flat: n independent services with distinct names', async (t) => {
  const w = flatWorkload(300);
  t.equal(w.name, 'flat');
  t.equal(w.units.length, 300);
  t.equal(new Set(w.units.map((u) => u.name)).size, 300);
  t.ok(w.units.every((u) => u.after.length === 0));
});

t.test('chain: each unit after the one before, first after none', async (t) => {
  const w = chainWorkload(100);
  t.equal(w.units.length, 100);
  t.same(w.units[0].after, []);
  for (let i = 1; i < 100; i++) t.same(w.units[i].after, [w.units[i - 1].name], `unit ${i}`);
});

t.test('dag: the core benchmark layers, two parents in the layer above, listed in dependency order', async (t) => {
  const w = dagWorkload(10, 30);
  t.equal(w.units.length, 300);
  const o = { layers: 10, width: 30, ready: '', marker: '' };
  const names = dagNames(o);
  for (let l = 0; l < 10; l++) {
    for (let i = 0; i < 30; i++) {
      const u = w.units.find((x) => x.name === names[l][i])!;
      t.same(u.after, dagParents(o, l, i));
      t.equal(u.after.length, l ? 2 : 0);
    }
  }
  const seen = new Set<string>();
  for (const u of w.units) {
    t.ok(u.after.every((a) => seen.has(a)), `${u.name} after its parents`);
    seen.add(u.name);
  }
  t.same(dependents(w).get('l0u0')!.sort(), ['l1u0', 'l1u29']);
});

t.test('sizes come from the environment', async (t) => {
  const ws = workloads({ BENCH_PEER_FLAT: '20', BENCH_PEER_CHAIN: '10', BENCH_LAYERS: '3', BENCH_WIDTH: '5' });
  t.same(ws.map((w) => [w.name, w.units.length]), [['flat', 20], ['chain', 10], ['dag', 15]]);
  t.same(workloads({}).map((w) => w.units.length), [300, 100, 300]);
  t.throws(() => workloads({ BENCH_PEER_FLAT: 'many' }), /BENCH_PEER_FLAT/);
});

t.test('median, min and max', async (t) => {
  t.same(summarize([5, 1, 3]), { median: 3, min: 1, max: 5 });
  t.same(summarize([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
  t.same(summarize([7]), { median: 7, min: 7, max: 7 });
  t.ok(Number.isNaN(summarize([]).median));
  t.equal(niceMax(730), 800);
  t.equal(niceMax(180), 200);
  t.equal(niceMax(2609), 3000);
  t.equal(niceMax(42), 50);
  t.equal(niceMax(100), 100);
});

t.test('the payload signals readiness, then sleeps with the marker', async (t) => {
  t.equal(payloadScript('systemd-notify --ready', '86400.1'), 'systemd-notify --ready; exec sleep 86400.1');
  t.equal(payloadScript('', '86400.1'), 'exec sleep 86400.1');
});

t.test('the sysmaster spec: Type=notify services with Requires and After per edge', async (t) => {
  const spec = sysmasterSpec(chainWorkload(3), '86400.5');
  t.match(spec, /\[service\.c0\]\nType = "notify"\nNotifyAccess = "all"\nExecStart = \["\/bin\/sh","-c","systemd-notify --ready; exec sleep 86400\.5"\]\n\n/);
  const c2 = spec.slice(spec.indexOf('[service.c2]'));
  t.ok(c2.includes('\nRequires = ["c1.service"]\nAfter = ["c1.service"]\n'));
  t.notMatch(spec.slice(spec.indexOf('[service.c0]'), spec.indexOf('[service.c1]')), /Requires/);
});

const sample = (readyMs: number, over: Partial<RunResult> = {}): RunResult => ({ readyMs, stopMs: 100, rssKb: 2048, pssKb: 1024, cpuMs: 50, ...over });
const row = (manager: string, samples: RunResult[], more: Partial<Row> = {}): Row => ({
  manager,
  readiness: `${manager} readiness`,
  dependencies: `${manager} deps`,
  skipped: null,
  samples,
  errors: [],
  ...more,
});

const results = (): WorkloadResults[] => [
  {
    workload: flatWorkload(4),
    rows: [
      row('floor (a plain spawn loop)', [sample(100), sample(120), sample(90)]),
      row('sysmaster', [sample(200), sample(260), sample(210)], { errors: ['boom'] }),
      row('systemd 252', [], { skipped: 'no docker here' }),
      row('s6 | odd', [], { errors: ['timed out\nmore'] }),
    ],
  },
  { workload: chainWorkload(3), rows: [row('floor (a plain spawn loop)', [sample(50)]), row('sysmaster', [sample(80)])] },
];

t.test('the table: a row per manager, median (min–max), the reasons of rows without figures', async (t) => {
  const text = renderTable(results()[0], 3);
  const lines = text.split('\n');
  t.match(lines[0], /^### flat: 4 independent services/);
  t.equal(lines[2], '| manager | ready, ms | stopped, ms | RSS, MB | PSS, MB | CPU, ms | readiness | dependencies |');
  t.match(text, /\| floor \(a plain spawn loop\) \| 100 \(90–120\) \| 100 \(100–100\) \| 2\.0 \(2\.0–2\.0\) \| 1\.0 \(1\.0–1\.0\) \| 50 \(50–50\) \| floor \(a plain spawn loop\) readiness \| floor \(a plain spawn loop\) deps \|/);
  t.match(text, /\| sysmaster \| 210 \(200–260\) \|/);
  t.match(text, /\| systemd 252 \| not run here: no docker here \| – \| – \| – \| – \|/);
  t.match(text, /\| s6 \\\| odd \| failed: timed out \| – \|/, 'pipes escaped, first line of the error');
  t.match(text, /sysmaster's median time to all ready: 2\.10 × the floor's/);
  t.match(text, /- sysmaster: 1 of 3 runs failed \(not in the figures\): boom/);
  const report = renderReport(results(), 3, 'Machine: test');
  t.match(report, /Machine: test/);
  t.match(report, /### chain: 3 services/);
  t.match(report, /\[ready\]\(peers-ready\.svg\)/);
});

t.test('the kill -9 table: what became of the services, and when they were supervised again', async (t) => {
  const r: WorkloadResults = {
    ...results()[0],
    crashes: [
      { manager: 'sysmaster', result: { killed: 'the core (kill -9)', recoveryMs: 412.4, services: 4, kept: 4, copies: 4 } },
      { manager: 's6', result: { killed: 'every s6-supervise (kill -9)', recoveryMs: null, services: 4, kept: 4, copies: 8 } },
      { manager: 'supervisord', result: { killed: 'supervisord', recoveryMs: null, services: 4, kept: 0, copies: 0 } },
      { manager: 'runit', result: 'timed out\nmore' },
    ],
  };
  const text = renderCrashes(r)!;
  t.match(text, /\| sysmaster \| the core \(kill -9\) \| 4 of 4 \| 4 \| 412 ms, with the PIDs from before \|/);
  t.match(text, /\| s6 \| every s6-supervise \(kill -9\) \| 4 of 4 \| 8 \| never: the new supervisors started second copies \|/);
  t.match(text, /\| supervisord \| supervisord \| 0 of 4 \| 0 \| never \|/);
  t.match(text, /\| runit \| failed: timed out \| – \|/);
  t.match(text, /systemd: not measured/);
  t.equal(renderCrashes(results()[0]), null, 'no probes, no table');
  t.match(renderReport([r], 3, 'Machine: test'), /#### kill -9 during the flat workload/);
});

t.test('the SVG: a labelled bar per manager that ran, per workload; a note for those that did not', async (t) => {
  const svg = renderSvg(METRICS[0], results());
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, /<\/svg>\n$/);
  const bars = [...svg.matchAll(/<rect class="bar" data-manager="([^"]+)" data-workload="(\w+)"[^>]* width="([\d.]+)"/g)];
  t.same(
    bars.map((b) => `${b[2]}:${b[1]}`),
    ['flat:floor (a plain spawn loop)', 'flat:sysmaster', 'chain:floor (a plain spawn loop)', 'chain:sysmaster'],
  );
  const labels = [...svg.matchAll(/<text class="label"[^>]*>([^<]+)<\/text>/g)].map((l) => l[1]);
  t.same(labels, ['floor (a plain spawn loop)', 'sysmaster', 'systemd 252', 's6 | odd', 'floor (a plain spawn loop)', 'sysmaster']);
  t.ok(svg.includes('not run here: no docker here'));
  t.ok(svg.includes('failed: timed out'));
  t.ok(svg.includes('210 (200–260)'), 'the median and range written beside the bar');
  // One scale: sysmaster's 210 ms bar is 2.1 times the floor's 100 ms bar in the same chart.
  const w = (i: number) => Number(bars[i][3]);
  t.ok(Math.abs(w(1) / w(0) - 2.1) < 0.01);
  t.equal((svg.match(/class="whisker"/g) ?? []).length, 4);
  // Every metric renders, with its unit in the title.
  for (const m of METRICS) t.match(renderSvg(m, results()), `, ${m.unit}</text>`);
});
