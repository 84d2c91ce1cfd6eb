import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { SqlJsStatic } from 'sql.js';
import t from 'tap';
import { StateStore, type StateChange, type UnitDef } from '../../reconciler/state.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-state-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const meta = { owner: '1:2', specFile: '/x/spec.toml', eventSeq: 0, manager: null };
const def = (name: string, timeout = Infinity): UnitDef => ({ name, spec: { name, config: { TimeoutStopSec: timeout } }, next: null, removed: false, machine: 'service', hash: `h-${name}` });
const actor = (name: string, pid: number) => ({ name, snapshot: { status: 'active', value: 'running', context: { mainPid: pid } }, starts: { main: String(pid * 10) } });
const change = (c: Partial<StateChange>): StateChange => ({ ...meta, whole: false, defs: [], actors: [], gone: [], jobs: [], requests: null, ...c });

t.test('only what changed is written; the rest stays as it was', async (t) => {
  const file = path.join(dir, 'a.db');
  const store = await StateStore.open(file);
  t.equal(store.load(), null, 'a first start has no state');
  store.save(change({ whole: true, defs: [def('a'), def('b')], actors: [actor('a', 100), actor('b', 200)], jobs: [{ unit: 'a', type: 'start', mode: 'replace', journal: 4 }], requests: [{ key: 'k1', entries: [{ unit: 'a', type: 'start' }], results: [], done: false }] }));
  store.save(change({ eventSeq: 7, actors: [actor('b', 201)] }));
  store.close();
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'the state file is 0600');
  const back = (await StateStore.open(file)).load()!;
  t.equal(back.eventSeq, 7);
  t.same(back.jobs, [], 'jobs are written whole each time');
  t.same(back.requests, [{ key: 'k1', entries: [{ unit: 'a', type: 'start' }], results: [], done: false }], 'requests only when they changed');
  t.same(back.units.map((u) => [u.name, (u.snapshot as { context: { mainPid: number } }).context.mainPid]), [['a', 100], ['b', 201]]);
  t.equal((back.units[0].spec as { config: { TimeoutStopSec: number } }).config.TimeoutStopSec, Infinity, 'Infinity survives');
  t.same(back.units[1].starts, { main: '2010' });
});

t.test('gone units are dropped; a whole write drops what it does not name', async (t) => {
  const file = path.join(dir, 'b.db');
  const store = await StateStore.open(file);
  store.save(change({ whole: true, defs: [def('a'), def('b'), def('c')], actors: [actor('a', 1), actor('b', 2), actor('c', 3)] }));
  store.save(change({ gone: ['b'] }));
  t.same(store.load()!.units.map((u) => u.name), ['a', 'c']);
  store.save(change({ whole: true, defs: [def('z')], actors: [actor('z', 9)] }));
  t.same(store.load()!.units.map((u) => u.name), ['z']);
});

t.test('a file this core cannot read is set aside, with the reason', async (t) => {
  const garbage = path.join(dir, 'garbage.db');
  fs.writeFileSync(garbage, 'this is not sqlite, just some bytes that are long enough to look like a header'.repeat(20));
  const g = await StateStore.open(garbage);
  t.match(g.dropped, /not a sysmaster state file/);
  t.equal(g.load(), null);
  g.save(change({ whole: true, defs: [def('a')], actors: [actor('a', 1)] }));
  t.same((await StateStore.open(garbage)).load()!.units.map((u) => u.name), ['a'], 'and replaced by a good one');

  const old = path.join(dir, 'old.db');
  const SQL = await (createRequire(import.meta.url)('sql.js') as () => Promise<SqlJsStatic>)();
  const db = new SQL.Database();
  db.run("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('version', '1')");
  fs.writeFileSync(old, db.export());
  const o = await StateStore.open(old);
  t.match(o.dropped, /state version 1, this core reads version 4/);
  t.equal(o.load(), null);
});

t.test('a version 2 state is taken over: its jobs get no journal id', async (t) => {
  const file = path.join(dir, 'v2.db');
  const SQL = await (createRequire(import.meta.url)('sql.js') as () => Promise<SqlJsStatic>)();
  const db = new SQL.Database();
  db.run(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta VALUES ('version', '2'), ('owner', 'init'), ('eventSeq', '5');
    CREATE TABLE jobs (seq INTEGER PRIMARY KEY, unit TEXT NOT NULL, type TEXT NOT NULL, mode TEXT NOT NULL);
    INSERT INTO jobs (unit, type, mode) VALUES ('a', 'start', 'replace');`);
  fs.writeFileSync(file, db.export());
  const s = await StateStore.open(file);
  t.equal(s.dropped, null, 'not set aside');
  t.match(s.load(), { owner: 'init', eventSeq: 5, jobs: [{ unit: 'a', type: 'start', mode: 'replace', journal: null }] });
});

t.test('a save appends what changed to the log; the database is written whole only once the log outgrows it', async (t) => {
  const file = path.join(dir, 'log.db');
  const store = await StateStore.open(file);
  store.save(change({ whole: true, defs: [def('a'), def('b')], actors: [actor('a', 1), actor('b', 2)] }));
  const written = fs.statSync(file);
  t.equal(fs.statSync(`${file}.log`).mode & 0o777, 0o600, 'the log is 0600');
  store.save(change({ eventSeq: 3, actors: [actor('a', 11)] }));
  store.save(change({ eventSeq: 4, gone: ['b'] }));
  t.equal(fs.statSync(file).ino, written.ino, 'the database file was not rewritten');
  t.equal(fs.readFileSync(`${file}.log`, 'utf8').split('\n').length, 4, 'a header and a line per save');
  const back = (await StateStore.open(file)).load()!;
  t.equal(back.eventSeq, 4);
  t.same(back.units.map((u) => [u.name, (u.snapshot as { context: { mainPid: number } }).context.mainPid]), [['a', 11]], 'read back: the database, then its log');

  // Saves large enough to outgrow the log's limit: the database is written again, with a new log.
  const big = { ...actor('a', 12), snapshot: { context: { pad: 'x'.repeat(64 * 1024) } } };
  for (let i = 0; i < 8; i++) store.save(change({ eventSeq: 10 + i, actors: [big] }));
  t.not(fs.statSync(file).ino, written.ino, 'the database was written again');
  t.ok(fs.statSync(`${file}.log`).size < 4 * 64 * 1024, 'and the log started over');
  t.equal((await StateStore.open(file)).load()!.eventSeq, 17, 'nothing lost by the fold');
  store.close();
});

t.test('a line the core was killed writing, and a log older than the database, are left out', async (t) => {
  const file = path.join(dir, 'torn.db');
  const store = await StateStore.open(file);
  store.save(change({ whole: true, defs: [def('a')], actors: [actor('a', 1)] }));
  store.save(change({ eventSeq: 2, actors: [actor('a', 2)] }));
  const log = fs.readFileSync(`${file}.log`, 'utf8');
  fs.appendFileSync(`${file}.log`, JSON.stringify({ meta: [['eventSeq', '3']] }).slice(0, 9));
  const torn = (await StateStore.open(file)).load()!;
  t.equal(torn.eventSeq, 2, 'the torn line is not applied');
  t.equal((torn.units[0].snapshot as { context: { mainPid: number } }).context.mainPid, 2, 'the lines before it are');

  // A core killed after writing the database whole and before starting its new log leaves the old log: already in it.
  store.save(change({ whole: true, defs: [def('a')], actors: [actor('a', 5)], eventSeq: 5 }));
  fs.writeFileSync(`${file}.log`, log);
  const older = (await StateStore.open(file)).load()!;
  t.equal(older.eventSeq, 5, 'the older log is not applied over the newer database');
  t.equal((older.units[0].snapshot as { context: { mainPid: number } }).context.mainPid, 5);

  fs.writeFileSync(`${file}.log`, 'garbage\n');
  t.equal((await StateStore.open(file)).load()!.eventSeq, 5, 'a log that is not one is ignored');
  store.close();
});

t.test('a version 3 state (no log) is taken over as it is', async (t) => {
  const file = path.join(dir, 'v3.db');
  const SQL = await (createRequire(import.meta.url)('sql.js') as () => Promise<SqlJsStatic>)();
  const db = new SQL.Database();
  db.run(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta VALUES ('version', '3'), ('owner', 'init'), ('eventSeq', '9');`);
  fs.writeFileSync(file, db.export());
  const s = await StateStore.open(file);
  t.equal(s.dropped, null, 'not set aside');
  t.match(s.load(), { owner: 'init', eventSeq: 9 });
});

t.test('saves merged before they reach the database: the last row of a unit wins, gone and back is back', async (t) => {
  const file = path.join(dir, 'merge.db');
  const store = await StateStore.open(file);
  store.save(change({ whole: true, defs: [def('a'), def('b')], actors: [actor('a', 1), actor('b', 2)] }));
  store.save(change({ gone: ['a'] }));
  store.save(change({ defs: [def('a')], actors: [actor('a', 3)] }));
  store.save(change({ gone: ['b'], actors: [actor('a', 4)] }));
  for (const back of [store.load()!, (await StateStore.open(file)).load()!])
    t.same(back.units.map((u) => [u.name, (u.snapshot as { context: { mainPid: number } }).context.mainPid]), [['a', 4]]);
  store.close();
});
