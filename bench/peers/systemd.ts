// systemd 252 as PID 1 of a container built here (bench/peers/, issue 9). The image is Debian bookworm's minbase
// plus its `systemd` package, made with debootstrap from Debian's mirror (the only network besides npm), the rootfs
// tarball cached under /var/cache/sysmaster-bench and `docker import`ed: nothing pulled from an image registry. It is
// the same Debian system the other managers run their payloads on (dash for /bin/sh, coreutils' sleep, systemd's own
// systemd-notify), with systemd as Debian ships it. Copying the host's systemd binaries with their libraries (as
// containers/build.sh does for node) would be faster to build but would miss the unit files, dlopen'ed libraries and
// configuration a real boot reads; debootstrap gives the real thing in about a minute (63 s here), once per machine.
//
// One run: a unit per workload unit (Type=notify, NotifyAccess=all, Requires= and After= per edge) and bench.target,
// which Wants= them all, in a directory bind-mounted read-only at /usr/local/lib/systemd/system; the container boots
// `systemd --unit=bench.target`, so booting is bringing the workload up. Ready: systemd's own monotonic timestamps,
// from its main() (UserspaceTimestampMonotonic) to the last unit's ActiveEnterTimestampMonotonic (when systemd saw its
// READY=1), read after `systemctl is-system-running --wait` (one `docker exec`) has returned: no polling delay, and
// not the engine's creation of the container (about 0.25 s here, in lastDetails.containerStartMs), as the other
// managers' times hold no engine either. Stop: `docker stop`
// (the stop signal SIGRTMIN+3, systemd's halt in a container) to the last payload gone from the host's /proc.
// Memory and CPU: systemd's processes in the container (PID 1, journald and whatever else it runs but the payloads),
// read from the host's /proc through the container's PID 1 (bench/peers/measure.ts).
//
// Knobs: BENCH_SYSTEMD_IMAGE (sysmaster-bench-systemd:252), BENCH_PEERS_CACHE (/var/cache/sysmaster-bench),
// BENCH_DEBIAN_MIRROR (http://deb.debian.org/debian).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../test/containers/harness.js';
import { managerUsage, payloadsGone, waitFor } from './measure.js';
import type { Manager, RunResult, Workload } from './types.js';
import { payloadScript } from './workloads.js';

const IMAGE = process.env.BENCH_SYSTEMD_IMAGE || 'sysmaster-bench-systemd:252';
const CACHE = process.env.BENCH_PEERS_CACHE || '/var/cache/sysmaster-bench';
const MIRROR = process.env.BENCH_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
const SUITE = 'bookworm';
const ROOTFS = path.join(CACHE, `systemd-${SUITE}-rootfs.tar`);
/** Where the run's units are bind-mounted: in systemd's search path, empty in the image (/etc and /run come first). */
const UNIT_DIR = '/usr/local/lib/systemd/system';
/** On every container this adapter creates, so a killed run's leftovers can be found and removed. */
const LABEL = 'org.sysmaster.bench.peers=systemd';
const READY_TIMEOUT_MS = Number(process.env.BENCH_PEER_TIMEOUT_MS ?? 300_000);

/** What one run saw besides RunResult, for the table's notes (the last run's). */
export interface SystemdDetails {
  /** `systemd --version`'s first line in the image, e.g. "systemd 252 (252.39-1~deb12u2)". */
  version: string;
  /** `docker start` launched → systemd's main() (runc, namespaces, mounts: the engine's share), ms. */
  containerStartMs: number;
  /**
   * systemd's main() → sysinit.target active, ms: the part of the boot the services wait for (their default
   * Requires=/After=sysinit.target): journald, tmpfiles, the journal's flush to /var/log/journal, utmp...
   */
  sysinitMs: number;
  /** systemd's main() → the boot's last job done ("Startup finished", FinishTimestampMonotonic), ms. */
  finishMs: number;
  /** `docker stop` launched → the container has exited (its FinishedAt), ms, and its exit code (130 seen here). */
  containerStopMs: number;
  exitCode: number;
  /** Units of the boot that failed (`systemctl --failed`): the boot was "degraded" but every workload unit active. */
  failed: string[];
  /** The manager's processes at all ready (command lines), whose memory and CPU were summed. */
  processes: string[];
  /** The cgroup setup the container ran with. */
  cgroups: string;
}

export let lastDetails: SystemdDetails | undefined;
/** Filled by prepare(): the image's systemd version and how long building the image took (0 when it existed). */
export let imageInfo: { version: string; buildMs: number } | undefined;

const tail = (s: string, n = 1500) => (s.length > n ? `…${s.slice(-n)}` : s).trim();

async function must(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')}${args.length > 6 ? ' …' : ''} exited ${r.code}: ${tail(r.stderr || r.stdout)}`);
  return r.stdout.trim();
}

const docker = (args: string[], timeoutMs?: number) => must('docker', args, timeoutMs);

/** The rootfs tarball: debootstrap minbase + systemd from Debian's mirror, once; reused while it is in the cache. */
async function rootfs(): Promise<string> {
  if (fs.existsSync(ROOTFS)) return ROOTFS;
  if (process.getuid?.() !== 0) throw new Error(`building ${ROOTFS} needs root (debootstrap)`);
  if ((await run('sh', ['-c', 'command -v debootstrap'])).code !== 0) {
    const install = ['install', '-y', '-q', '--no-install-recommends', 'debootstrap'];
    const env = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
    if ((await run(env[0], [...env.slice(1), ...install], 300_000)).code !== 0) {
      await must(env[0], [...env.slice(1), 'update', '-q'], 300_000);
      await must(env[0], [...env.slice(1), ...install], 300_000);
    }
  }
  fs.mkdirSync(CACHE, { recursive: true });
  const dir = fs.mkdtempSync(path.join(CACHE, 'rootfs.'));
  try {
    // minbase: essential packages and apt only; --include resolves systemd's Depends (not its Recommends).
    await must('debootstrap', ['--variant=minbase', '--include=systemd', SUITE, dir, MIRROR], 1_800_000);
    // What only apt needs: the downloaded packages and the package lists.
    for (const d of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const f of fs.readdirSync(path.join(dir, d))) if (f.endsWith('.deb') || f.endsWith('_Packages')) fs.rmSync(path.join(dir, d, f));
    }
    const tmp = `${ROOTFS}.tmp`;
    await must('tar', ['--numeric-owner', '-C', dir, '-cf', tmp, '.'], 600_000);
    fs.renameSync(tmp, ROOTFS);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return ROOTFS;
}

/** One build at a time on this machine: a lock directory holding the builder's pid, taken over when that is dead. */
async function withBuildLock<T>(f: () => Promise<T>): Promise<T> {
  fs.mkdirSync(CACHE, { recursive: true });
  const lock = path.join(CACHE, 'build.lock');
  const stale = (): boolean => {
    try {
      const pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      process.kill(pid, 0);
      return false;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') return true;
      // No pid written yet: stale only if it has been so for a minute.
      if (code === 'ENOENT') return Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 60_000;
      return false;
    }
  };
  await waitFor(
    `the lock ${lock} (another build of ${IMAGE})`,
    () => {
      try {
        fs.mkdirSync(lock);
        fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (stale()) fs.rmSync(lock, { recursive: true, force: true });
        return false;
      }
    },
    1_800_000,
    500,
  );
  try {
    return await f();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** The image from the cached rootfs. `container=docker` tells systemd where it runs; the entrypoint is systemd. */
async function buildImage(): Promise<void> {
  // Someone else may have built it while this waited for the lock.
  if ((await run('docker', ['image', 'inspect', '--format', '{{.Id}}', IMAGE])).code === 0) return;
  const tar = await rootfs();
  await docker(
    ['import', '--change', 'ENV container=docker', '--change', 'ENTRYPOINT ["/lib/systemd/systemd"]', '--message', `Debian ${SUITE} minbase + systemd (debootstrap from ${MIRROR})`, tar, IMAGE],
    600_000,
  );
}

interface Mount {
  point: string;
  type: string;
}

function mounts(): Mount[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const f = l.split(' ');
      return { point: f[4].replace(/\\040/g, ' '), type: f[f.indexOf('-') + 1] };
    });
}

/**
 * What systemd needs from docker here, and a line that says so. With cgroup v1 or hybrid (this host: v1 controllers
 * plus cgroup2 at /sys/fs/cgroup/unified): the host's cgroup namespace, a tmpfs of the container's own at
 * /sys/fs/cgroup and each host hierarchy bind-mounted into it, never the host's /sys/fs/cgroup itself (systemd would
 * remount it read-only and add hierarchies to the host). `--privileged` fails on this VM (CAP_SYS_RESOURCE is not in
 * the bounding set): every other capability, with seccomp and AppArmor unconfined. With cgroup v2 only (a stock Debian
 * 12): a private cgroup namespace and --privileged, the usual recipe, not tried on this host.
 */
function cgroupArgs(): { args: string[]; what: string } {
  const all = mounts();
  const top = all.filter((m) => m.point === '/sys/fs/cgroup').pop();
  if (top?.type === 'cgroup2') {
    return { args: ['--cgroupns=private', '--privileged'], what: 'cgroup v2, private cgroup namespace, --privileged' };
  }
  const hierarchies = [...new Set(all.filter((m) => m.point.startsWith('/sys/fs/cgroup/') && (m.type === 'cgroup' || m.type === 'cgroup2')).map((m) => m.point))];
  const args = ['--cgroupns=host', '--tmpfs', '/sys/fs/cgroup', '--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE'];
  args.push('--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined');
  for (const h of hierarchies) args.push('--volume', `${h}:${h}`);
  const unified = hierarchies.some((h) => all.find((m) => m.point === h)?.type === 'cgroup2');
  const names = hierarchies.map((h) => path.basename(h)).join(', ');
  return { args, what: `cgroup v1${unified ? ' + unified (hybrid)' : ''}: host cgroup namespace, own tmpfs at /sys/fs/cgroup with ${names} bind-mounted` };
}

const UNIT_NAME = /^[A-Za-z0-9_.:-]+$/;

/** The run's unit files: one Type=notify service per workload unit, and bench.target that wants them all. */
function writeUnits(dir: string, w: Workload, marker: string): string[] {
  const services = w.units.map((u) => {
    for (const n of [u.name, ...u.after]) if (!UNIT_NAME.test(n)) throw new Error(`unit name "${n}" is not a plain systemd unit name`);
    const deps = u.after.map((a) => `${a}.service`).join(' ');
    const lines = ['[Unit]', `Description=bench ${u.name}`];
    if (deps) lines.push(`Requires=${deps}`, `After=${deps}`);
    // systemd-notify runs as the shell's child: only NotifyAccess=all lets its READY=1 count for the service.
    lines.push('', '[Service]', 'Type=notify', 'NotifyAccess=all', `ExecStart=/bin/sh -c '${payloadScript('systemd-notify --ready', marker)}'`, '');
    fs.writeFileSync(path.join(dir, `${u.name}.service`), lines.join('\n'));
    return `${u.name}.service`;
  });
  fs.writeFileSync(path.join(dir, 'bench.target'), ['[Unit]', 'Description=bench workload', `Wants=${services.join(' ')}`, ''].join('\n'));
  return services;
}

/** `systemctl show` output: blocks of KEY=VALUE separated by blank lines. */
function showBlocks(text: string): Record<string, string>[] {
  return text
    .split(/\n\s*\n/)
    .filter((b) => b.trim())
    .map((b) => Object.fromEntries(b.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
}

/** µs of CLOCK_MONOTONIC (the same clock in the container: there is no time namespace) → ms. */
const ms = (usec: string | number) => Number(usec) / 1000;

let version = '';

async function prepare(): Promise<string | null> {
  const engine = await run('docker', ['version', '--format', '{{.Server.Version}}'], 20_000);
  if (engine.code !== 0) return `no container engine answers (${tail(engine.stderr, 200) || 'docker version timed out'})`;
  // Containers a killed run left behind (only this adapter's, by its label).
  const left = (await run('docker', ['ps', '-aq', '--filter', `label=${LABEL}`])).stdout.trim();
  if (left) await run('docker', ['rm', '-f', '-v', ...left.split('\n')]);
  const t0 = performance.now();
  let buildMs = 0;
  if ((await run('docker', ['image', 'inspect', '--format', '{{.Id}}', IMAGE])).code !== 0) {
    try {
      await withBuildLock(buildImage);
    } catch (err) {
      return `could not build ${IMAGE}: ${(err as Error).message}`;
    }
    buildMs = performance.now() - t0;
  }
  // systemctl's: systemd itself, started as a container's PID 1, would boot instead of printing it.
  const v = await run('docker', ['run', '--rm', '--entrypoint', '/bin/systemctl', IMAGE, '--version'], 60_000);
  if (v.code !== 0) return `${IMAGE} does not run systemctl --version: ${tail(v.stderr || v.stdout, 300)}`;
  version = v.stdout.split('\n')[0].trim();
  imageInfo = { version, buildMs };
  return null;
}

async function runOnce(w: Workload, marker: string): Promise<RunResult> {
  const unitDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-peers-systemd-'));
  const services = writeUnits(unitDir, w, marker);
  const cg = cgroupArgs();
  const id = await docker([
    'create',
    '--label', LABEL,
    ...cg.args,
    '--tmpfs', '/run', '--tmpfs', '/run/lock', '--tmpfs', '/tmp',
    '--volume', `${unitDir}:${UNIT_DIR}:ro`,
    '--stop-signal', 'SIGRTMIN+3',
    '--stop-timeout', '60',
    IMAGE,
    '--unit=bench.target',
  ]);
  const logs = async () => {
    const l = await run('docker', ['logs', id]);
    return tail(l.stdout + l.stderr, 3000);
  };
  try {
    const launched = process.hrtime.bigint();
    await docker(['start', id]);
    const pid = Number(await docker(['inspect', '--format', '{{.State.Pid}}', id]));
    if (!pid) throw new Error(`container ${id.slice(0, 12)} has no PID 1:\n${await logs()}`);
    // systemctl can talk to systemd once its private socket is there; watched from the host, not by polling execs.
    await waitFor('systemd\'s private socket', () => fs.existsSync(`/proc/${pid}/root/run/systemd/private`), 60_000, 5);
    const wait = await run('docker', ['exec', id, 'systemctl', 'is-system-running', '--wait'], READY_TIMEOUT_MS);
    // Read first, while nothing else has asked systemd for anything.
    const usage = managerUsage(pid, marker);
    const processes = usage.pids.map((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      } catch {
        return `${p} (gone)`;
      }
    });
    const state = wait.stdout.trim();
    let failed: string[] = [];
    if (state !== 'running') {
      const list = await run('docker', ['exec', id, 'systemctl', '--failed', '--no-legend', '--plain']);
      failed = list.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]);
      // A boot unit of no concern to the workload may fail on some host: the checks below decide.
      if (state !== 'degraded') throw new Error(`systemd's boot ended "${state || tail(wait.stderr, 300)}" (exit ${wait.code}): ${failed.join(', ')}\n${await logs()}`);
    }
    const script = 'systemctl show -p Version,UserspaceTimestampMonotonic,FinishTimestampMonotonic; echo; systemctl show -p Id,ActiveState,ActiveEnterTimestampMonotonic "$@"';
    const shown = showBlocks(await docker(['exec', id, 'sh', '-c', script, 'sh', 'sysinit.target', ...services], 120_000));
    const [mgr, sysinit, ...units] = shown;
    const inactive = units.filter((u) => u.ActiveState !== 'active');
    if (units.length !== services.length || inactive.length) {
      throw new Error(`${inactive.length} of ${services.length} units not active after boot: ${inactive.slice(0, 5).map((u) => `${u.Id} ${u.ActiveState}`).join(', ')}`);
    }
    const start = ms(mgr.UserspaceTimestampMonotonic);
    const readyMs = Math.max(...units.map((u) => ms(u.ActiveEnterTimestampMonotonic))) - start;

    const t1 = performance.now();
    const stopping = run('docker', ['stop', id], 120_000);
    const stopMs = (await payloadsGone(marker, 90_000)) - t1;
    const stopped = await stopping;
    if (stopped.code !== 0) throw new Error(`docker stop exited ${stopped.code}: ${stopped.stderr.trim()}`);
    const [finishedAt, exitCode] = (await docker(['inspect', '--format', '{{.State.FinishedAt}} {{.State.ExitCode}}', id])).split(' ');
    const finished = Date.parse(finishedAt.slice(0, 19) + 'Z') + Number(`0${finishedAt.slice(19, -1)}`) * 1000;
    lastDetails = {
      version: version || `systemd ${mgr.Version}`,
      containerStartMs: start - Number(launched / 1000n) / 1000,
      sysinitMs: ms(sysinit.ActiveEnterTimestampMonotonic) - start,
      finishMs: ms(mgr.FinishTimestampMonotonic) - start,
      containerStopMs: finished - (performance.timeOrigin + t1),
      exitCode: Number(exitCode),
      failed,
      processes,
      cgroups: cg.what,
    };
    return { readyMs, stopMs, rssKb: usage.rssKb, pssKb: usage.pssKb, cpuMs: usage.cpuMs };
  } finally {
    await run('docker', ['rm', '-f', '-v', id], 60_000);
    fs.rmSync(unitDir, { recursive: true, force: true });
  }
}

export const manager: Manager = {
  name: 'systemd 252',
  readiness:
    'Type=notify, NotifyAccess=all: `systemd-notify --ready` (systemd 252\'s, run by the service\'s shell: READY=1 sent with its parent\'s PID, then BARRIER=1)',
  dependencies:
    'Requires= + After= per edge; bench.target Wants= every unit and is the unit booted (`systemd --unit=bench.target`); services keep DefaultDependencies=yes, so the boot is bench.target, its units and the sysinit.target they require (journald, tmpfiles...); basic.target is not pulled in',
  prepare,
  run: runOnce,
};
