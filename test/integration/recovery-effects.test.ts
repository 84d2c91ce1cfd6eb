// Effects a dead core had asked for (docs/recovery.md): a state is saved before the effects it asks for run, so a
// core killed between the two leaves a state whose effect may never have happened, and the next core must do it,
// once. The window is made deterministic with a unit whose output is a FIFO nobody reads: the spawn of that unit
// opens it on the core's main thread, which then blocks (seen in /proc/PID/wchan) after the effects queued before
// it in the same flush have run and before the events they answer with are handled or saved. Where no such flush
// can be arranged, the core is stopped once state.db shows the state to test, or state.db is written while it is.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { StateStore } from '../../reconciler/state.js';
import { until } from '../os/fixtures/helpers.js';
import { marker, pidsWith, scratch, sleep, Up, writeSpec } from './harness.js';

/** The kernel's wait for the other end of a FIFO: the core's main thread is stuck in open(). */
const blocked = (pid: number) => fs.readFileSync(`/proc/${pid}/wchan`, 'utf8') === 'wait_for_partner';

/** Stop the core, do `meanwhile`, kill it: init starts another, which takes over (as in recovery.test.ts). */
async function takeOver(up: Up, meanwhile: () => void | Promise<void> = () => {}): Promise<void> {
  const core = up.corePid();
  process.kill(core, 'SIGSTOP');
  await meanwhile();
  process.kill(core, 'SIGKILL');
  // core.pid is written once the new core has restored every unit and serves.
  const serving = () => {
    try {
      return up.corePid();
    } catch {
      return 0; // not written yet
    }
  };
  await until(() => serving() > 0 && serving() !== core, 'a new core');
}

type Row = { value: string; context: Record<string, unknown> };

/** Leave the core stopped once the row of `unit` it has saved satisfies `ok` (read while it cannot write). */
async function stopWhenSaved(up: Up, unit: string, ok: (snap: Row) => boolean): Promise<void> {
  const core = up.corePid();
  for (const start = Date.now(); ; await sleep(20)) {
    process.kill(core, 'SIGSTOP');
    const store = await StateStore.open(path.join(up.stateDir, 'state.db'));
    const snap = store.load()?.units.find((u) => u.name === unit)?.snapshot as Row | undefined;
    store.close();
    if (snap && ok(snap)) return;
    process.kill(core, 'SIGCONT');
    if (Date.now() - start > 20_000) throw new Error(`${unit}: no saved state as wanted:\n${up.output}`);
  }
}

/** A unit whose start blocks the core until someone opens `fifo` for reading. */
function gate(fifo: string, extra = ''): string {
  spawnSync('mkfifo', [fifo]);
  return `[service.gate]\nExecStart = ["/bin/sleep", "${marker()}"]\nStandardOutput = "file:${fifo}"\n${extra}`;
}

/** sysmaster-init on `spec`, stopped (every unit with it) and its directory removed at the end of the test. */
function run(t: Test, dir: string, spec: string): { up: Up; reader: () => void } {
  const up = new Up(writeSpec(dir, spec), path.join(dir, 'state'), [], { init: true });
  let fd: number | null = null;
  t.teardown(async () => {
    await up.stop();
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  // The read end lets the blocked open go on; non-blocking, so that opening it does not wait for a writer.
  return { up, reader: () => void (fd = fs.openSync(path.join(dir, 'fifo'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)) };
}

t.test('a forking start the dead core spawned but never saw: its daemon is adopted, ExecStart does not run again', async (t) => {
  const dir = scratch();
  const mark = marker();
  const [runs, pidFile] = [path.join(dir, 'runs'), path.join(dir, 'daemon.pid')];
  const { up, reader } = run(
    t,
    dir,
    `[target.default]

[service.daemon]
Type = "forking"
PIDFile = "${pidFile}"
ExecStart = ["/bin/sh", "-c", "echo run >> ${runs}; sleep ${mark} </dev/null >/dev/null 2>&1 & echo $! > ${pidFile}"]
StandardOutput = "null"

${gate(path.join(dir, 'fifo'))}`,
  );
  await up.ready();
  const core = up.corePid();
  const start = up.sctl('start', 'daemon', 'gate');
  await until(() => blocked(core), 'the core blocked in the spawn of gate');
  // The start shell has forked the daemon (not a session leader) and exited: its exit is not reaped yet.
  await until(() => fs.existsSync(pidFile) && pidsWith(mark).length === 1, 'the daemon, forked by the spawn of daemon');
  const daemon = pidsWith(mark)[0];
  await takeOver(up, reader);
  t.equal(await up.prop('daemon.service', 'ActiveState', (v) => v === 'active' || v === 'failed'), 'active');
  t.equal(await up.prop('daemon.service', 'MainPID', () => true), String(daemon), 'the daemon from the PID file');
  t.same(pidsWith(mark), [daemon], 'one daemon');
  t.equal(fs.readFileSync(runs, 'utf8'), 'run\n', 'ExecStart ran once');
  t.equal(await up.prop('gate.service', 'ActiveState', (v) => v === 'active' || v === 'failed'), 'active', 'the spawn that never ran, run now');
  t.equal((await start).code, 0, 'sctl start got its answer');
});

t.test('a stop saved but whose SIGTERM the dead core never sent: the next core sends it', async (t) => {
  const dir = scratch();
  const mark = marker();
  const terms = path.join(dir, 'terms');
  const { up, reader } = run(
    t,
    dir,
    `[target.default]
Wants = "victim.service"

[service.victim]
ExecStart = ["/bin/sh", "-c", "trap 'echo term >> ${terms}; exit 0' TERM; while :; do sleep 0.05; done", "${mark}"]
TimeoutStopSec = "1h"

${gate(path.join(dir, 'fifo'), 'Conflicts = "victim.service"\n')}`,
  );
  await up.ready();
  const [victim] = pidsWith(mark);
  const core = up.corePid();
  const start = up.sctl('start', 'gate'); // stops victim: its SIGTERM is queued behind the spawn of gate
  await until(() => blocked(core), 'the core blocked in the spawn of gate');
  t.notOk(fs.existsSync(terms), 'no SIGTERM yet');
  await takeOver(up, reader);
  t.equal(await up.prop('victim.service', 'ActiveState', (v) => v === 'inactive' || v === 'failed'), 'inactive');
  t.equal(await up.prop('victim.service', 'Result', () => true), 'success', 'it ended on SIGTERM, no timeout');
  t.equal(fs.readFileSync(terms, 'utf8'), 'term\n', 'one SIGTERM');
  t.notOk(pidsWith(mark).includes(victim), 'gone');
  t.equal((await start).code, 0);
});

t.test('a PID file the dead core was still waiting for is read by the next one', async (t) => {
  const dir = scratch();
  const mark = marker();
  const [next, pidFile] = [path.join(dir, 'daemon.next'), path.join(dir, 'daemon.pid')];
  const { up } = run(
    t,
    dir,
    `[target.default]

[service.pf]
Type = "forking"
PIDFile = "${pidFile}"
ExecStart = ["/bin/sh", "-c", "sleep ${mark} </dev/null >/dev/null 2>&1 & echo $! > ${next}"]
TimeoutStartSec = "1h"
`,
  );
  await up.ready();
  t.equal((await up.sctl('start', '--no-block', 'pf')).code, 0);
  // ExecStart was spawned and has exited: the PID file is waited for (read for 5 s).
  await stopWhenSaved(up, 'pf.service', ({ value, context: c }) => {
    return value === 'start' && c.controlPid === null && c.mainPid === null && !(c.spawning as { control: boolean }).control;
  });
  await takeOver(up, () => fs.renameSync(next, pidFile));
  const [daemon] = pidsWith(mark);
  t.equal(await up.prop('pf.service', 'ActiveState', (v) => v === 'active' || v === 'failed'), 'active');
  t.equal(await up.prop('pf.service', 'MainPID', () => true), String(daemon));
});

t.test('a forking daemon whose pid is unknown is stopped after a takeover: its process group is found again', async (t) => {
  const dir = scratch();
  const mark = marker();
  const { up } = run(
    t,
    dir,
    `[service.nopid]
Type = "forking"
ExecStart = ["/bin/sh", "-c", "sleep ${mark} </dev/null >/dev/null 2>&1 &"]
`,
  );
  await up.ready();
  t.equal(pidsWith(mark).length, 1, 'the daemon runs');
  await takeOver(up);
  t.equal((await up.sctl('stop', 'nopid')).code, 0);
  t.equal(await up.prop('nopid.service', 'ActiveState', () => true), 'inactive');
  await until(() => pidsWith(mark).length === 0, 'the daemon killed by the stop');
  t.pass('not leaked');
});

t.test('a kill saved with a later spawn is sent again, but not to what that spawn started', async (t) => {
  // The row the chaos test found: a restart's final SIGTERM and its start's spawn saved together (one step), the
  // spawn run, its pid never saved. Real timing cannot make it on demand (the start is queued behind the state
  // change that asks for the kill, so no blocking spawn can follow it in the same flush): the row is written here,
  // while the core is stopped, as that core would have written it, for a process that really carries the token.
  const dir = scratch();
  const mark = marker();
  const { up } = run(t, dir, `[service.victim]\nExecStart = ["/bin/sleep", "${mark}"]\n`);
  await up.ready();
  const pid = Number(await up.prop('victim.service', 'MainPID', (v) => Number(v) > 0));
  const token = /(?:^|\0)SYSMASTER_SPAWN=([^\0]*)/.exec(fs.readFileSync(`/proc/${pid}/environ`, 'latin1'))?.[1];
  t.ok(token, 'the process carries its spawn token');
  const file = path.join(up.stateDir, 'state.db');
  await takeOver(up, async () => {
    const store = await StateStore.open(file);
    const state = store.load()!;
    const name = 'victim.service';
    const snap = state.units.find((u) => u.name === name)!.snapshot as Row;
    const command = { path: '/bin/sleep', argv: ['/bin/sleep', mark], ignoreFailure: false };
    const row = {
      ...snap,
      value: 'start',
      context: { ...snap.context, lastActive: 'activating', phase: 'ExecStart', mainPid: null, mainCommand: command, spawning: { main: true, control: false } },
      effects: [
        { effect: 'kill', params: { signal: 'SIGTERM', mainPid: null, controlPid: null, mode: 'control-group' } },
        { effect: 'spawn', params: { role: 'main', command, phase: 'ExecStart' }, token },
      ],
    };
    store.save({ ...state, whole: false, defs: [], actors: [{ name, snapshot: row, starts: {} }], gone: [], requests: null });
    store.close();
  });
  t.equal(await up.prop('victim.service', 'ActiveState', (v) => v !== 'activating'), 'active');
  t.equal(await up.prop('victim.service', 'MainPID', () => true), String(pid), 'the spawned process, adopted');
  t.same(pidsWith(mark), [pid], 'not killed by the kill saved before its spawn');
});
