// The README's example, specs/examples/webstack.toml, run as a user would: up, poke it over HTTP, Ctrl-C.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { root, scratch, Up } from './harness.js';

interface Info {
  name: string;
  active: string;
  sub: string;
  mainPid: number | null;
}

const examples = path.join(root, 'specs/examples');
const ports = [7101, 7102, 7103];

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

const get = async (url: string, init: RequestInit = {}) => {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
};

/** Live processes started in the examples directory (the stack's node scripts and their notify helpers). */
function examplePids(): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/cwd`) === examples && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });
}

t.test('the webstack example', async (t) => {
  const busy = (await Promise.all(ports.map(listening))).flatMap((b, i) => (b ? [ports[i]] : []));
  if (busy.length) return t.fail(`ports ${busy.join(', ')} are in use: is another webstack running?`);
  t.same(examplePids(), [], 'no example process before');

  const dir = scratch();
  const up = new Up(path.join(examples, 'webstack.toml'), path.join(dir, 'state'));
  t.teardown(async () => {
    await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await up.ready();
  t.match(up.output, /all \d+ jobs done/, 'the first start has no failures');

  const units = await up.json<Info[]>('list-units');
  const by = (n: string) => units.find((u) => u.name === n);
  for (const n of ['db', 'api', 'web', 'worker']) t.match(by(`${n}.service`), { active: 'active', sub: 'running', mainPid: Number }, `${n} runs`);
  t.match(by('migrate.service'), { active: 'active', sub: 'exited', mainPid: null }, 'migrate ran and exited');
  t.match(by('webstack.target'), { active: 'active' });

  const stats = await get('http://127.0.0.1:7103/api/stats');
  t.equal(stats.status, 200, 'web answers /api/stats');
  t.match(JSON.parse(stats.body), { schema: 'v1' }, 'with the schema migrate wrote into db, read by api');
  const note = `written through web at ${Date.now()}`;
  const put = await get('http://127.0.0.1:7103/api/notes/probe', { method: 'PUT', body: note });
  t.ok(put.status >= 200 && put.status < 300, `a PUT through web answers ${put.status}`);
  t.match(JSON.parse((await get('http://127.0.0.1:7101/kv')).body), { 'note:probe': note }, 'and lands in db');
  t.match((await get('http://127.0.0.1:7103/')).body, /<h1>webstack<\/h1>/, 'the HTML page');

  const restarts = await up.prop('worker', 'NRestarts', (v) => v !== '0', 30_000);
  t.equal(restarts, '1', 'the worker crashed once and was restarted');
  t.match(up.output, /worker\.service\s+\| crashing on purpose/);
  await up.prop('worker', 'SubState', (v) => v === 'running');
  const show = await up.sctl('show', 'worker', '-p', 'ActiveState,NRestarts', '--value');
  t.equal(show.stdout, 'active\n1\n', 'and runs again');

  const pids = (await up.call<Info[]>('list-units')).flatMap((u) => (u.mainPid ? [u.mainPid] : []));
  t.equal(pids.length, 4);
  t.equal(await up.stop(), 0, 'SIGTERM: up exits 0');

  const stopping = up.output.slice(up.output.indexOf('stopping all units'));
  const at = (unit: string, what: RegExp) => {
    const i = stopping.split('\n').findIndex((l) => l.startsWith(unit) && what.test(l));
    t.not(i, -1, `${unit} ${what}`);
    return i;
  };
  const begins = (u: string) => at(`${u}.service`, /\| active → deactivating/);
  const ends = (u: string) => at(`${u}.service`, /→ inactive/);
  t.ok(ends('web') < begins('api'), 'web stops before api');
  t.ok(ends('worker') < begins('api'), 'worker stops before api');
  t.ok(ends('api') < begins('db'), 'api stops before db');
  t.ok(ends('migrate') < begins('db'), 'migrate stops before db');
  t.match(stopping, /all units stopped/);
  t.same(pids.filter((p) => fs.existsSync(`/proc/${p}`)), [], 'every main process is gone');
  t.same(examplePids(), [], 'no example process left');
  t.same((await Promise.all(ports.map(listening))).filter(Boolean), [], 'no port listening');
});
