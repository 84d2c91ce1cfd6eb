// sctl top's pure parts: %CPU from two samples, systemd-cgtop's orders, the table.
import t from 'tap';
import { cpuPercent, formatBytes, orderRows, renderTop, topRows, type TopRow } from '../../cli/top.js';

t.test('%CPU: CPU nanoseconds used over nanoseconds elapsed, in percent of one CPU', async (t) => {
  t.equal(cpuPercent(0, 500e6, 1000), 50, 'half a second of CPU in one second');
  t.equal(cpuPercent(1e9, 3e9, 1000), 200, 'two busy CPUs');
  t.equal(cpuPercent(0, 25e6, 100), 25, 'a short first sample counts the same');
  t.equal(cpuPercent(null, 5e6, 1000), null, 'no earlier figure');
  t.equal(cpuPercent(undefined, 5e6, 1000), null, 'the unit was not in the earlier sample');
  t.equal(cpuPercent(5e6, null, 1000), null, 'nothing counts CPU');
  t.equal(cpuPercent(9e9, 1e6, 1000), null, 'the counter went back: a new cgroup');
  t.equal(cpuPercent(0, 1e6, 0), null, 'no time elapsed');
});

t.test('rows of the later sample, each against the earlier one', async (t) => {
  const prev = { time: 1000, units: [{ unit: 'a.service', tasks: 1, memoryBytes: 10, cpuNs: 1e9 }] };
  const cur = {
    time: 1500,
    units: [
      { unit: 'a.service', tasks: 2, memoryBytes: 20, cpuNs: 1.25e9 },
      { unit: 'b.service', tasks: 1, memoryBytes: 5, cpuNs: 1e6 },
    ],
  };
  t.same(topRows(prev, cur), [
    { unit: 'a.service', tasks: 2, memoryBytes: 20, cpuNs: 1.25e9, cpuPercent: 50 },
    { unit: 'b.service', tasks: 1, memoryBytes: 5, cpuNs: 1e6, cpuPercent: null },
  ]);
});

const row = (unit: string, cpuPercent: number | null, memoryBytes: number | null, tasks: number | null): TopRow => ({ unit, cpuPercent, memoryBytes, tasks, cpuNs: null });

t.test("cgtop's orders: largest first, unknown figures last, then by name", async (t) => {
  const rows = [row('c.service', 5, 300, 1), row('a.service', null, 100, 9), row('b.service', 40, null, 3), row('d.service', 5, 200, null)];
  const names = (by: 'cpu' | 'memory' | 'tasks' | 'path') => orderRows(rows, by).map((r) => r.unit);
  t.same(names('cpu'), ['b.service', 'c.service', 'd.service', 'a.service']);
  t.same(names('memory'), ['c.service', 'd.service', 'a.service', 'b.service']);
  t.same(names('tasks'), ['a.service', 'b.service', 'c.service', 'd.service']);
  t.same(names('path'), ['a.service', 'b.service', 'c.service', 'd.service']);
  t.same(rows.map((r) => r.unit), ['c.service', 'a.service', 'b.service', 'd.service'], 'the input is left alone');
});

t.test('the table: figures right-aligned, "-" where unknown, sizes as systemd prints them', async (t) => {
  const lines = renderTop([row('web.service', 12.345, 3.5 * 2 ** 20, 4), row('x.service', null, null, null)]);
  t.same(lines, [
    'Unit         Tasks   %CPU Memory',
    'web.service      4   12.3   3.5M',
    'x.service        -      -      -',
  ]);
  t.equal(formatBytes(512), '512B');
  t.equal(formatBytes(1536), '1.5K');
  t.equal(formatBytes(2 ** 30 * 1.99), '1.9G', 'truncated, as format_bytes does');
});
