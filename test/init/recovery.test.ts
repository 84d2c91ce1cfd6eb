// A core that dies, by kill -9 or a hang, is replaced, and nothing sent meanwhile is lost: exits, control
// connections and notify datagrams all reach the next core. init runs as a subreaper of this test.
import path from 'node:path';
import t from 'tap';
import { sendNotify } from '../../reconciler/notify.js';
import { Init, procState, running, until, type Event } from './harness.js';

const exitsOf = (evs: Event[], pid: number) => evs.filter((e) => e.ev === 'exit' && e.pid === pid);

t.test('kill -9 of the core: exits, connections and datagrams of the downtime reach the next core', async (t) => {
  const init = new Init(t);
  const c1 = await init.ready();
  const go = path.join(init.dir, 'go');
  const svc = await init.ask({ cmd: 'spawn', script: `while [ ! -e ${go} ]; do sleep 0.02; done; exit 3` });

  init.hold(true); // the next core starts but neither serves nor says ready until released
  process.kill(c1, 'SIGKILL');
  const c2 = await init.started(c1);
  t.not(c2, c1, 'a new core runs');
  await until(() => procState(c1) === null, 'the old core to be gone');
  t.ok(running(svc.pid), 'the service survived the core');

  init.hold(true, 'go');
  await until(() => procState(svc.pid) === null, 'init to reap the service, now its child');
  const pong = init.ask({ cmd: 'ping' });
  sendNotify(path.join(init.stateDir, 'notify.sock'), 'STATUS=sent while no core served');
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(init.events().some((e) => e.core === c2 && e.ev !== 'start'), 'the new core has not served yet');

  init.hold(false);
  t.same(await pong, { pid: c2 }, 'the connection made meanwhile is answered by the new core');
  await init.waitFor((evs) => evs.some((e) => e.ev === 'acked' && e.core === c2), 'the exit to be acknowledged');
  const got = exitsOf(init.events(), svc.pid);
  t.equal(got.length, 1, 'exactly one exit');
  t.match(got[0], { core: c2, code: 3, signal: null, dumped: false, dup: false }, 'with code 3, to the new core');
  await init.waitFor(
    (evs) => evs.find((e) => e.ev === 'notify' && e.core === c2 && e.raw === 'STATUS=sent while no core served'),
    'the datagram to reach the new core',
  );

  process.kill(c2, 'SIGKILL');
  const c3 = await init.ready(c2);
  await init.waitFor((evs) => evs.some((e) => e.ev === 'events' && e.core === c3), 'the third core to get its exits');
  t.equal(exitsOf(init.events(), svc.pid).length, 1, 'an acknowledged exit is not sent again');
});

t.test('an unacknowledged notify datagram goes to the next core again: a READY=1 is never lost', async (t) => {
  const init = new Init(t);
  const c1 = await init.ready();
  init.hold(true, 'noack');
  sendNotify(path.join(init.stateDir, 'notify.sock'), 'READY=1');
  await init.waitFor((evs) => evs.some((e) => e.ev === 'notify' && e.core === c1), 'the datagram at the first core');
  init.hold(false, 'noack');
  process.kill(c1, 'SIGKILL');
  const c2 = await init.ready(c1);
  await init.waitFor((evs) => evs.some((e) => e.ev === 'acked' && e.core === c2), 'the second core to acknowledge');
  const got = init.events().filter((e) => e.ev === 'notify');
  t.equal(got.length, 2, 'delivered to both cores');
  t.match(got[0], { core: c1, raw: 'READY=1', from: process.pid, dup: false });
  t.match(got[1], { core: c2, raw: 'READY=1', seq: got[0].seq, dup: true }, 'the same seq, dropped by the core');
});

t.test('an unacknowledged exit goes to the next core again, which drops it as applied', async (t) => {
  const init = new Init(t);
  const c1 = await init.ready();
  init.hold(true, 'noack');
  const orphan = await init.ask({ cmd: 'orphan', script: 'exit 5' });
  await init.waitFor((evs) => exitsOf(evs, orphan.pid).length === 1, 'the exit at the first core');
  init.hold(false, 'noack');
  process.kill(c1, 'SIGKILL');
  const c2 = await init.ready(c1);
  await init.waitFor((evs) => evs.some((e) => e.ev === 'acked' && e.core === c2), 'the second core to acknowledge');
  const got = exitsOf(init.events(), orphan.pid);
  t.equal(got.length, 2, 'delivered to both cores');
  t.match(got[0], { core: c1, code: 5, dup: false });
  t.match(got[1], { core: c2, code: 5, seq: got[0].seq, dup: true }, 'the same seq, dropped by the core');
});

t.test('a SIGSTOPped core is found by the watchdog and replaced', async (t) => {
  const init = new Init(t, { args: ['--watchdog-sec', '1'] });
  const c1 = await init.ready();
  const svc = await init.ask({ cmd: 'spawn', script: 'exec sleep 1000' });
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(init.events().filter((e) => e.ev === 'start').length, 1, 'a heartbeating core outlives the period');
  process.kill(c1, 'SIGSTOP');
  const c2 = await init.ready(c1);
  t.not(c2, c1);
  t.match(init.output, new RegExp(`core ${c1} sent nothing for 1000 ms: killing it`));
  await until(() => procState(c1) === null, 'the stopped core to be killed and reaped');
  t.ok(running(svc.pid), 'its service runs on');
});

t.test('a core that fails at every start is backed off, and init gives up with the reason', async (t) => {
  const init = new Init(t, { modes: ['crash-exit'], args: ['--max-failed-starts', '5'] });
  const { code } = await init.exited;
  t.equal(code, 1, 'init exits 1');
  t.match(init.output, /failed to start 5 times in a row; the last: core \d+ exited with code 1 before it was ready/);
  const delays = [...init.output.matchAll(/next start in (\d+) ms/g)].map((m) => Number(m[1]));
  t.same(delays, [0, 100, 200, 400], 'growing delays between starts');
  t.equal(init.events().filter((e) => e.ev === 'start').length, 5, 'five starts');
});

t.test('a core killed by a signal before ready counts as a failed start too', async (t) => {
  const init = new Init(t, { modes: ['crash-kill'], args: ['--max-failed-starts', '3'] });
  t.equal((await init.exited).code, 1);
  t.match(init.output, /failed to start 3 times in a row; the last: core \d+ was killed by SIGKILL before/);
});

t.test('a core that never gets ready is killed by the watchdog and counts as a failed start', async (t) => {
  const args = ['--watchdog-sec', '0.3', '--max-failed-starts', '2'];
  const init = new Init(t, { modes: ['no-ready', 'no-heartbeat'], args });
  t.equal((await init.exited).code, 1);
  t.match(init.output, /sent nothing for 300 ms: killing it/);
  t.match(init.output, /failed to start 2 times in a row; the last: core \d+ was killed by SIGKILL before/);
});

t.test('reexec: the core hands over to a fresh one, which gets the unacknowledged exits', async (t) => {
  const init = new Init(t);
  const c1 = await init.ready();
  init.hold(true, 'noack');
  const orphan = await init.ask({ cmd: 'orphan', script: 'exit 9' });
  await init.waitFor((evs) => exitsOf(evs, orphan.pid).length === 1, 'the exit at the first core');
  init.hold(false, 'noack');
  init.ask({ cmd: 'reexec' }).catch(() => {}); // no answer: it exits
  const c2 = await init.ready(c1);
  t.match(init.output, new RegExp(`core ${c1} re-executes: starting a fresh one`));
  await init.waitFor((evs) => exitsOf(evs, orphan.pid).length === 2, 'the exit again at the new core');
});

t.test('the environment of the core', async (t) => {
  const args = ['--spec', '/x/spec.toml', '--', '/bin/app', '--flag'];
  const init = new Init(t, { args, env: { NODE_EXTRA_CA_CERTS: '/x' } });
  const c1 = await init.ready();
  const start = init.events().find((e) => e.ev === 'start' && e.core === c1)!;
  t.same(start.fds, { control: 3 }, 'its socket, named in SYSMASTER_FDS');
  t.equal(start.spec, '/x/spec.toml');
  t.same(JSON.parse(start.main), ['/bin/app', '--flag'], 'the main command as JSON');
  t.equal(start.stateDir, init.stateDir);
  t.equal(start.extraCa, null, 'NODE_EXTRA_CA_CERTS stripped: it slows every start');
});

t.test('a second init on the same state directory is refused', async (t) => {
  const first = new Init(t);
  await first.ready();
  const second = new Init(t, { args: ['--state-dir', first.stateDir] });
  t.equal((await second.exited).code, 1);
  t.match(second.output, /another sysmaster \(pid \w+\) serves/);
  t.same(await first.ask({ cmd: 'ping' }), { pid: (await first.ready()) }, 'the first one still serves');
});

t.test('time from kill -9 to the next core (reported, not asserted)', async (t) => {
  const init = new Init(t);
  let core = await init.ready();
  const spawned: number[] = [];
  const served: number[] = [];
  for (let i = 0; i < 9; i++) {
    const killedAt = Date.now();
    process.kill(core, 'SIGKILL');
    const next = await init.ready(core);
    const evs = init.events().filter((e) => e.core === next);
    spawned.push(evs.find((e) => e.ev === 'start')!.spawnedAt - killedAt);
    served.push(evs.find((e) => e.ev === 'ready')!.at - killedAt);
    t.not(next, core, `round ${i + 1}: a new core`);
    core = next;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1].toFixed(1);
  t.comment(`kill -9 → next core's process started: median ${median(spawned)} ms; → ready: ${median(served)} ms`);
});
