// Service output survives the core (docs/recovery.md): a journal-captured service writes into a FIFO it also holds
// open for reading, which the log process reads (logger/), so kill -9 of the core neither kills it nor loses or
// delays its lines. Real processes: sysmaster-init as a subreaper of this test, its real core.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import t from 'tap';
import { descendants } from '../../init/killall.js';
import { isAlive, startTime } from '../../reconciler/proc.js';
import { cli, root, scratch, sleep, Up, writeSpec } from './harness.js';

const COUNTER = `[service.counter]
ExecStart = ["/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.05; done"]
`;

const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi').default;
const ioctl = koffi.load('libc.so.6').func('int ioctl(int, unsigned long, _Out_ int *)') as (fd: number, req: number, n: number[]) => number;
const FIONREAD = 0x541b;

/** Bytes waiting in a FIFO, seen through a reader of our own that reads nothing. */
function unread(fifo: string): number {
  const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const n = [0];
    if (ioctl(fd, FIONREAD, n) !== 0) throw new Error(`FIONREAD on ${fifo} failed`);
    return n[0];
  } finally {
    fs.closeSync(fd);
  }
}

type Maybe<T> = T | undefined | null | false;

/** `what` may be a function: what it says is read when the wait has failed (a process's output by then). */
async function until<T>(
  check: () => Maybe<T> | Promise<Maybe<T>>,
  what: string | (() => string),
  timeoutMs = 20_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(20);
  }
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

interface Line {
  time: number;
  pid: number | null;
  message: string;
}

t.test('kill -9 of the core: the service runs on with the same PID, and no line is lost', async (t) => {
  const dir = scratch('sm-out-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const stateDir = path.join(dir, 'state');
  const spec = writeSpec(dir, COUNTER);
  // NODE_OPTIONS carries tap's loader: init and its cores do not need it.
  const { NODE_OPTIONS: _, ...env } = process.env;
  const init = spawn(path.join(root, 'bin', 'sysmaster-init.js'), ['--state-dir', stateDir, '--spec', spec], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  init.stdout!.on('data', (d) => (output += d));
  init.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => init.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (init.exitCode !== null) return;
    // A failed test: its service would outlive a SIGKILLed init.
    for (const p of descendants(init.pid!)) process.kill(p, 'SIGKILL');
    init.kill('SIGKILL');
  });

  const sctl = (...args: string[]) => cli('sctl', ['--state-dir', stateDir, ...args]);
  const show = async (prop: string) => (await sctl('show', 'counter', '-p', prop, '--value')).stdout.trim();
  const logs = async (): Promise<Line[]> =>
    (await sctl('logs', 'counter', '-n', '1000', '-o', 'json')).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  const numbers = (rs: Line[]) => rs.map((r) => Number(/^line (\d+)$/.exec(r.message)?.[1]));
  const coreOf = () =>
    descendants(init.pid!).find((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('reconciler/main.js');
      } catch {
        return false;
      }
    });

  await until(async () => (await logs()).length > 0, () => `the first lines:\n${output}`);
  const pid = Number(await show('MainPID'));
  t.ok(pid > 0, `the service runs as ${pid}`);
  const fifo = path.join(stateDir, 'io', 'counter.service.stdout');
  t.equal(fs.readlinkSync(`/proc/${pid}/fd/1`), fifo, 'its stdout is the FIFO');
  const core = coreOf()!;
  t.ok(core, `the core runs as ${core}`);

  // Paused, the service writes nothing, so once the FIFO is empty every line it wrote is stored:
  // whatever is shown after the kill must follow the last of them.
  process.kill(pid, 'SIGSTOP');
  await until(() => unread(fifo) === 0, 'the log process to read everything written so far');
  const before = numbers(await logs());
  t.same(before, range(1, before.length), `lines 1 to ${before.length} before the kill, none missing`);

  process.kill(core, 'SIGKILL');
  const killedAt = Date.now();
  process.kill(pid, 'SIGCONT'); // it writes on, with no core
  const next = await until(() => {
    const c = coreOf();
    return c !== core && c;
  }, () => `the next core:\n${output}`);
  const upAt = Date.now();
  t.ok(next, `a new core runs as ${next}`);
  await sleep(500);
  const after = await logs();

  t.equal(Number(await show('MainPID')), pid, 'the same PID');
  t.equal(await show('ActiveState'), 'active', 'still active');
  t.ok(isAlive(pid), 'alive');
  // The log process, not the core, reads the FIFO: the lines from before the kill, while no core ran, and after.
  const nums = numbers(after);
  t.same(nums, range(1, nums.length), `lines 1 to ${nums.length}: kept across the kill, continuing at ${before.length + 1} without a gap`);
  const since = nums.length - before.length;
  t.ok(after.every((r) => r.pid === pid), 'recorded with the main pid');
  const meanwhile = after.filter((r) => r.time > killedAt && r.time < upAt).length;
  t.comment(`core ${core} killed; ${meanwhile} lines stored in the ${upAt - killedAt} ms until the next core ran; ${since} lines since the kill, none missing`);

  const left = descendants(init.pid!).map((p) => [p, startTime(p)] as const);
  init.kill('SIGTERM');
  t.equal(await exited, 0, 'init exits 0');
  await until(() => left.every(([p, start]) => !isAlive(p, start)), 'every process of init to be gone', 5000);
  t.pass(`nothing left of ${left.length} processes (core, service, its sleep)`);
});

t.test('under init: a restart reuses the FIFOs, a unit removed from the spec takes them along', async (t) => {
  const dir = scratch('sm-out-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const stateDir = path.join(dir, 'state');
  const up = new Up(writeSpec(dir, COUNTER), stateDir, [], { init: true });
  t.teardown(() => up.stop());
  await up.ready();
  const fifos = ['stdout', 'stderr'].map((s) => path.join(stateDir, 'io', `counter.service.${s}`));
  const first = Number(await up.until('counter', 'MainPID', (v) => Number(v) > 0));
  const inode = fs.statSync(fifos[0]).ino;
  t.ok(fifos.every((f) => fs.statSync(f).isFIFO()), 'one FIFO per journal stream');
  await up.waitFor(/line 2\b/);

  t.equal((await up.sctl('restart', 'counter')).code, 0);
  const second = Number(await up.until('counter', 'MainPID', (v) => Number(v) > 0 && Number(v) !== first));
  t.equal(fs.readlinkSync(`/proc/${second}/fd/1`), fifos[0], 'the new process gets the same FIFO');
  t.equal(fs.statSync(fifos[0]).ino, inode, 'not made anew');
  await until(async () => {
    const r = await up.sctl('logs', 'counter', '-n', '1', '-o', 'json');
    return r.stdout && JSON.parse(r.stdout).pid === second;
  }, 'a line of the new process');

  const other = writeSpec(dir, `[service.other]\nType = "oneshot"\nExecStart = ["/bin/true"]\n`, 'other.toml');
  t.equal((await up.sctl('apply', '--yes', other)).code, 0);
  await until(() => fifos.every((f) => !fs.existsSync(f)), 'the FIFOs of the removed unit to go');
  t.pass('removed with the unit');
});
