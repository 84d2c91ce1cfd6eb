// Units' cgroups with real processes on this machine's hierarchies: the hybrid view (tracking on cgroup2, limits
// on v1), the legacy view (v1 only, name=systemd and the freezer), and the cgroup2 alone (no controllers here).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { LimitError, limitWrites, parseLimit, type Limits } from '../../reconciler/cgroup-limits.js';
import { Cgroups, CgroupError, describe, detect, enterArgv, escapeUnit, type CgroupLayout } from '../../reconciler/cgroups.js';
import { isAlive, sessionOf } from '../../reconciler/proc.js';
import { Reaper } from '../../reconciler/reaper.js';
import { setChildSubreaper } from '../../reconciler/sys.js';
import { until } from '../os/fixtures/helpers.js';

t.test('systemd value syntax', async (t) => {
  t.equal(parseLimit('MemoryMax', '512M'), 512 * 2 ** 20);
  t.equal(parseLimit('MemoryMax', '1.5G'), 1.5 * 2 ** 30);
  t.equal(parseLimit('MemoryHigh', 4096), 4096);
  t.same(parseLimit('MemoryMax', '25%'), { permyriad: 2500 });
  t.equal(parseLimit('MemoryMax', 'infinity'), 'infinity');
  t.equal(parseLimit('CPUWeight', 'idle'), 'idle');
  t.equal(parseLimit('CPUWeight', '10000'), 10000);
  t.equal(parseLimit('CPUQuota', '150%'), 150);
  t.same(parseLimit('TasksMax', '10%'), { permyriad: 1000 });
  t.equal(parseLimit('IOWeight', 1), 1);
  for (const [k, v, want] of [
    ['MemoryMax', '12Q', /MemoryMax: "12Q": expected bytes with an optional K, M, G, T/],
    ['MemoryMax', '150%', /at most 100%/],
    ['CPUWeight', '0', /expected a number from 1 to 10000 or "idle"/],
    ['IOWeight', '10001', /from 1 to 10000/],
    ['IOWeight', 'idle', /from 1 to 10000/],
    ['CPUQuota', '20', /percentage of one CPU/],
    ['TasksMax', '0', /at least 1/],
  ] as const) {
    t.throws(() => parseLimit(k, v), want, `${k}=${v}`);
  }
});

t.test('the files written: v2 and v1, systemd\'s mappings', async (t) => {
  const limits: Limits = { MemoryMax: { permyriad: 5000 }, MemoryHigh: 'infinity', CPUWeight: 200, CPUQuota: 20, TasksMax: 'infinity', IOWeight: 100 };
  const machine = { memory: 1000 * 4096 + 123, tasks: 4194304 };
  const v2 = limitWrites(limits, () => ({ version: 2, dir: '/u' }), machine, '');
  t.same(v2.map((w) => `${w.file}=${w.value}`), ['/u/memory.max=2048000', '/u/memory.high=max', '/u/cpu.weight=200', '/u/cpu.max=20000 100000', '/u/pids.max=max', '/u/io.weight=default 100']);
  const v1 = limitWrites({ ...limits, CPUWeight: 'idle', CPUQuota: 250, TasksMax: { permyriad: 100 } }, () => ({ version: 1, dir: '/u' }), machine, '', 'blkio.bfq.weight');
  t.same(v1.map((w) => `${w.file}=${w.value}`), [
    '/u/memory.limit_in_bytes=2048000',
    '/u/memory.soft_limit_in_bytes=-1',
    '/u/cpu.shares=2',
    '/u/cpu.cfs_period_us=100000',
    '/u/cpu.cfs_quota_us=250000',
    '/u/pids.max=41943',
    '/u/blkio.bfq.weight=500',
  ]);
  t.same(limitWrites({ CPUWeight: 100, IOWeight: 10000 }, () => ({ version: 1, dir: '/u' }), machine, '', 'blkio.weight').map((w) => w.value), ['1024', '1000']);
  t.throws(() => limitWrites({ IOWeight: 5 }, () => ({ version: 1, dir: '/u' }), machine, 'the machine'), /IOWeight: cannot be honoured: the blkio hierarchy offers no weight file/);
});

t.test('unit names that would clash with kernel files are escaped as systemd does', async (t) => {
  t.equal(escapeUnit('web.service'), 'web.service');
  t.equal(escapeUnit('cpu.service'), '_cpu.service');
  t.equal(escapeUnit('tasks'), '_tasks');
  t.equal(escapeUnit('_x.service'), '__x.service');
  t.equal(escapeUnit('cgroup.procs'), '_cgroup.procs');
});

const skip = process.getuid?.() !== 0 ? 'needs root' : !detect().delegated ? `cgroups not writable here: ${describe(detect())}` : false;

// Orphans of killed shells come to us; the reaper collects them, so none lingers as a zombie in a cgroup.
if (!skip) {
  setChildSubreaper();
  const reaper = new Reaper();
  reaper.start();
  t.teardown(() => reaper.stop());
}

function caught(f: () => void): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

let serial = 0;
/** A Cgroups instance unique to this test process and test, torn down (killed, removed) even on failure. */
function unitCgroup(t: Test, layout: CgroupLayout) {
  const cg = new Cgroups(layout, `test-${process.pid}-${++serial}`);
  const unit = 'probe.service';
  cg.create(unit);
  t.teardown(async () => {
    await cg.killAll(unit, 'SIGKILL');
    await until(() => cg.pids(unit).length === 0, 'the unit to empty');
    cg.remove(unit);
    cg.close();
    // After the test's end no assertion counts: a leftover fails the file instead.
    for (const f of cg.procsFiles(unit)) if (fs.existsSync(path.dirname(path.dirname(f)))) throw new Error(`${path.dirname(path.dirname(f))} left behind`);
  });
  return { cg, unit };
}

/** Runs `script` inside the unit's cgroups from its first instruction; collects its output. */
function run(cg: Cgroups, unit: string, script: string) {
  const [file, ...args] = enterArgv(cg.procsFiles(unit), '/bin/sh', ['-c', script]);
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, out, exited };
}

const views: [string, () => CgroupLayout][] = [
  ['hybrid (tracking on cgroup2)', () => detect()],
  ['legacy (v1 only: name=systemd, freezer)', () => detect({ v2: false })],
  ['cgroup2 alone (no controllers)', () => detect({ root: '/sys/fs/cgroup/unified' })],
];

for (const [name, view] of views) {
  t.test(`${name}: an escaped daemon is found and killAll kills everything`, { skip }, async (t) => {
    const { cg, unit } = unitCgroup(t, view());
    // The main shell, its sleep, and a daemon that double-forked into a session of its own.
    const p = run(cg, unit, 'setsid sh -c "sleep 300 & echo \\$!" ; sleep 300 & wait');
    await until(() => p.out.stdout.trim() !== '', 'the escapee pid');
    const escapee = Number(p.out.stdout.trim());
    await until(() => cg.pids(unit).length >= 3, 'three processes in the cgroup');
    t.ok(cg.pids(unit).includes(p.child.pid!), 'the main process');
    t.ok(cg.pids(unit).includes(escapee), 'the escapee');
    t.not(sessionOf(escapee), sessionOf(p.child.pid!), 'the escapee left the session');
    // SIGTERM goes through the freeze-and-loop path on every layout; sh and sleep die of it.
    const signalled = await cg.killAll(unit, 'SIGTERM');
    t.ok(signalled.includes(escapee) && signalled.includes(p.child.pid!), 'all signalled');
    await until(() => cg.pids(unit).length === 0, 'the cgroup to empty');
    t.notOk(isAlive(escapee), 'the escapee is dead');
    t.same(await p.exited, { code: null, signal: 'SIGTERM' });
  });

  t.test(`${name}: SIGKILL of a fork loop; remove refuses while busy`, { skip }, async (t) => {
    const layout = view();
    const { cg, unit } = unitCgroup(t, layout);
    run(cg, unit, 'while :; do (setsid sleep 300 &) ; sleep 0.01; done');
    await until(() => cg.pids(unit).length >= 5, 'some forks');
    const busy = caught(() => cg.remove(unit));
    t.ok(busy instanceof CgroupError);
    t.match(busy, { code: 'EBUSY', message: /processes [\d ]+ are still in it/ });
    await cg.killAll(unit, 'SIGKILL');
    await until(() => cg.pids(unit).length === 0, 'the cgroup to empty');
  });
}

t.test('cgroup2 alone: limits are refused with what the machine has; no accounting', { skip }, async (t) => {
  const { cg, unit } = unitCgroup(t, detect({ root: '/sys/fs/cgroup/unified' }));
  const e = caught(() => cg.setLimits(unit, { MemoryMax: 2 ** 20 }));
  t.ok(e instanceof LimitError);
  t.match(e, { key: 'MemoryMax', message: /^MemoryMax: cannot be honoured: the memory controller is not available to us \(this machine: unified cgroups at \/sys\/fs\/cgroup\/unified; cgroup2 at \/sys\/fs\/cgroup\/unified with controllers \[/ });
  const u = cg.usage(unit);
  t.equal(u.memory, null);
  t.equal(u.tasks, null);
  t.equal(cg.oomKills(unit), null);
  t.type(u.cpuNs, 'number', 'cpu.stat is a core file of cgroup2');
});

t.test('a fresh cgroup2 mount as the root', { skip }, async (t) => {
  const at = fs.mkdtempSync(path.join(os.tmpdir(), 'sysmaster-cg2-'));
  try {
    execFileSync('mount', ['-t', 'cgroup2', 'none', at], { stdio: 'pipe' });
  } catch (err) {
    fs.rmdirSync(at);
    return t.skip(`mount -t cgroup2 failed: ${(err as { stderr?: Buffer }).stderr}`, () => {});
  }
  t.teardown(() => {
    execFileSync('umount', [at]);
    fs.rmdirSync(at);
  });
  const layout = detect({ root: at });
  t.equal(layout.layout, 'unified');
  t.equal(layout.tracking?.mount, at);
  const { cg, unit } = unitCgroup(t, layout);
  const p = run(cg, unit, 'sleep 300');
  await until(() => cg.pids(unit).includes(p.child.pid!), 'the process in its cgroup');
  t.match(fs.readFileSync(`/proc/${p.child.pid}/cgroup`, 'utf8'), `0::/${cg.name}/${unit}\n`);
});

const v1 = detect();
const need = (c: keyof CgroupLayout['controllers']) => skip || (!v1.controllers[c] ? `no ${c} controller: ${describe(v1)}` : false);

t.test('MemoryMax: a memory hog is OOM-killed and the counter rises', { skip: need('memory') }, async (t) => {
  const { cg, unit } = unitCgroup(t, v1);
  cg.setLimits(unit, { MemoryMax: parseLimit('MemoryMax', '32M') });
  const before = cg.oomKills(unit);
  t.equal(before, 0);
  // tail keeps a line with no end in memory: 200 MB of zeros.
  const p = run(cg, unit, 'head -c 200M /dev/zero | tail; echo "tail: $?"');
  await p.exited;
  t.match(p.out.stdout, /tail: 137/, 'tail died of SIGKILL');
  t.ok(cg.oomKills(unit)! > before!, `oom_kill ${cg.oomKills(unit)}`);
});

t.test('TasksMax stops a fork loop at the limit', { skip: need('pids') }, async (t) => {
  const { cg, unit } = unitCgroup(t, v1);
  cg.setLimits(unit, { TasksMax: parseLimit('TasksMax', 5) });
  const p = run(cg, unit, 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 300 & done; echo started; wait');
  await p.exited;
  // dash gives up at the failed fork: its four sleeps were the 2nd to 5th tasks, and no 6th ever ran.
  t.match(p.out.stderr, /Cannot fork/, `the shell says: ${p.out.stderr.trim()}`);
  t.notMatch(p.out.stdout, /started/);
  t.equal(cg.pids(unit).length, 4, 'the four sleeps');
  t.ok(cg.usage(unit).tasks! <= 5);
});

t.test('CPUQuota, CPUWeight and IOWeight are written and read back', { skip: need('cpu') }, async (t) => {
  const { cg, unit } = unitCgroup(t, v1);
  cg.setLimits(unit, { CPUQuota: parseLimit('CPUQuota', '20%'), CPUWeight: 200 });
  const cpu = cg.dir(unit, v1.controllers.cpu);
  t.equal(fs.readFileSync(`${cpu}/cpu.cfs_quota_us`, 'utf8').trim(), '20000');
  t.equal(fs.readFileSync(`${cpu}/cpu.cfs_period_us`, 'utf8').trim(), '100000');
  t.equal(fs.readFileSync(`${cpu}/cpu.shares`, 'utf8').trim(), '2048');
  if (v1.controllers.io) {
    cg.setLimits(unit, { IOWeight: 50 });
    const io = cg.dir(unit, v1.controllers.io);
    const file = ['blkio.weight', 'blkio.bfq.weight'].find((f) => fs.existsSync(`${io}/${f}`))!;
    t.equal(fs.readFileSync(`${io}/${file}`, 'utf8').trim(), '250');
  }
});

t.test('accounting: memory grows with an allocation; tasks and CPU time', { skip: need('memory') }, async (t) => {
  const { cg, unit } = unitCgroup(t, v1);
  const idle = cg.usage(unit);
  t.equal(idle.tasks, 0);
  // tail holds 64 MB until its input ends, 300 s later.
  run(cg, unit, '{ head -c 64M /dev/zero; sleep 300; } | tail');
  await until(() => (cg.usage(unit).memory ?? 0) > 60 * 2 ** 20, 'memory above 60 MB', 20_000);
  const u = cg.usage(unit);
  t.ok(u.memoryPeak! >= u.memory!, 'peak ≥ current');
  t.ok(u.tasks! >= 3, `tasks ${u.tasks}`);
  t.ok(u.cpuNs! > 0, `cpu ${u.cpuNs} ns`);
});
