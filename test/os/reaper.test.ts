import t from 'tap';
import type { ExitInfo } from '../../machines/types.js';
import { Reaper, expectExit, isLibuvChild } from '../../reconciler/reaper.js';
import { decodeStatus, posixSpawn, setChildSubreaper } from '../../reconciler/sys.js';
import { isAlive } from '../../reconciler/proc.js';
import { sh, tempDir, until } from './fixtures/helpers.js';

// Orphans of our children now reparent to this test process, which must reap them.
setChildSubreaper();
const reaper = new Reaper();
const reaped = new Map<number, ExitInfo>();
reaper.on('exit', (info) => reaped.set(info.pid, info));
reaper.start();
t.teardown(() => reaper.stop());

/** Start a shell that leaves an orphan running `script` (double fork) and exits 0; the orphan prints its pid. */
async function orphan(script: string, cwd = '/'): Promise<{ parent: number; pid: number; parentExit: number | null }> {
  const p = sh(`cd ${cwd} && (sh -c 'echo $$; ${script}' &) ; exit 0`);
  const [out, exit] = await Promise.all([p.stdout, p.exit]);
  return { parent: p.pid, pid: Number(out.trim()), parentExit: exit.code };
}

t.test('double-forked orphans are reaped with their exit codes', async (t) => {
  const codes = Array.from({ length: 20 }, (_, i) => (i * 37) % 256);
  const runs = await Promise.all(codes.map((c) => orphan(`sleep 0.1; exit ${c}`)));
  await until(() => runs.every((r) => reaped.has(r.pid)), 'every orphan to be reaped');
  for (const [i, r] of runs.entries()) {
    t.same(reaped.get(r.pid), { pid: r.pid, code: codes[i], signal: null, core: false }, `orphan exit ${codes[i]}`);
    t.equal(r.parentExit, 0, 'the parent shell got its own exit from child_process');
    t.notOk(reaped.has(r.parent), 'the reaper left the child_process child to libuv');
  }
});

t.test('child_process children keep their exit events while the reaper runs', async (t) => {
  // 50 children in parallel, and orphans dying at the same time so SIGCHLDs interleave.
  const kids = Array.from({ length: 50 }, (_, i) => ({ code: (i * 5) % 256, run: sh(`exit ${(i * 5) % 256}`) }));
  for (const k of kids) t.ok(isLibuvChild(k.run.pid), 'tracked synchronously after spawn');
  const orphans = Promise.all(Array.from({ length: 10 }, () => orphan('exit 3')));
  const exits = await Promise.all(kids.map((k) => k.run.exit));
  exits.forEach((e, i) => t.equal(e.code, kids[i].code, `child ${i} exit code`));
  for (const k of kids) t.notOk(reaped.has(k.run.pid), 'not stolen by the reaper');
  const o = await orphans;
  await until(() => o.every((r) => reaped.has(r.pid)), 'the orphans');
  for (const r of o) t.equal(reaped.get(r.pid)?.code, 3);
  t.notOk(kids.some((k) => isLibuvChild(k.run.pid)), 'forgotten once libuv reaped them');
});

t.test('exit codes and deaths by signal decode right', async (t) => {
  const dir = tempDir(t);
  const cases: { script: string; want: Omit<ExitInfo, 'pid'> }[] = [
    ...[0, 1, 2, 64, 126, 127, 128, 129, 200, 254, 255].map((c) => ({
      script: `exit ${c}`,
      want: { code: c, signal: null, core: false },
    })),
    ...['TERM', 'KILL', 'HUP', 'USR1', 'USR2', 'ALRM', 'PIPE'].map((s) => ({
      script: `kill -${s} $$`,
      want: { code: null, signal: `SIG${s}`, core: false },
    })),
    // core_pattern is "core" here: the dump lands in the temporary cwd.
    { script: 'ulimit -c unlimited; kill -SEGV $$', want: { code: null, signal: 'SIGSEGV', core: true } },
    { script: 'ulimit -c 0; kill -ABRT $$', want: { code: null, signal: 'SIGABRT', core: false } },
  ];
  const runs = await Promise.all(cases.map((c) => orphan(c.script, dir)));
  await until(() => runs.every((r) => reaped.has(r.pid)), 'every orphan');
  runs.forEach((r, i) => t.same(reaped.get(r.pid), { pid: r.pid, ...cases[i].want }, cases[i].script));
});

t.test('decodeStatus follows the wait status layout for every code and signal', async (t) => {
  for (let code = 0; code < 256; code++) {
    t.same(decodeStatus(code << 8), { code, signal: null, core: false }, `exit ${code}`, { diagnostic: false });
  }
  for (let sig = 1; sig < 65; sig++) {
    const d = decodeStatus(sig);
    t.equal(d.code, null);
    t.match(d.signal, /^SIG[A-Z0-9+]+$/);
    t.equal(decodeStatus(sig | 0x80).core, true);
  }
  t.equal(decodeStatus(9).signal, 'SIGKILL');
  t.equal(decodeStatus(15).signal, 'SIGTERM');
  t.equal(decodeStatus(34).signal, 'SIGRTMIN+0');
  t.equal(decodeStatus(64).signal, 'SIGRTMIN+30');
});

t.test('reapAll collects children that died while nobody listened', async (t) => {
  reaper.stop();
  t.teardown(() => reaper.start());
  const r = await orphan('exit 9');
  await until(() => !isAlive(r.pid), 'the orphan to become a zombie');
  const other = new Reaper();
  const got: ExitInfo[] = [];
  other.on('exit', (i) => got.push(i));
  t.equal(other.reapAll(), 1, 'one pass reaps it');
  t.same(got, [{ pid: r.pid, code: 9, signal: null, core: false }]);
  t.equal(other.reapAll(), 0, 'nothing left');
});

t.test('expectExit: the spawner gets the exit, whether its spawn returns before or after the reap', async (t) => {
  // Both orders, forced: no Reaper listens, and passes run by hand.
  reaper.stop();
  t.teardown(() => reaper.start());
  const other = new Reaper();
  const emitted: number[] = [];
  other.on('exit', (i) => emitted.push(i.pid));
  const zombie = async (script: string) => {
    const pid = posixSpawn({ path: '/bin/sh', argv: ['sh', '-c', script], env: [], stdio: [null, null, null] });
    await until(() => !isAlive(pid), 'the child to exit');
    return pid;
  };

  const early = expectExit();
  const a = await zombie('exit 7');
  other.reapAll();
  t.ok(emitted.includes(a), 'reaped before its pid was known: emitted as an unknown exit');
  const gotA: ExitInfo[] = [];
  early.watch(a, (i) => gotA.push(i));
  t.same(gotA, [{ pid: a, code: 7, signal: null, core: false }], 'and kept for the spawner');

  const late = expectExit();
  const b = await zombie('kill -TERM $$');
  const gotB: ExitInfo[] = [];
  late.watch(b, (i) => gotB.push(i));
  t.same(gotB, [], 'not reaped yet');
  other.reapAll();
  t.same(gotB, [{ pid: b, code: null, signal: 'SIGTERM', core: false }], 'reaped after: delivered');
  t.notOk(emitted.includes(b), 'and not emitted');

  // An exit kept for one spawn is not claimed by a spawn that started after it was reaped (a reused pid).
  const first = expectExit();
  const c = await zombie('exit 1');
  other.reapAll();
  const second = expectExit();
  const gotC: ExitInfo[] = [];
  second.watch(c, (i) => gotC.push(i));
  t.same(gotC, [], 'an older exit of the same pid is not this child’s');
  first.cancel(); // c's watcher is left behind: harmless, as this file spawns nothing after it

});
