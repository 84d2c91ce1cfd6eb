// `node dist/bench/spawn.js`: how long starting one process blocks the main thread, in a process holding a heap the
// size of a core's (libuv's fork copies page tables, so its cost grows with RSS; glibc's posix_spawn shares the
// memory until exec). Prints markdown. Knobs: SPAWN_N processes per row (300), SPAWN_HEAP_MB (100).
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Reaper } from '../reconciler/reaper.js';
import { spawnOffThread, spawnProcess, type SpawnHandle, type SpawnOptions } from '../reconciler/spawn.js';
import { posixSpawn, posixSpawnAsync, type SpawnRequest } from '../reconciler/sys.js';

const n = Number(process.env.SPAWN_N ?? 300);
const heapMb = Number(process.env.SPAWN_HEAP_MB ?? 100);
const argv = ['/bin/sh', '-c', 'exec sleep 600'];
const env = { PATH: '/usr/bin:/bin' };
const request: SpawnRequest = { path: argv[0], argv, env: ['PATH=/usr/bin:/bin'], stdio: [null, null, null] };

/** Live JS objects, as a core's units, machines and state are. */
function ballast(mb: number): unknown[] {
  const chunks: unknown[] = [];
  while (process.memoryUsage().heapUsed < mb * 2 ** 20) {
    chunks.push(Array.from({ length: 10_000 }, (_, i) => ({ i, name: `unit-${i}.service`, deps: [i - 1, i + 1] })));
  }
  return chunks;
}

/** Reaped exits of the children no handle owns (the raw posix_spawn rows). */
const reaped = new Set<number>();
const reaper = new Reaper();
reaper.on('exit', (i) => reaped.add(i.pid));

interface Started {
  pid: number;
  gone: Promise<unknown>;
}

/** One way to start the payload: returns once the process has exec'd. */
type Way = () => Promise<Started>;

const direct: Way = () =>
  new Promise((resolve, reject) => {
    const c: ChildProcess = spawn(argv[0], argv.slice(1), { env, stdio: 'ignore', detached: true });
    const gone = new Promise((r) => c.once('exit', r));
    c.once('spawn', () => resolve({ pid: c.pid!, gone }));
    c.once('error', reject);
  });

const viaSpawnProcess =
  (output: SpawnOptions['stdout']['kind'] & ('null' | 'journal')): Way =>
  async () => {
    const h: SpawnHandle = spawnProcess({ argv, env, stdout: { kind: output }, stderr: { kind: output }, onLine: () => {} });
    return { pid: await h.spawned, gone: h.exited };
  };

const rawExit = (pid: number) =>
  new Promise<void>((resolve) => {
    const check = () => (reaped.has(pid) ? resolve() : setTimeout(check, 5));
    check();
  });

const rawBlocking: Way = async () => {
  const pid = posixSpawn(request);
  return { pid, gone: rawExit(pid) };
};

const rawAsync: Way = () =>
  new Promise((resolve, reject) =>
    posixSpawnAsync(request, (err, pid) => (err ? reject(err) : resolve({ pid, gone: rawExit(pid) }))),
  );

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function stopAll(started: Started[]): Promise<void> {
  for (const s of started) process.kill(-s.pid, 'SIGKILL');
  await Promise.all(started.map((s) => s.gone));
}

/** n spawns one after the other: the synchronous call, and all main-thread time (ELU) per spawn. */
async function sequential(way: Way) {
  const calls: number[] = [];
  const started: Started[] = [];
  const elu = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const c0 = performance.now();
    const p = way();
    calls.push(performance.now() - c0);
    started.push(await p);
  }
  const wall = performance.now() - t0;
  const busy = performance.eventLoopUtilization(elu).active;
  await stopAll(started);
  return { median: quantile(calls, 0.5), p90: quantile(calls, 0.9), busy: busy / n, wall: wall / n };
}

/** n spawns at once, as a bring-up does: time until every one has exec'd, and main-thread time. */
async function burst(way: Way) {
  const elu = performance.eventLoopUtilization();
  const t0 = performance.now();
  const started = await Promise.all(Array.from({ length: n }, () => way()));
  const wall = performance.now() - t0;
  const busy = performance.eventLoopUtilization(elu).active;
  await stopAll(started);
  return { wall, busy };
}

/** Raw async spawns with at most `limit` on pool threads: what spawn.ts's MAX_IN_FLIGHT trades. */
async function limited(limit: number) {
  const t0 = performance.now();
  const started: Started[] = [];
  let next = 0;
  const lane = async () => {
    while (next++ < n) started.push(await rawAsync());
  };
  await Promise.all(Array.from({ length: limit }, lane));
  const wall = performance.now() - t0;
  await stopAll(started);
  return wall;
}

const f = (x: number, d = 2) => x.toFixed(d);

async function main() {
  const keep = ballast(heapMb);
  await new Promise((r) => setImmediate(r));
  const mem = process.memoryUsage();
  const out = [
    `## Spawning: main-thread block per process (${n} \`sh -c 'exec sleep'\` per row)`,
    '',
    `Heap ${f(mem.heapUsed / 2 ** 20, 0)} MB, RSS ${f(mem.rss / 2 ** 20, 0)} MB (${keep.length} ballast chunks), Node ${process.version}`,
    '',
    '| way | call, median ms | call, p90 ms | main thread per spawn, ms (ELU) | wall per spawn, ms |',
    '|---|---|---|---|---|',
  ];
  const row = async (name: string, way: Way) => {
    const r = await sequential(way);
    out.push(`| ${name} | ${f(r.median)} | ${f(r.p90)} | ${f(r.busy)} | ${f(r.wall)} |`);
    process.stderr.write('.');
  };
  // No Reaper yet: spawnProcess falls back to child_process.
  await row('child_process.spawn, directly', direct);
  await row('spawnProcess → child_process, null output', viaSpawnProcess('null'));
  await row('spawnProcess → child_process, journal output', viaSpawnProcess('journal'));
  const bursts = [
    ['child_process.spawn, directly', await burst(direct)],
    ['spawnProcess → child_process', await burst(viaSpawnProcess('journal'))],
  ] as [string, { wall: number; busy: number }][];
  reaper.start();
  await row('spawnProcess → posix_spawn, null output', viaSpawnProcess('null'));
  await row('spawnProcess → posix_spawn, journal output', viaSpawnProcess('journal'));
  bursts.push(['spawnProcess → posix_spawn', await burst(viaSpawnProcess('journal'))]);
  spawnOffThread(true);
  await row('spawnProcess → posix_spawn off the main thread, null output', viaSpawnProcess('null'));
  await row('spawnProcess → posix_spawn off the main thread, journal output', viaSpawnProcess('journal'));
  bursts.push(['spawnProcess → posix_spawn off the main thread', await burst(viaSpawnProcess('journal'))]);
  spawnOffThread(false);
  await row('sys.posixSpawn', rawBlocking);
  await row('sys.posixSpawnAsync', rawAsync);
  out.push(
    '',
    `### ${n} at once (journal output), until all have exec'd`,
    '',
    '| way | wall, ms | main thread busy, ms |',
    '|---|---|---|',
    ...bursts.map(([name, b]) => `| ${name} | ${f(b.wall, 0)} | ${f(b.busy, 0)} |`),
    '',
    `### sys.posixSpawnAsync, ${n} with at most k on pool threads`,
    '',
    '| k | wall, ms |',
    '|---|---|',
  );
  for (const k of [1, 2, 4, 8]) out.push(`| ${k} | ${f(await limited(k), 0)} |`);
  reaper.stop();
  process.stderr.write('\n');
  console.log(out.join('\n'));
}

await main();
