import t, { type Test } from 'tap';
import { chmodSync, closeSync, openSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputFifo } from '../../reconciler/output.js';
import { pgidOf, sessionOf } from '../../reconciler/proc.js';
import { Reaper, isLibuvChild } from '../../reconciler/reaper.js';
import {
  SpawnError,
  expandArgv,
  resolveExecutable,
  spawnOffThread,
  spawnProcess,
  type SpawnOptions,
} from '../../reconciler/spawn.js';
import { tempDir, until } from './fixtures/helpers.js';

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** Run to completion with journal output; the lines of each stream and the exit. */
async function run(argv: string[], opts: Partial<SpawnOptions> = {}) {
  const lines: Record<'stdout' | 'stderr', string[]> = { stdout: [], stderr: [] };
  const h = spawnProcess({
    argv,
    env: { PATH },
    stdout: { kind: 'journal' },
    stderr: { kind: 'journal' },
    onLine: (stream, line) => lines[stream].push(line),
    ...opts,
  });
  const pid = await h.spawned;
  const exit = await h.exited;
  await h.drained;
  return { pid, exit, ...lines };
}

t.test('expandArgv', async (t) => {
  const env = { FOO: 'a b  c', ONE: 'x', EMPTY: '', Q: `'quoted words' "and \\"more\\"" plain\\ space` };
  const cases: [string[], string[]][] = [
    [['$FOO'], ['a', 'b', 'c']],
    [['${FOO}'], ['a b  c']],
    [['pre${ONE}post'], ['prexpost']],
    [['$ONE$ONE'], []], // a lone word: the whole rest is the name, not a valid one
    [['x$ONE'], ['x$ONE']], // braceless inside a word stays literal
    [['$$'], ['$']],
    [['$$ONE'], ['$ONE']],
    [['a$$b'], ['a$b']],
    [['$UNSET', 'kept'], ['kept']],
    [['${UNSET}'], ['']],
    [['$EMPTY'], []],
    [['${EMPTY}'], ['']],
    [['${ONE'], ['${ONE']],
    [['${ONE:-d}'], ['${ONE:-d}']],
    [['${bad name}'], ['']],
    [['$Q'], ['quoted words', 'and "more"', 'plain space']],
    [['${constructor}', '$toString'], ['']],
    [['--opt=${ONE}', '$FOO', 'end'], ['--opt=x', 'a', 'b', 'c', 'end']],
  ];
  for (const [argv, want] of cases) t.same(expandArgv(argv, env), want, argv.join(' '));
});

t.test('resolveExecutable', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'plain'), 'x', { mode: 0o644 });
  t.equal(resolveExecutable('sh', PATH), '/usr/bin/sh');
  t.equal(resolveExecutable('/bin/sh'), '/bin/sh');
  t.equal(resolveExecutable('sh', ''), '/usr/bin/sh', 'no PATH: systemd’s default');
  t.throws(() => resolveExecutable('no-such-command-here', PATH), { code: 'ENOENT', message: /no-such-command-here/ });
  t.throws(() => resolveExecutable(join(dir, 'plain')), { code: 'EACCES', message: new RegExp(join(dir, 'plain')) });
  t.throws(() => resolveExecutable(dir), { code: 'EACCES' });
  t.throws(() => resolveExecutable('plain', dir), { code: 'EACCES' }, 'found but not executable');
  t.equal(resolveExecutable('./sh', undefined, '/usr/bin'), '/usr/bin/sh', 'relative to the working directory');
});

type Way = 'posix_spawn' | 'posix_spawn off the main thread' | 'child_process';

/**
 * The same behaviour every way: posix_spawn (taken whenever a Reaper runs), on the main thread or off it, and
 * child_process (taken without a Reaper). Each run checks which one it got.
 */
function suite(t: Test, way: Way) {
  t.test('argv is expanded from the environment, the executable path is not', async (t) => {
    const r = await run(['printf', '%s|', '$WORDS', '${ONE}', 'x$ONE'], { env: { PATH, WORDS: 'a b', ONE: '1' } });
    t.same(r.stdout, ['a|b|1|x$ONE|']);
  });

  t.test('the environment is exactly what was given, plus NOTIFY_SOCKET', async (t) => {
    const h = spawnProcess({
      argv: ['sleep', '100'],
      env: { PATH, A: 'one', B: 'two words\nand a line' },
      extraEnv: { MAINPID: '7', A: 'override' },
      notifySocket: '/run/x/notify',
      stdout: { kind: 'null' },
      stderr: { kind: 'null' },
    });
    const pid = await h.spawned;
    // The parent of a vfork-style clone resumes when exec swaps the memory, a moment before the kernel records
    // where the new environment lies: /proc/PID/environ can read empty for that moment.
    await until(() => readFileSync(`/proc/${pid}/environ`).length > 0, 'the environment to show');
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGKILL');
    await h.exited;
    // tap's processinfo plugin hooks child_process to add its own variables to every child: not ours to judge.
    const ours = environ.filter((l) => !l.startsWith('_TAPJS_PROCESSINFO_') && !/^NODE_OPTIONS=.*@tapjs\/processinfo/.test(l));
    t.same(ours.sort(), ['A=override', 'B=two words\nand a line', 'MAINPID=7', 'NOTIFY_SOCKET=/run/x/notify', `PATH=${PATH}`]);
  });

  t.test('working directory, own session and process group, default signal dispositions', async (t) => {
    const dir = tempDir(t);
    const r = await run(['pwd'], { cwd: dir });
    t.same(r.stdout, [dir]);

    const h = spawnProcess({ argv: ['sleep', '10'], env: { PATH }, stdout: { kind: 'null' }, stderr: { kind: 'null' } });
    t.equal(h.pid === undefined, way === 'posix_spawn off the main thread', 'pid set on return, except off the main thread');
    const pid = await h.spawned;
    t.equal(h.pid, pid);
    t.equal(isLibuvChild(pid), way === 'child_process', `started through ${way}`);
    t.equal(readlinkSync(`/proc/${pid}/exe`), '/usr/bin/sleep', 'spawned: exec has happened');
    t.equal(sessionOf(pid), pid, 'leads its own session');
    t.equal(pgidOf(pid), pid, 'leads its own process group');
    process.kill(pid, 'SIGTERM');
    t.same(await h.exited, { pid, code: null, signal: 'SIGTERM', core: false });

    // Node ignores SIGPIPE; the service must not inherit that.
    const status = await run(['cat', '/proc/self/status']);
    const ign = status.stdout.find((l) => l.startsWith('SigIgn:'))!.split(/\s+/)[1];
    t.equal(BigInt('0x' + ign), 0n, 'no signal ignored');
    const blk = status.stdout.find((l) => l.startsWith('SigBlk:'))!.split(/\s+/)[1];
    t.equal(BigInt('0x' + blk), 0n, 'no signal blocked');
  });

  t.test('journal output: lines, stderr apart, partial last line', async (t) => {
    const r = await run(['sh', '-c', 'printf "one\\ntwo\\n"; printf "err\\n" >&2; printf "partial"']);
    t.same(r.stdout, ['one', 'two', 'partial']);
    t.same(r.stderr, ['err']);
    t.same(r.exit.code, 0);
  });

  t.test('journal output through FIFOs: the same lines; the process holds each FIFO read-write', async (t) => {
    const dir = tempDir(t);
    const lines: Record<'stdout' | 'stderr', string[]> = { stdout: [], stderr: [] };
    const fifos = {
      stdout: new OutputFifo(join(dir, 'io', 'x.stdout'), (l) => lines.stdout.push(l)),
      stderr: new OutputFifo(join(dir, 'io', 'x.stderr'), (l) => lines.stderr.push(l)),
    };
    const r = await run(['sh', '-c', 'printf "one\\ntwo\\n"; printf "err\\n" >&2; printf "partial"'], {
      fifos,
      onLine: () => t.fail('no line goes through a pipe'),
    });
    t.same(lines, { stdout: ['one', 'two', 'partial'], stderr: ['err'] });
    t.same(r.exit.code, 0);
    t.notOk(fifos.stdout.reading || fifos.stderr.reading, 'EOF closed the readers');

    const h = spawnProcess({ argv: ['sleep', '100'], env: { PATH }, stdout: { kind: 'journal' }, stderr: { kind: 'null' }, fifos });
    const pid = await h.spawned;
    t.equal(readlinkSync(`/proc/${pid}/fd/1`), fifos.stdout.path, 'fd 1 is the FIFO');
    const flags = Number.parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/1`, 'utf8'))![1], 8);
    t.equal(flags & 3, 2, 'opened O_RDWR');
    t.ok(fifos.stdout.reading, 'a reader is open while it runs');
    t.notOk(fifos.stderr.reading, 'none for an output that is not the journal');
    process.kill(pid, 'SIGKILL');
    await h.exited;
    await h.drained;
    t.notOk(fifos.stdout.reading, 'closed at EOF');
  });

  t.test('file:, truncate:, append: and null outputs', async (t) => {
    const dir = tempDir(t);
    const f = join(dir, 'out.log');
    const a = join(dir, 'append.log');
    writeFileSync(f, 'OLD CONTENT THAT IS LONGER\n');
    await run(['sh', '-c', 'echo new; echo err >&2'], { stdout: { kind: 'file', path: f }, stderr: { kind: 'file', path: f } });
    t.equal(readFileSync(f, 'utf8'), 'new\nerr\nENT THAT IS LONGER\n', 'file: writes from the start, shared by both');
    await run(['echo', 'short'], { stdout: { kind: 'truncate', path: f } });
    t.equal(readFileSync(f, 'utf8'), 'short\n', 'truncate: empties first');
    await run(['echo', 'first'], { stdout: { kind: 'append', path: a } });
    await run(['echo', 'second'], { stdout: { kind: 'append', path: a } });
    t.equal(readFileSync(a, 'utf8'), 'first\nsecond\n', 'append: adds');
    t.equal(statSync(a).mode & 0o777, 0o644, 'created 0644');
    const n = await run(['echo', 'gone'], { stdout: { kind: 'null' } });
    t.same(n.stdout, [], 'null: nothing');
    const bad = spawnProcess({
      argv: ['echo'],
      env: { PATH },
      stdout: { kind: 'file', path: join(dir, 'missing-dir', 'x.log') },
      stderr: { kind: 'null' },
    });
    await t.rejects(bad.spawned, { code: 'ENOENT', message: /StandardOutput=file:.*missing-dir/ }, 'no parent dir: a clear error');
  });

  t.test('errors: missing binary, not executable, bad cwd, never thrown', async (t) => {
    const dir = tempDir(t);
    const plain = join(dir, 'script');
    writeFileSync(plain, '#!/bin/sh\necho hi\n');
    chmodSync(plain, 0o644);
    const cases: [Partial<SpawnOptions> & { argv: string[] }, string, RegExp][] = [
      [{ argv: ['/nonexistent/bin/x'] }, 'ENOENT', /\/nonexistent\/bin\/x/],
      [{ argv: ['no-such-command-xyz'] }, 'ENOENT', /no-such-command-xyz/],
      [{ argv: [plain] }, 'EACCES', new RegExp(plain)],
      [{ argv: ['true'], cwd: join(dir, 'nope') }, 'ENOENT', /working directory .*nope/],
      [{ argv: ['true'], cwd: plain }, 'ENOTDIR', /working directory/],
      [{ argv: ['true'], uid: 65534 }, 'EINVAL', /without a gid/],
      [{ argv: [] }, 'EINVAL', /empty/],
      [{ argv: ['echo', 'a\0b'] }, 'EINVAL', /NUL byte/],
    ];
    for (const [opts, code, message] of cases) {
      const h = spawnProcess({ env: { PATH }, stdout: { kind: 'null' }, stderr: { kind: 'null' }, ...opts });
      t.equal(h.pid, undefined);
      await t.rejects(h.spawned, { code, message }, `${opts.argv.join(' ')} ${opts.cwd ?? ''}`);
      await t.rejects(h.exited, SpawnError);
    }
    // An exec failure only the kernel sees (the file is executable, its interpreter is not there).
    const badInterp = join(dir, 'bad-interp');
    writeFileSync(badInterp, '#!/nonexistent/interpreter\n', { mode: 0o755 });
    const h = spawnProcess({ argv: [badInterp], env: { PATH }, stdout: { kind: 'null' }, stderr: { kind: 'null' } });
    await t.rejects(h.spawned, { code: 'ENOENT', message: new RegExp(badInterp) });
  });

  t.test('passed fds arrive as 3, 4, ... with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID', async (t) => {
    const dir = tempDir(t);
    const files = ['a', 'b', 'c'].map((n) => join(dir, n));
    files.forEach((f) => writeFileSync(f, ''));
    // Sources among the numbers they go to (3, 4, 5) would be clobbered by a naive dup2 in order.
    const fds = files.map((f) => openSync(f, 'r'));
    t.teardown(() => fds.forEach((fd) => closeSync(fd)));
    const passFds = [fds[2], fds[0], fds[1]].map((fd, i) => ({ fd, name: `n${i}` }));
    const script = join(dir, 'show.sh');
    writeFileSync(script, 'echo "$LISTEN_FDS $LISTEN_FDNAMES $LISTEN_PID"\nfor f in 3 4 5; do readlink /proc/self/fd/$f; done\n');
    const r = await run(['sh', script], { passFds });
    t.same(r.stdout, [`3 n0:n1:n2 ${r.pid}`, files[2], files[0], files[1]]);
  });

  t.test('long lines are cut at 64 KiB', async (t) => {
    const r = await run(['sh', '-c', 'head -c 70000 /dev/zero | tr "\\0" a; echo; echo next']);
    t.same(
      r.stdout.map((l) => l.length),
      [65536, 70000 - 65536, 4],
    );
  });
}

for (const way of ['posix_spawn', 'posix_spawn off the main thread'] as const) {
  t.test(way, async (t) => {
    const reaper = new Reaper();
    reaper.start();
    spawnOffThread(way !== 'posix_spawn');
    t.teardown(() => {
      reaper.stop();
      spawnOffThread(false);
    });
    suite(t, way);
  });
}

t.test('child_process (no Reaper running)', async (t) => {
  suite(t, 'child_process');
});
