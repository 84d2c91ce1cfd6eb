// Signals to init as a subreaper: SIGTERM (and SIGINT) stop everything through the core within the grace period,
// SIGHUP reloads, SIGUSR1 is ignored. After init exits nothing it supervised is left running.
import t from 'tap';
import { Init, procState, until } from './harness.js';

/** Services started through the core: a child of it, and an orphan init adopted at once. */
async function services(init: Init): Promise<number[]> {
  const child = await init.ask({ cmd: 'spawn', script: 'exec sleep 1000' });
  const orphan = await init.ask({ cmd: 'orphan', script: 'exec sleep 1000' });
  return [child.pid, orphan.pid];
}

t.test('SIGTERM: the core stops everything and init exits with the code it asks for', async (t) => {
  const init = new Init(t, { env: { FAKE_EXIT_CODE: '7' }, args: ['--grace', '5s'] });
  const core = await init.ready();
  const pids = await services(init);
  init.child.kill('SIGTERM');
  t.same(await init.exited, { code: 7, signal: null }, 'init exits 7');
  const asked = init.events().find((e) => e.ev === 'shutdown');
  t.match(asked, { core, reason: 'SIGTERM', grace: 5000 }, 'the core was asked');
  t.match(init.output, /the core asked to exit with code 7: killing what is left/);
  t.same([core, ...pids].filter((p) => procState(p) !== null), [], 'nothing left: core, its child, the orphan');
});

t.test('a core that ignores shutdown is killed after the grace period, with all it started', async (t) => {
  const init = new Init(t, { modes: ['ignore-shutdown'], args: ['--grace', '1s'] });
  const core = await init.ready();
  const pids = await services(init);
  init.child.kill('SIGTERM');
  t.same(await init.exited, { code: 0, signal: null }, 'init exits 0');
  t.match(init.output, /the grace period of 1000 ms is over: killing what is left/);
  t.same([core, ...pids].filter((p) => procState(p) !== null), [], 'nothing left running');
});

t.test('SIGTERM while no core runs: straight to the end', async (t) => {
  const init = new Init(t, { modes: ['crash-exit'], args: ['--max-failed-starts', '0', '--grace', '30s'] });
  // The fifth failure is followed by 800 ms without a core.
  await until(() => /failed start 5\): next start in 800 ms/.test(init.output), 'five failed starts');
  init.child.kill('SIGTERM');
  t.same(await init.exited, { code: 0, signal: null });
  t.match(init.output, /SIGTERM and no core runs: killing what is left/);
});

t.test('SIGHUP reloads, SIGUSR1 is ignored, SIGINT stops a subreaper', async (t) => {
  const init = new Init(t);
  const core = await init.ready();
  init.child.kill('SIGHUP');
  await init.waitFor((evs) => evs.some((e) => e.ev === 'reload' && e.core === core), 'reload at the core');
  init.child.kill('SIGUSR1');
  await until(() => init.output.includes('SIGUSR1 ignored'), 'SIGUSR1 logged');
  t.notMatch(init.output, /Debugger listening/, 'no inspector opened');
  t.equal(init.child.exitCode, null, 'init still runs');
  init.child.kill('SIGINT');
  t.same(await init.exited, { code: 0, signal: null });
  t.match(init.events().find((e) => e.ev === 'shutdown'), { reason: 'SIGINT' }, 'SIGINT means stop here');
});
