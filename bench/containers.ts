// Containers (issue 5): the example stack (specs/examples/webstack.toml: db → migrate → api → web, worker) as a
// container, from `docker run` to all units ready, and the memory of the whole container (init + core + services),
// next to the same services under supervisord in the same run: with `priority` only, as its users write it, and with
// shell wait loops, the usual workaround for its missing dependencies. Runs of the three are interleaved.
// Images, rebuilt each run and kept (layers cached): $SYSMASTER_IMAGE (default sysmaster:dev, containers/build.sh),
// sysmaster-bench:sysmaster and sysmaster-bench:supervisord (containers/supervisord/build.sh).
// Skips, saying why, when no container engine answers. Size knobs: BENCH_CONTAINER_RUNS, BENCH_CONTAINER_SETTLE_MS.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { docker, image as baseImage } from '../test/containers/harness.js';
import { median, range, revision, writeResults } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const runs = Number(process.env.BENCH_CONTAINER_RUNS ?? 5);
/** Memory is read this long after all ready: the worker has polled the api twice, every process has settled. */
const settleMs = Number(process.env.BENCH_CONTAINER_SETTLE_MS ?? 2000);
const label = 'org.sysmaster.bench';
const smImage = 'sysmaster-bench:sysmaster';
const svImage = 'sysmaster-bench:supervisord';
/** Where both images hold specs/examples: there notify.mjs finds /opt/sysmaster/bin/sysmaster.js for READY=1. */
const examples = '/opt/sysmaster/specs/examples';
const READY_TIMEOUT_MS = 60_000;

/** Each service's own line that says it is ready, the same on both sides (sysmaster prefixes "unit |"). */
const readyLines: Record<string, RegExp> = {
  db: /listening on 127\.0\.0\.1:7101/,
  migrate: /schema .*-> v1|schema already at v1/,
  api: /listening on 127\.0\.0\.1:7102/,
  web: /listening on 127\.0\.0\.1:7103/,
  worker: /polling api on :7102/,
};
/** The services that keep running: each must be there, once, when memory is read. */
const daemons = ['db', 'api', 'web', 'worker'];

interface Side {
  key: 'sm' | 'sv' | 'svWait';
  image: string;
  args: string[];
  failed: RegExp; // a line that means the stack will not come up
  spawned: RegExp; // the manager's line when it starts a service: $1 is the service
}

const sides: Side[] = [
  // A READY=1 the core ignores ends in db's or api's start timeout (15 s): give up on that run at once.
  { key: 'sm', image: smImage, args: [], failed: /started with failures|notify message from pid \d+ ignored/, spawned: /^(\w+)\.service\s+\| .*→ activating/ },
  { key: 'sv', image: svImage, args: [], failed: /gave up: /, spawned: /spawned: '(\w+)'/ },
  { key: 'svWait', image: svImage, args: ['/etc/supervisor/webstack-wait.conf'], failed: /gave up: /, spawned: /spawned: '(\w+)'/ },
];

interface Mem {
  stats: number; // MB, what `docker stats` shows: the cgroup's usage minus its inactive file pages
  rss: number; // MB, ΣRSS of the container's processes (shared pages counted in each)
  pss: number; // MB, ΣPSS (shared pages divided among the processes that map them, in any container or the host)
  manager: number; // MB, PSS of the manager: sysmaster-init + the core, or supervisord
  procs: number;
}

interface Sample {
  started: number; // ms, `docker run` → the container's StartedAt
  firstSpawn: number; // ms, `docker run` → the manager starts db, the first service
  ready: number; // ms, `docker run` → the last of the services' ready lines
  jobsDone?: number; // ms, `docker run` → sysmaster's "all N jobs done"
  notify?: number; // ms, db's and api's ready line → their unit active, summed: READY=1 through `sysmaster notify`
  apiStarts: number; // times api was started
  cpu: number; // s of CPU of the whole container when the bench saw it ready
  mem: Mem;
  stop: number; // ms, `docker stop` launch → exit
  exit: number; // the container's exit code after `docker stop`
}

/** A run in which the stack did not come up: counted and run again. `line` is the one that said so. */
class Failed extends Error {
  constructor(
    readonly line: string,
    log: string,
  ) {
    super(`the stack did not come up (${line}):\n${log}`);
  }
}

/** `docker` that must succeed: its stdout, trimmed. */
async function must(args: string[], timeoutMs?: number): Promise<string> {
  const r = await docker(args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

function sh(command: string, args: string[]): void {
  execFileSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** The project's image from this checkout, the example stack on it, and the supervisord image on the same base. */
async function buildImages(): Promise<void> {
  sh(path.join(root, 'containers/build.sh'), [baseImage]);
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-image-'));
  try {
    fs.cpSync(path.join(root, 'specs/examples'), path.join(ctx, 'examples'), { recursive: true });
    // The worker's deliberate crash (5 s after its start) would land while memory is read: off on both sides.
    const spec = path.join(ctx, 'examples/webstack.toml');
    const text = fs.readFileSync(spec, 'utf8');
    const crashOff = text.replace('WORKER_CRASH_AFTER_MS = "5000"', 'WORKER_CRASH_AFTER_MS = "0"');
    if (crashOff === text) throw new Error(`no WORKER_CRASH_AFTER_MS = "5000" in ${spec}: update bench/containers.ts`);
    fs.writeFileSync(spec, crashOff);
    fs.writeFileSync(
      path.join(ctx, 'Dockerfile'),
      `FROM ${baseImage}\nCOPY examples/ ${examples}/\nCMD ["--spec", "${examples}/webstack.toml"]\n`,
    );
    const previous = (await docker(['image', 'inspect', '--format', '{{.Id}}', smImage])).stdout.trim();
    const built = await must(['build', '--quiet', '--tag', smImage, ctx], 300_000);
    // The image the tag named before is left untagged: drop it, as containers/build.sh does.
    if (previous && previous !== built) await docker(['image', 'rm', previous]);
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
  sh(path.join(root, 'containers/supervisord/build.sh'), [svImage, baseImage]);
}

/** ms since the epoch from a `docker logs -t` timestamp (RFC 3339 with nanoseconds, UTC). */
const epochMs = (ts: string): number => Date.parse(ts.slice(0, 19) + 'Z') + Number(`0${ts.slice(19, -1)}`) * 1000;

/** The container's cgroup directories on this host, for memory and CPU (cgroup v1 or v2). */
function cgroupDirs(pid: number): { memory: string; cpu: string; v2: boolean } {
  if (!fs.existsSync(`/proc/${pid}/cgroup`)) throw new Error(`the container's pid ${pid} is not in this machine's /proc: the engine must run here`);
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => l.split(':'));
  const v1 = (controller: string) => lines.find(([, cs]) => cs.split(',').includes(controller))?.[2];
  const [memory, cpu] = [v1('memory'), v1('cpuacct')];
  if (memory !== undefined && cpu !== undefined) return { memory: `/sys/fs/cgroup/memory${memory}`, cpu: `/sys/fs/cgroup/cpuacct${cpu}`, v2: false };
  const unified = `/sys/fs/cgroup${lines.find(([id]) => id === '0')?.[2] ?? ''}`;
  return { memory: unified, cpu: unified, v2: true };
}

function cpuOf(cg: ReturnType<typeof cgroupDirs>): number {
  if (!cg.v2) return Number(fs.readFileSync(path.join(cg.cpu, 'cpuacct.usage'), 'utf8')) / 1e9;
  return Number(/usage_usec (\d+)/.exec(fs.readFileSync(path.join(cg.cpu, 'cpu.stat'), 'utf8'))![1]) / 1e6;
}

/** Rss and Pss of a process, MB, from /proc/PID/smaps_rollup. */
function rollup(pid: number): { rss: number; pss: number } {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)![1]);
  return { rss: kb('Rss') / 1024, pss: kb('Pss') / 1024 };
}

const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();

/** Every process of the container, read from the host's /proc (dockerd runs on this machine): no process added to it. */
function memoryOf(cg: ReturnType<typeof cgroupDirs>, init: number, log: () => string): Mem {
  const pids = fs.readFileSync(path.join(cg.memory, 'cgroup.procs'), 'utf8').trim().split('\n').map(Number);
  const procs = pids.map((pid) => ({ pid, cmd: cmdline(pid), ...rollup(pid) }));
  for (const d of daemons) {
    const n = procs.filter((p) => p.cmd.endsWith(`node ${d}.mjs`)).length;
    if (n !== 1) throw new Error(`${n} processes of ${d}.mjs when memory is read:\n${procs.map((p) => p.cmd).join('\n')}\n${log()}`);
  }
  const stat = fs.readFileSync(path.join(cg.memory, 'memory.stat'), 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0);
  const usage = cg.v2 ? Number(fs.readFileSync(path.join(cg.memory, 'memory.current'), 'utf8')) : Number(fs.readFileSync(path.join(cg.memory, 'memory.usage_in_bytes'), 'utf8'));
  // docker stats' own formula (Docker 20.10): usage minus the inactive file cache.
  const inactive = cg.v2 ? field('inactive_file') : field('total_inactive_file');
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const manager = procs.filter((p) => p.pid === init || p.cmd.includes('/reconciler/main.js'));
  return {
    stats: (usage - inactive) / 2 ** 20,
    rss: sum(procs.map((p) => p.rss)),
    pss: sum(procs.map((p) => p.pss)),
    manager: sum(manager.map((p) => p.pss)),
    procs: procs.length,
  };
}

/**
 * One container: `docker run -d`, then its log with the daemon's timestamps (`docker logs -f -t`). The times come from
 * those timestamps, taken when dockerd reads each line from the container's stdout, against the wall clock at the
 * launch of `docker run`: the delay of the log stream to this process does not count.
 */
async function runOnce(side: Side): Promise<Sample> {
  const t0 = Date.now();
  const id = await must(['run', '-d', '--label', label, side.image, ...side.args]);
  const follow = spawn('docker', ['logs', '-f', '-t', id], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const lines: { t: number; text: string }[] = [];
    let partial = '';
    const log = () => lines.map((l) => l.text).join('\n').slice(-4000);
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in ${READY_TIMEOUT_MS} ms:\n${log()}`)), READY_TIMEOUT_MS);
      const done = (err?: Error) => (clearTimeout(timer), err ? reject(err) : resolve());
      const onData = (d: Buffer) => {
        const parts = (partial + d).split('\n');
        partial = parts.pop()!;
        for (const p of parts) {
          const at = p.indexOf(' ');
          lines.push({ t: epochMs(p.slice(0, at)) - t0, text: p.slice(at + 1) });
          if (side.failed.test(p)) done(new Failed(p.slice(at + 1), log()));
        }
        const all = Object.values(readyLines).every((re) => lines.some((l) => re.test(l.text)));
        if (all && (side.key !== 'sm' || lines.some((l) => /all \d+ jobs done/.test(l.text)))) done();
      };
      follow.stdout.on('data', onData);
      follow.stderr.on('data', onData);
      follow.on('exit', () => done(new Error(`docker logs ended before all ready:\n${log()}`)));
    });
    await seen;
    const [startedAt, pid] = (await must(['inspect', '--format', '{{.State.StartedAt}} {{.State.Pid}}', id])).split(' ');
    const cg = cgroupDirs(Number(pid));
    const cpu = cpuOf(cg);
    await sleep(settleMs);
    const mem = memoryOf(cg, Number(pid), log);
    const at = (re: RegExp) => lines.find((l) => re.test(l.text))!.t;
    const spawns = (service: string) => lines.filter((l) => side.spawned.exec(l.text)?.[1] === service);
    const sample: Sample = {
      started: epochMs(startedAt) - t0,
      firstSpawn: spawns('db')[0].t,
      ready: Math.max(...Object.values(readyLines).map(at)),
      apiStarts: spawns('api').length,
      cpu,
      mem,
      stop: 0,
      exit: -1,
    };
    if (side.key === 'sm') {
      sample.jobsDone = at(/all \d+ jobs done/);
      const active = (unit: string) => at(new RegExp(`^${unit}\\.service\\s+\\| activating → active`));
      sample.notify = active('db') - at(readyLines.db) + active('api') - at(readyLines.api);
    }
    const t1 = Date.now();
    await must(['stop', '-t', '10', id], 40_000);
    sample.stop = Date.now() - t1;
    sample.exit = Number(await must(['inspect', '--format', '{{.State.ExitCode}}', id]));
    return sample;
  } finally {
    follow.kill();
    await docker(['rm', '-f', '-v', id]);
  }
}

/** The engine and what it runs on: version, storage driver, cgroup version. */
async function engine(): Promise<string> {
  const info = await must(['info', '--format', '{{.ServerVersion}} {{.Driver}} {{.CgroupVersion}}']);
  const [version, driver, cgroup] = info.split(' ');
  return `Docker ${version} (${driver}, cgroup v${cgroup})`;
}


async function main(): Promise<string | null> {
  const answer = await docker(['version', '--format', '{{.Server.Version}}'], 20_000);
  if (answer.code !== 0) {
    const why = answer.stderr.trim().split('\n')[0] || 'docker version timed out';
    console.log(`bench/containers: skipped, no container engine answers (${why})`);
    return null;
  }
  const load0 = os.loadavg()[0];
  await buildImages();
  const leftovers = await must(['ps', '-aq', '--filter', `label=${label}`]);
  if (leftovers) await must(['rm', '-f', '-v', ...leftovers.split('\n')]);
  const samples: Record<Side['key'], Sample[]> = { sm: [], sv: [], svWait: [] };
  const failures: Record<Side['key'], string[]> = { sm: [], sv: [], svWait: [] };
  for (let i = 0; i < runs; i++) {
    // Interleaved, and each side first in turn, so drift in the machine's speed hits all alike.
    for (let j = 0; j < sides.length; j++) {
      const side = sides[(i + j) % sides.length];
      for (;;) {
        try {
          samples[side.key].push(await runOnce(side));
          process.stderr.write('.');
          break;
        } catch (err) {
          if (!(err instanceof Failed) || failures[side.key].length >= runs) throw err;
          failures[side.key].push(err.line);
          process.stderr.write(`\n${side.image} ${side.args.join(' ')}: did not come up, run again: ${err.line}\n`);
        }
      }
    }
  }
  process.stderr.write('\n');
  const load1 = os.loadavg()[0];
  const { sm, sv, svWait } = samples;
  const versions = ['import platform, supervisor.options as o', 'print(f"supervisord {o.VERSION} on Debian\'s python {platform.python_version()}")'];
  const svVersion = await must(['run', '--rm', '--entrypoint', '/usr/bin/python3', svImage, '-c', versions.join('; ')]);
  const base = await must(['image', 'inspect', '--format', '{{.Id}} {{.Size}}', baseImage]);
  const [baseId, baseSize] = base.split(' ');
  type Pick = (s: Sample) => number;
  const cells = (f: Pick, digits: number) => [sm, sv, svWait].map((xs) => range(xs.map(f), digits));
  const ratios = (f: Pick) => [sv, svWait].map((xs) => (median(sm.map(f)) / median(xs.map(f))).toFixed(2));
  const row = (what: string, f: Pick, digits = 0, ratio = true) =>
    `| ${what} | ${cells(f, digits).join(' | ')} | ${ratio ? ratios(f).join(' | ') : '– | –'} |`;
  const smOnly = (what: string, f: Pick) => `| ${what} | ${range(sm.map(f))} | – | – | – | – |`;
  const exits = (xs: Sample[]) => [...new Set(xs.map((s) => s.exit))].join(', ');
  const failed = (xs: string[]) => (xs.length ? `${xs.length}: ${[...new Set(xs)].map((l) => `\`${l}\``).join('; ')}` : 'none');
  return [
    `## Containers: the example stack (specs/examples/webstack.toml), ${runs} runs of each, interleaved`,
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB RAM, ${await engine()}, ${new Date().toISOString()}, ${revision()}; ` +
      `load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end. ` +
      `sysmaster: ${baseImage} (${baseId.slice(7, 19)}, ${(Number(baseSize) / 1e6).toFixed(0)} MB), \`sysmaster-init --spec webstack.toml\` as PID 1. ` +
      `${svVersion}, as PID 1 on the same base (same node, busybox, libraries). ` +
      `Memory is read ${settleMs} ms after all ready.`,
    '',
    '| median (min–max) | sysmaster-init | supervisord, `priority` only | supervisord + wait loops | sysmaster / supervisord (ratio of medians) | sysmaster / supervisord + wait loops |',
    '|---|---|---|---|---|---|',
    row('`docker run` → the container has started (its StartedAt), ms', (s) => s.started),
    row('`docker run` → the manager starts db, the first service (sysmaster: db.service → activating; supervisord: "spawned: \'db\'"), ms', (s) => s.firstSpawn),
    row("**`docker run` → all five services ready (each one's own line in the container's log), ms**", (s) => s.ready),
    smOnly('`docker run` → sysmaster\'s "all 6 jobs done" (every unit active, db and api by READY=1), ms', (s) => s.jobsDone!),
    smOnly("of which READY=1 sent by `sysmaster notify` (a node start): db's and api's ready line → their unit active, summed, ms", (s) => s.notify!),
    row('times api was started', (s) => s.apiStarts, 0, false),
    row('CPU of the whole container (cgroup cpuacct) when the benchmark saw it ready, s', (s) => s.cpu, 2),
    row('**memory as `docker stats` shows it (cgroup usage − inactive file cache), MB**', (s) => s.mem.stats, 1),
    row('ΣPSS of every process in the container, MB', (s) => s.mem.pss, 1),
    row('ΣRSS of every process (shared pages counted in each), MB', (s) => s.mem.rss, 1),
    row('of ΣPSS, the manager: sysmaster-init + core / supervisord, MB', (s) => s.mem.manager, 1),
    row('processes in the container', (s) => s.mem.procs, 0, false),
    row('`docker stop` → exited, ms', (s) => s.stop),
    `| exit code after \`docker stop\` | ${exits(sm)} | ${exits(sv)} | ${exits(svWait)} | – | – |`,
    `| runs that did not come up (run again; not in the rows above) | ${failed(failures.sm)} | ${failed(failures.sv)} | ${failed(failures.svWait)} | – | – |`,
  ].join('\n');
}

const table = await main();
if (table) {
  console.log(table);
  writeResults('containers.md', table);
}
