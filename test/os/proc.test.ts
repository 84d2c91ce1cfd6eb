import t from 'tap';
import { isAlive, lineageOf, pgidOf, sessionOf, startTime } from '../../reconciler/proc.js';
import { spawnProcess } from '../../reconciler/spawn.js';
import { reap, setChildSubreaper } from '../../reconciler/sys.js';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, until } from './fixtures/helpers.js';

const sleeper = async () => {
  const h = spawnProcess({ argv: ['/bin/sleep', '100'], env: {}, stdout: { kind: 'null' }, stderr: { kind: 'null' } });
  return { h, pid: await h.spawned };
};

t.test('start time identifies a process', async (t) => {
  const a = await sleeper();
  const start = startTime(a.pid);
  t.match(start, /^\d+$/);
  t.equal(startTime(a.pid), start, 'stable');
  t.ok(isAlive(a.pid, start));
  t.notOk(isAlive(a.pid, String(BigInt(start!) + 1n)), 'another start time: another process');
  // Start times count clock ticks (10 ms): 30 ms later is a later tick.
  await new Promise((r) => setTimeout(r, 30));
  const b = await sleeper();
  t.not(startTime(b.pid), start, 'a newer process has another start time');
  for (const p of [a, b]) {
    process.kill(p.pid, 'SIGKILL');
    await p.h.exited;
    t.notOk(isAlive(p.pid), 'dead once reaped');
    t.equal(startTime(p.pid), null);
  }
});

t.test('parent, group and session', async (t) => {
  const a = await sleeper();
  t.same(lineageOf(a.pid), { parent: process.pid, session: a.pid });
  t.equal(pgidOf(a.pid), a.pid);
  t.equal(sessionOf(a.pid), a.pid);
  t.equal(lineageOf(process.pid)?.parent, process.ppid);
  process.kill(a.pid, 'SIGKILL');
  await a.h.exited;
  t.equal(lineageOf(a.pid), null);
  t.equal(pgidOf(-5), null);
});

t.test('a zombie is not alive', async (t) => {
  // An orphan comes to us (subreaper) and, with no reaper running, stays a zombie.
  setChildSubreaper();
  const lines: string[] = [];
  const h = spawnProcess({
    argv: ['sh', '-c', '(sh -c "echo \\$\\$" &); exit 0'],
    env: { PATH: '/usr/bin:/bin' },
    stdout: { kind: 'journal' },
    stderr: { kind: 'inherit' },
    onLine: (_, l) => lines.push(l),
  });
  await h.exited;
  await h.drained;
  const zombie = Number(lines[0]);
  t.ok(zombie > 0, `the orphan printed its pid (${lines[0]})`);
  await until(() => readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1][0] === 'Z', 'the zombie');
  t.notOk(isAlive(zombie), 'exited, even though not reaped');
  t.not(startTime(zombie), null, 'its entry is still there');
  t.not(reap(zombie), null, 'reaped');
  t.equal(startTime(zombie), null, 'gone');
  t.notOk(isAlive(0));
  t.notOk(isAlive(-1));
});

t.test('command names with parentheses and spaces do not confuse the parser', async (t) => {
  const dir = tempDir(t);
  const odd = join(dir, 'x) 1 2 (y');
  symlinkSync('/bin/sleep', odd);
  const h = spawnProcess({ argv: [odd, '100'], env: {}, stdout: { kind: 'null' }, stderr: { kind: 'null' } });
  const pid = await h.spawned;
  t.match(readFileSync(`/proc/${pid}/stat`, 'utf8'), /\(x\) 1 2 \(y\)/, 'the name is in the stat line');
  t.equal(pgidOf(pid), pid);
  t.equal(lineageOf(pid)?.parent, process.pid);
  t.match(startTime(pid), /^\d+$/);
  process.kill(pid, 'SIGKILL');
  await h.exited;
});
