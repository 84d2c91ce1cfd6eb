// NotifyFd= below the manager: spawnProcess gives the main process a FIFO at the fd number asked for, on both spawn
// paths (posix_spawn under a Reaper, child_process for User=). What must hold for it to survive a core: no SIGPIPE
// without a reader, and a newline written meanwhile reaches the next reader.
import t, { type Test } from 'tap';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputFifo } from '../../reconciler/output.js';
import { spawnProcess, type SpawnOptions } from '../../reconciler/spawn.js';
import { resolveUser } from '../../reconciler/users.js';
import { spawnLikeTheCore } from './fixtures/core-spawn.js';
import { killAtEnd, tempDir, until } from './fixtures/helpers.js';

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

spawnLikeTheCore(t);

/** Lines read from a NotifyFd FIFO, with whether a newline ended each. */
type Seen = [string, boolean][];

/** `sh -c script` with `fifo` at fd `fd`. */
function sh(t: Test, script: string, fifo: OutputFifo, fd: number, more: Partial<SpawnOptions> = {}) {
  const opts: SpawnOptions = { argv: ['sh', '-c', script], env: { PATH }, stdout: { kind: 'null' }, stderr: { kind: 'null' }, notifyFd: { fd, fifo }, ...more };
  return killAtEnd(t, spawnProcess(opts));
}

const root = process.getuid!() === 0;
const paths: [string, Partial<SpawnOptions>, string | false][] = [
  ['posix_spawn', {}, false],
  ['child_process (User=)', root ? (({ uid, gid }) => ({ uid, gid }))(resolveUser('nobody')) : {}, !root && 'needs root'],
];

for (const [name, more, skip] of paths) {
  t.test(`${name}: the FIFO at fd 5 and nothing at 3 and 4; only a newline-ended line counts`, { skip }, async (t) => {
    const dir = tempDir(t);
    const seen: Seen = [];
    const fifo = new OutputFifo(join(dir, 'io', 'x.ready'), (l, nl) => seen.push([l, nl]));
    // $$ (written $$$$: the manager expands $$ to $, as systemd does) is the spawned process: sh -c runs the script in it.
    const script = `for f in 3 4; do [ -e /proc/$$$$/fd/$f ] && echo "fd $f open" >&5; done; [ -p /proc/$$$$/fd/5 ] || exit 9; echo >&5; printf partial >&5`;
    const h = sh(t, script, fifo, 5, more);
    t.equal((await h.exited).code, 0, 'fd 5 is a FIFO');
    await until(() => !fifo.reading, 'EOF');
    t.same(seen, [['', true], ['partial', false]], 'the newline, then a last line without one; nothing about fds 3 and 4');
  });
}

t.test('no reader: a newline neither blocks nor raises SIGPIPE, and waits for the next reader', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'io', 'x.ready');
  const first: Seen = [];
  const fifo = new OutputFifo(path, (l, nl) => first.push([l, nl]));
  const h = sh(t, `while [ ! -e ${dir}/go ]; do sleep 0.01; done; echo >&4; touch ${dir}/done; while [ ! -e ${dir}/end ]; do sleep 0.01; done`, fifo, 4);
  await h.spawned;
  fifo.close(); // as a core dies
  writeFileSync(join(dir, 'go'), '');
  await until(() => existsSync(join(dir, 'done')), 'the write made while nobody reads');
  const after: Seen = [];
  const next = new OutputFifo(path, (l, nl) => after.push([l, nl]));
  const drained = next.listen();
  await until(() => after.length === 1, 'the newline that waited');
  t.same(after, [['', true]]);
  writeFileSync(join(dir, 'end'), '');
  t.same(await h.exited, { pid: await h.spawned, code: 0, signal: null, core: false }, 'no SIGPIPE');
  await drained;
  t.same(first, [], 'the first reader saw nothing');
});

t.test('a NotifyFd that is one of the LISTEN_FDS is refused before anything runs', async (t) => {
  const dir = tempDir(t);
  const passed = join(dir, 'passed');
  writeFileSync(passed, '');
  const fd = openSync(passed, 'r');
  t.teardown(() => closeSync(fd));
  const fifo = new OutputFifo(join(dir, 'io', 'x.ready'), () => {});
  const passFds = [{ fd, name: 'a' }, { fd, name: 'b' }];
  const h = sh(t, 'exit 0', fifo, 4, { passFds });
  await t.rejects(h.spawned, { name: 'SpawnError', code: 'EINVAL', message: 'NotifyFd=4 is taken: fds 3 to 4 are its LISTEN_FDS sockets; set NotifyFd = 5 or more (EINVAL)' });
  t.notOk(fifo.reading, 'no reader was opened');
  const ok = sh(t, `[ -f /proc/$$$$/fd/3 ] && [ -f /proc/$$$$/fd/4 ] && [ -p /proc/$$$$/fd/5 ] && [ "$LISTEN_FDS" = 2 ]`, fifo, 5, { passFds });
  t.equal((await ok.exited).code, 0, 'fd 5 is free: the passed ones at 3 and 4, the FIFO at 5');
});
