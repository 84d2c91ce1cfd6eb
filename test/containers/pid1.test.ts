// sysmaster-init as a container's PID 1: the core killed with -9 from `docker exec` comes back and takes the
// services over with their PIDs; orphans (double-forked, or setsid daemons) that exit are reaped, so no zombie
// stays; SIGUSR1, SIGUSR2 and SIGWINCH from `docker kill -s` reach the main command, and are ignored without one.
import t from 'tap';
import { containersUnavailable, docker, eventually, start, type Box } from './harness.js';

const why = containersUnavailable();
const opts = { skip: why ?? false };

interface Unit {
  name: string;
  active: string;
  mainPid: number | null;
}

interface Proc {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** Clock ticks after boot: with the pid, names one process even across pid reuse. */
  start: number;
}

/** Every process of the container, from /proc/PID/stat read inside it. */
async function procs(box: Box): Promise<Proc[]> {
  const r = await box.exec(['sh', '-c', 'cat /proc/[0-9]*/stat 2>/dev/null']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      // comm is in parentheses and may hold spaces; the fields after it are fixed.
      const close = line.lastIndexOf(')');
      const rest = line.slice(close + 2).split(' ');
      return { pid: Number(line.slice(0, line.indexOf(' '))), comm: line.slice(line.indexOf('(') + 1, close), state: rest[0], ppid: Number(rest[1]), start: Number(rest[19]) };
    });
}

async function kill(box: Box, signal: string): Promise<void> {
  const r = await docker(['kill', '-s', signal, box.id]);
  if (r.code !== 0) throw new Error(`docker kill -s ${signal}: ${r.stderr}`);
}

const corePid = async (box: Box) => Number((await box.exec(['cat', '/run/sysmaster/core.pid'])).stdout);

t.test('kill -9 of the core from docker exec: a new core takes the services over with their PIDs', opts, async (t) => {
  const spec = `
[service.a]
ExecStart = ["/bin/sleep", "1000"]

[service.b]
Requires = ["a.service"]
After = ["a.service"]
ExecStart = ["/bin/sh", "-c", "exec sleep 1000"]
`;
  const box = await start(t, { spec, args: ['--', 'sh', '-c', "trap 'exit 42' TERM; sleep 1000 & wait"] });
  await box.ready();
  const services = (units: Unit[]) => Object.fromEntries(units.filter((u) => u.mainPid !== null).map((u) => [u.name, `${u.active} ${u.mainPid}`]));
  const before = services(await box.json<Unit[]>('list-units'));
  t.same(Object.keys(before).sort(), ['a.service', 'b.service', 'main.service'], 'a, b and the main command run');
  const started = new Map((await procs(box)).map((p) => [p.pid, p.start]));
  const core = await corePid(box);

  const t0 = Date.now();
  const k = await box.exec(['sh', '-c', 'kill -9 $(cat /run/sysmaster/core.pid)']);
  t.equal(k.code, 0, `kill -9 core ${core}`);
  const after = await eventually(async () => {
    const units = await box.json<Unit[]>('list-units').catch(() => null); // no core answers for a moment
    return units && (await corePid(box)) !== core && units;
  }, 'a new core answering sctl');
  t.comment(`sctl answered ${Date.now() - t0} ms after kill -9`);
  t.match(box.output, new RegExp(`core ${core} .*: starting a new one`), 'init saw the core die and started another');
  t.same(services(after), before, 'every service is active with the same main PID');
  const now = new Map((await procs(box)).map((p) => [p.pid, p.start]));
  for (const [name, state] of Object.entries(before)) {
    const pid = Number(state.split(' ')[1]);
    t.equal(now.get(pid), started.get(pid), `${name}: PID ${pid} is the same process (same start time)`);
  }

  // The new core holds the main command: its status still ends the container.
  t.equal(await box.stop(10), 42, 'docker stop: the main command traps SIGTERM and exits 42, passed on by the new core');
});

t.test('double-forked and setsid orphans that exit are reaped by PID 1: no zombie stays', opts, async (t) => {
  // 40 orphans of each kind, over about 2 s, then the service settles. ($ is expanded by sysmaster: none here.)
  // keeper's child is a zombie no init may reap, its parent being alive: it shows that the check sees zombies.
  const spec = `
[service.orphans]
ExecStart = ["/bin/sh", "-c", "seq 40 | while read n; do (sleep 0.5 &); (setsid sleep 0.5 &); sleep 0.05; done; exec sleep 1000"]

[service.keeper]
ExecStart = ["/bin/sh", "-c", "sleep 0.1 & exec sleep 1000"]
`;
  const box = await start(t, { spec });
  await box.ready();
  const orphans = await eventually(async () => {
    const o = (await procs(box)).filter((p) => p.comm === 'sleep' && p.ppid === 1);
    return o.length > 0 && o;
  }, 'an orphaned sleep whose parent is PID 1');
  t.ok(orphans.length > 0, `${orphans.length} orphans have PID 1 as their parent`);

  const mainPid = async (name: string) => (await box.json<Unit[]>('list-units')).find((u) => u.name === name)?.mainPid;
  const keeper = await mainPid('keeper.service');
  await eventually(async () => (await procs(box)).some((p) => p.state === 'Z' && p.ppid === keeper), "keeper's zombie child");
  t.pass("the zombie child of keeper's live process is seen");
  await eventually(async () => {
    const pid = await mainPid('orphans.service');
    return (await procs(box)).some((p) => p.pid === pid && p.comm === 'sleep');
  }, 'the service to be done making orphans (its shell exec-ed sleep 1000)');
  const t0 = Date.now();
  let seen: Proc[] = [];
  await eventually(async () => {
    seen = (await procs(box)).filter((p) => (p.state === 'Z' && p.ppid !== keeper) || (p.comm === 'sleep' && p.ppid === 1));
    return seen.length === 0;
  }, 'every orphan gone, reaped', 20_000).catch((err) => {
    throw new Error(`${(err as Error).message}: still there: ${JSON.stringify(seen)}`);
  });
  t.pass(`no zombie and no orphan left, ${Date.now() - t0} ms after the last was made`);
  t.equal((await box.json<Unit[]>('list-units')).find((u) => u.name === 'orphans.service')?.active, 'active', 'the service is still up');

  // Without a main command SIGUSR1, SIGUSR2 and SIGWINCH are logged and ignored (SIGUSR1 would open Node's inspector).
  for (const sig of ['USR1', 'USR2', 'WINCH']) {
    await kill(box, sig);
    await box.waitFor(new RegExp(`SIG${sig} ignored: there is no main command`));
  }
  t.pass('SIGUSR1, SIGUSR2 and SIGWINCH: logged and ignored without a main command');
  t.equal((await box.sctl('is-active', 'orphans.service')).stdout.trim(), 'active', 'sctl still answers, the service still runs');
  t.equal(await box.stop(10), 0, 'docker stop: exit 0');
});

t.test('docker kill -s USR1, WINCH, USR2 reach the main command, which traps them', opts, async (t) => {
  const main = [
    "trap 'echo got USR1' USR1",
    "trap 'echo got WINCH' WINCH",
    "trap 'echo got USR2; exit 12' USR2",
    'echo main ready',
    'while :; do sleep 0.1; done',
  ].join('; ');
  const box = await start(t, { args: ['--spec', '/none', '--', 'sh', '-c', main] });
  await box.waitFor(/^main ready$/m);
  for (const sig of ['USR1', 'WINCH']) {
    await kill(box, sig);
    await box.waitFor(new RegExp(`^got ${sig}$`, 'm'));
    t.pass(`SIG${sig} reached the main command`);
  }
  await kill(box, 'USR2');
  t.equal(await box.ended(), 12, 'SIGUSR2 reached it and it exited 12: the container exits 12');
  t.equal(box.output.match(/^got USR1$/gm)?.length, 1, 'SIGUSR1 was delivered once');
});

t.test('a main command with no handler dies of the forwarded SIGUSR1: exit 138', opts, async (t) => {
  const box = await start(t, { args: ['--spec', '/none', '--', 'sleep', '1000'] });
  await box.ready();
  await eventually(async () => (await procs(box)).some((p) => p.comm === 'sleep'), 'the main command to run');
  await kill(box, 'USR1');
  t.equal(await box.ended(), 138, '128 + SIGUSR1 (10)');
});
