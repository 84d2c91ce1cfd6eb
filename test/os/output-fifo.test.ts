// Journal FIFOs (reconciler/output.ts) as the core uses them: posix_spawn off the main thread under a Reaper, and
// child_process for User=. What must hold for a service to survive its core: no SIGPIPE without a reader, output
// kept for the next reader, EOF only when every writer has gone.
import t, { type Test } from 'tap';
import { closeSync, constants as fsc, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OutputFifo } from '../../reconciler/output.js';
import { spawnProcess } from '../../reconciler/spawn.js';
import { resolveUser } from '../../reconciler/users.js';
import { pipeSize } from '../../reconciler/sys.js';
import { spawnLikeTheCore } from './fixtures/core-spawn.js';
import { killAtEnd, tempDir, until } from './fixtures/helpers.js';

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

spawnLikeTheCore(t);

/** A shell script with its stdout on `fifo`; killed with its process group if it still runs when the test ends. */
function sh(t: Test, script: string, fifo: OutputFifo, cwd?: string) {
  return killAtEnd(
    t,
    spawnProcess({
      argv: ['sh', '-c', script],
      env: { PATH },
      cwd,
      stdout: { kind: 'journal' },
      stderr: { kind: 'null' },
      fifos: { stdout: fifo },
    }),
  );
}

t.test('made 0600 in a 0700 directory, reused, its pipe raised to pipe-max-size', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'io', 'a.service.stdout');
  const fifo = new OutputFifo(path, () => {});
  const first = fifo.attach();
  t.ok(statSync(path).isFIFO(), 'a FIFO');
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.equal(statSync(join(dir, 'io')).mode & 0o777, 0o700);
  const w = openSync(path, fsc.O_RDWR);
  const max = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8'));
  t.equal(pipeSize(w), max, 'the capacity the reader set');
  closeSync(w);
  first.opened();
  await first.drained;
  t.notOk(fifo.reading, 'the writer gone: EOF');

  const again = new OutputFifo(path, () => {});
  const ino = statSync(path).ino;
  again.attach().opened();
  t.equal(statSync(path).ino, ino, 'an existing FIFO is reused');
  again.close();

  rmSync(path);
  writeFileSync(path, 'not a fifo');
  const replaced = new OutputFifo(path, () => {});
  replaced.attach().opened();
  t.ok(statSync(path).isFIFO(), 'a regular file in the way is replaced');
  replaced.close();
});

t.test('a writer outlives its reader: no SIGPIPE, and what it wrote meanwhile reaches the next reader', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'io', 'svc.stdout');
  const before: string[] = [];
  const after: string[] = [];
  // 900 KB while nobody reads: more than a default pipe holds (64 KiB), less than the raised one. The file `done`
  // appears only if no write blocked.
  const script = [
    'echo before',
    'while [ ! -e go ]; do sleep 0.01; done',
    'head -c 900000 /dev/zero | tr "\\0" a; echo; echo after; touch done',
    'while [ ! -e end ]; do sleep 0.01; done',
    'echo last',
  ].join('; ');
  const first = new OutputFifo(path, (l) => before.push(l));
  const h = sh(t, script, first, dir);
  await until(() => before.length === 1, 'the first line');
  first.close(); // as a core dies

  writeFileSync(join(dir, 'go'), '');
  await until(() => existsSync(join(dir, 'done')), 'the writes made while nobody reads');
  const next = new OutputFifo(path, (l) => after.push(l));
  const drained = next.listen();
  await until(() => after.at(-1) === 'after', 'what waited in the FIFO');
  const sizes = after.slice(0, -1).map((l) => l.length);
  t.same(sizes, [...Array(13).fill(65536), 900000 - 13 * 65536], 'all 900000 bytes, in 64 KiB pieces');
  writeFileSync(join(dir, 'end'), '');
  t.same(await h.exited, { pid: await h.spawned, code: 0, signal: null, core: false }, 'no SIGPIPE');
  await drained;
  t.same(before, ['before']);
  t.equal(after.at(-1), 'last', 'read on to EOF');
});

t.test('EOF waits for every writer: children, and another process given the FIFO', async (t) => {
  const dir = tempDir(t);
  const lines: string[] = [];
  const fifo = new OutputFifo(join(dir, 'x.stdout'), (l) => lines.push(l));
  const h = sh(t, '(sleep 0.2; echo late) & echo early', fifo);
  t.equal((await h.exited).code, 0);
  await h.drained;
  t.same(lines, ['early', 'late'], 'a child that holds the FIFO');

  // A control process and the main process of one unit, or a restart: processes given the FIFO one after another.
  lines.length = 0;
  const want: string[] = [];
  for (let i = 0; i < 10; i++) {
    const a = sh(t, `echo a${i}`, fifo);
    await a.exited;
    const b = sh(t, `echo b${i}`, fifo);
    await Promise.all([a.drained, b.drained]);
    want.push(`a${i}`, `b${i}`);
  }
  t.same(lines, want, 'every line of each, in order');
  t.notOk(fifo.reading, 'closed once all are gone');

  const long = sh(t, 'echo one; exec sleep 100', fifo);
  const short = sh(t, 'echo two', fifo);
  await short.exited;
  let done = false;
  void short.drained.then(() => (done = true));
  await until(() => lines.includes('two'), 'the short one');
  t.notOk(done, 'not drained while the long-running one holds the FIFO');
  process.kill(await long.spawned, 'SIGKILL');
  await short.drained;
  t.same(lines.slice(-2).sort(), ['one', 'two']);
});

t.test('an EOF while a process is about to be given the FIFO does not end the reading', async (t) => {
  // The race the test above may or may not hit: the last writer goes, and its EOF is read, after the next process
  // was handed the FIFO but before it has opened it.
  const dir = tempDir(t);
  const path = join(dir, 'x.stdout');
  const lines: string[] = [];
  const fifo = new OutputFifo(path, (l) => lines.push(l));
  const first = fifo.attach();
  const a = openSync(path, fsc.O_RDWR);
  first.opened();
  const next = fifo.attach();
  writeSync(a, 'a\n');
  closeSync(a);
  await until(() => lines.length === 1, 'the first line, and with it the EOF');
  t.ok(fifo.reading, 'still reading');
  const b = openSync(path, fsc.O_RDWR);
  next.opened();
  writeSync(b, 'b\n');
  closeSync(b);
  await next.drained;
  t.same(lines, ['a', 'b'], 'the next writer is read');
  t.notOk(fifo.reading, 'EOF once it has gone too');
});

t.test('User=: the process writes the FIFO, root\'s and 0600, through the fd it is given', { skip: process.getuid!() !== 0 && 'needs root' }, async (t) => {
  const nobody = resolveUser('nobody');
  const dir = tempDir(t);
  const lines: string[] = [];
  const fifo = new OutputFifo(join(dir, 'io', 'x.stdout'), (l) => lines.push(l));
  const h = spawnProcess({
    argv: ['id', '-u'],
    env: { PATH },
    uid: nobody.uid,
    gid: nobody.gid,
    stdout: { kind: 'journal' },
    stderr: { kind: 'null' },
    fifos: { stdout: fifo },
  });
  t.equal((await h.exited).code, 0);
  await h.drained;
  t.same(lines, [String(nobody.uid)]);
  t.equal(statSync(fifo.path).uid, 0);
  t.equal(statSync(fifo.path).mode & 0o777, 0o600);
});
