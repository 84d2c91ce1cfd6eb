// What only the posix_spawn path has to get right, on the main thread and off it: exits it must reap and route
// itself, fds it must not leak. The shared contract runs over every way in spawn.test.ts.
import t, { type Test } from 'tap';
import { closeSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Reaper, isLibuvChild } from '../../reconciler/reaper.js';
import { afterSpawns, spawnOffThread, spawnProcess, type SpawnOptions } from '../../reconciler/spawn.js';
import { tempDir } from './fixtures/helpers.js';

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const quiet: Omit<SpawnOptions, 'argv'> = { env: { PATH }, stdout: { kind: 'null' }, stderr: { kind: 'null' } };

const reaper = new Reaper();
reaper.start();
t.teardown(() => reaper.stop());

for (const offThread of [false, true]) {
  t.test(offThread ? 'off the main thread' : 'on the main thread', async (t) => {
    spawnOffThread(offThread);
    t.teardown(() => spawnOffThread(false));
    modes(t, offThread);
  });
}

function modes(t: Test, offThread: boolean) {
  t.test('200 concurrent spawns each report their own exit code', async (t) => {
    const codes = Array.from({ length: 200 }, (_, i) => (i * 7) % 256);
    const hs = codes.map((c) => spawnProcess({ ...quiet, argv: ['/bin/sh', '-c', `exit ${c}`] }));
    const pids = await Promise.all(hs.map((h) => h.spawned));
    const exits = await Promise.all(hs.map((h) => h.exited));
    t.equal(new Set(pids).size, 200, '200 processes');
    const wrong = exits.filter((e, i) => e.pid !== pids[i] || e.code !== codes[i] || e.signal !== null);
    t.same(wrong, [], 'every exit has its own pid and code');
  });

  t.test('a child that exits at once still gets its exit delivered', async (t) => {
    // Off the main thread: while this thread is busy, the spawn completes on its pool thread and /bin/true exits.
    // Whichever of the completion and the SIGCHLD runs first, the exit must reach the handle (reaper.test.ts
    // forces each order).
    for (let i = 0; i < 20; i++) {
      const h = spawnProcess({ ...quiet, argv: ['/bin/true'] });
      const until = Date.now() + 20;
      while (Date.now() < until);
      const pid = await h.spawned;
      t.same(await h.exited, { pid, code: 0, signal: null, core: false }, `run ${i}`);
    }
    const many = Array.from({ length: 100 }, () => spawnProcess({ ...quiet, argv: ['/bin/true'] }));
    t.same((await Promise.all(many.map((h) => h.exited))).map((e) => e.code), Array(100).fill(0), '100 at once');
  });

  t.test('the child has fds 0, 1 and 2 only, even when we hold one without close-on-exec', async (t) => {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi').default;
    const dup = koffi.load('libc.so.6').func('int dup(int)') as (fd: number) => number;
    const leaky = dup(1); // dup() does not set FD_CLOEXEC: fork and exec alone would pass it on
    t.ok(leaky > 2, `an fd without close-on-exec (${leaky})`);
    t.teardown(() => closeSync(leaky));

    const dir = tempDir(t);
    const out = join(dir, 'fds.txt');
    const h = spawnProcess({ ...quiet, argv: ['ls', '-l', '/proc/self/fd'], stdout: { kind: 'file', path: out }, stderr: { kind: 'journal' } });
    t.equal((await h.exited).code, 0);
    await h.drained;
    const fds: Record<string, string> = {};
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      const m = / (\d+) -> (.*)$/.exec(line);
      // ls's own handle on the directory it lists is not an inherited fd.
      if (m && !/^\/proc\/\d+\/fd$/.test(m[2])) fds[m[1]] = m[2];
    }
    t.same(Object.keys(fds), ['0', '1', '2'], 'ls sees 0, 1, 2');
    t.equal(fds[0], '/dev/null', 'stdin');
    t.equal(fds[1], out, 'stdout: the file');
    t.match(fds[2], /^pipe:/, 'stderr: the journal pipe');

    const s = spawnProcess({ ...quiet, argv: ['sleep', '100'], stdout: { kind: 'journal' }, stderr: { kind: 'inherit' } });
    const pid = await s.spawned;
    t.notOk(isLibuvChild(pid), 'started by posix_spawn');
    t.same(readdirSync(`/proc/${pid}/fd`).sort(), ['0', '1', '2'], 'seen from outside while it runs');
    process.kill(pid, 'SIGKILL');
    t.equal((await s.exited).signal, 'SIGKILL');
  });

  t.test('a core dump is reported', async (t) => {
    // core_pattern is "core" here: the dump lands in the temporary working directory. `$$$$` expands to `$$`.
    const h = spawnProcess({ ...quiet, argv: ['sh', '-c', 'ulimit -c unlimited; kill -SEGV $$$$'], cwd: tempDir(t) });
    const pid = await h.spawned;
    t.same(await h.exited, { pid, code: null, signal: 'SIGSEGV', core: true }, 'WCOREDUMP, which libuv drops');
  });

  t.test('drained waits for whoever else holds the journal pipe', async (t) => {
    const lines: string[] = [];
    const h = spawnProcess({
      ...quiet,
      argv: ['sh', '-c', '(sleep 0.2; echo late) & echo early'],
      stdout: { kind: 'journal' },
      onLine: (_, l) => lines.push(l),
    });
    t.equal((await h.exited).code, 0);
    await h.drained;
    t.same(lines, ['early', 'late']);
  });

  t.test('afterSpawns: a retry for a message from a pid nobody knows yet', async (t) => {
    t.notOk(afterSpawns(() => t.fail('called')), 'nothing under way: no retry');
    const known = new Set<number>();
    const hs = Array.from({ length: 10 }, () => spawnProcess({ ...quiet, argv: ['sleep', '100'] }));
    for (const h of hs) void h.spawned.then((pid) => known.add(pid)); // as a caller records its pids
    if (!offThread) {
      t.notOk(afterSpawns(() => t.fail('called')), 'on the main thread every pid is known at once: no retry');
    } else {
      const seen = await new Promise<number>((resolve) => t.ok(afterSpawns(() => resolve(known.size)), 'under way'));
      t.equal(seen, 10, 'the retry runs once every pid asked for before has been recorded');
    }
    const pids = await Promise.all(hs.map((h) => h.spawned));
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await Promise.all(hs.map((h) => h.exited));
  });
}

t.test('User= and Group= take the child_process path', { skip: process.getuid!() !== 0 && 'needs root' }, async (t) => {
  const h = spawnProcess({ ...quiet, argv: ['sleep', '100'], uid: 0, gid: 0 });
  const pid = await h.spawned;
  t.ok(isLibuvChild(pid), 'libuv owns it');
  process.kill(pid, 'SIGKILL');
  t.equal((await h.exited).signal, 'SIGKILL');
});
