// The log store on real files: rotation by size and count, and readers across the rotated files (docs/logs.md).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { LogStore, type LogRecord } from '../../logger/store.js';

function store(t: Test, limits = { maxSize: 1024, maxFiles: 3 }): { s: LogStore; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-logs-'));
  const s = new LogStore(dir);
  s.limits = limits;
  t.teardown(() => {
    s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { s, dir };
}

const add = (s: LogStore, unit: string, i: number, time = 1_000 + i) =>
  s.add({ time, unit, pid: 7, stream: 'stdout', message: `line ${i}` });
const numbers = (rs: LogRecord[]) => rs.map((r) => Number(/^line (\d+)$/.exec(r.message)?.[1]));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
/** Every record on disk for a unit, oldest file first, as a reader of the format would read them. */
const onDisk = (dir: string, unit: string): LogRecord[] =>
  fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`${unit}.log`))
    .sort((a, b) => Number(b.split('.log.')[1] ?? 0) - Number(a.split('.log.')[1] ?? 0))
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as LogRecord);

t.test('a file that would pass LogMaxSize is rotated; only LogMaxFiles rotated files are kept', async (t) => {
  const { s, dir } = store(t);
  for (let i = 1; i <= 200; i++) add(s, 'a.service', i);
  s.flush();
  const files = fs.readdirSync(dir).sort();
  t.same(files, ['a.service.log', 'a.service.log.1', 'a.service.log.2', 'a.service.log.3'], 'the current file and 3 rotated');
  for (const f of files) {
    const st = fs.statSync(path.join(dir, f));
    t.ok(st.size <= 1024, `${f}: ${st.size} bytes, at most LogMaxSize`);
    t.equal(st.mode & 0o777, 0o600, `${f} is 0600`);
  }
  const kept = numbers(onDisk(dir, 'a.service'));
  t.same(kept, range(201 - kept.length, kept.length), 'the files hold the newest records, in order, none twice');
  t.ok(kept.length < 200, 'the oldest went with the files beyond LogMaxFiles');
  t.same(numbers(s.tail({ units: ['a.service'] }, 1000)), kept, 'tail reads across every kept file');
  t.same(numbers(s.tail({ units: ['a.service'] }, 25)), range(176, 25), '-n 25: the last 25, oldest first');
});

t.test('records queued in this turn are read by tail, and rotation keeps each record once', async (t) => {
  const { s, dir } = store(t, { maxSize: 1000, maxFiles: 100 });
  const seen: number[] = [];
  s.subscribe((r) => seen.push(...numbers([r])));
  for (let i = 1; i <= 500; i++) {
    add(s, 'b.service', i);
    // Read now and then, between rotations, without waiting for the end of the turn.
    if (i % 97 === 0) t.same(numbers(s.tail({ units: ['b.service'] }, 10_000)), range(1, i), `after ${i} records`);
  }
  t.same(numbers(s.tail({ units: ['b.service'] }, 10_000)), range(1, 500), 'all 500, none lost or repeated');
  t.same(seen, range(1, 500), 'followers got each once, in order');
  t.ok(fs.readdirSync(dir).length > 20, `${fs.readdirSync(dir).length} files: it did rotate`);
});

t.test('LogMaxFiles = 0 keeps no rotated file', async (t) => {
  const { s, dir } = store(t, { maxSize: 200, maxFiles: 0 });
  for (let i = 1; i <= 50; i++) add(s, 'c.service', i);
  s.flush();
  t.same(fs.readdirSync(dir), ['c.service.log']);
  const kept = numbers(s.tail({ units: ['c.service'] }, 100));
  t.same(kept, range(51 - kept.length, kept.length));
});

t.test('a lower LogMaxFiles removes the surplus at the next rotation; a new store reads the old files', async (t) => {
  const { s, dir } = store(t, { maxSize: 300, maxFiles: 5 });
  for (let i = 1; i <= 100; i++) add(s, 'd.service', i);
  s.close();
  t.equal(fs.readdirSync(dir).length, 6);
  const again = new LogStore(dir);
  t.same(numbers(again.tail({ units: [] }, 1000)), numbers(onDisk(dir, 'd.service')), 'found by listing the directory');
  again.limits = { maxSize: 300, maxFiles: 2 };
  for (let i = 101; i <= 120; i++) add(again, 'd.service', i);
  again.close();
  t.same(fs.readdirSync(dir).sort(), ['d.service.log', 'd.service.log.1', 'd.service.log.2']);
  const kept = numbers(onDisk(dir, 'd.service'));
  t.same(kept, range(121 - kept.length, kept.length), 'the newest, in order');
});

t.test('units interleave by time; --since/--until and -n apply across rotated files', async (t) => {
  const { s } = store(t, { maxSize: 400, maxFiles: 50 });
  for (let i = 1; i <= 100; i++) add(s, i % 2 ? 'odd.service' : 'even.service', i);
  const both = s.tail({ units: [] }, 1000);
  t.same(numbers(both), range(1, 100), 'one stream in time order');
  t.same(numbers(s.tail({ units: ['odd.service', 'even.service'] }, 10)), range(91, 10), 'the last 10 of both');
  t.same(numbers(s.tail({ units: [], since: 1_010, until: 1_020 }, 1000)), range(10, 11), 'since and until, inclusive');
  t.same(numbers(s.tail({ units: ['even.service'], since: 1_090 }, 3)), [96, 98, 100]);
  t.same(s.tail({ units: ['none.service'] }, 10), []);
});

t.test('a line cut short by a crash is skipped, and the records around it are read', async (t) => {
  const { s, dir } = store(t, { maxSize: 1 << 20, maxFiles: 1 });
  add(s, 'e.service', 1);
  s.close();
  fs.appendFileSync(path.join(dir, 'e.service.log'), '{"time":1002,"unit":"e.ser\n');
  const again = new LogStore(dir);
  add(again, 'e.service', 3);
  t.same(numbers(again.tail({ units: ['e.service'] }, 10)), [1, 3]);
  again.close();
});
