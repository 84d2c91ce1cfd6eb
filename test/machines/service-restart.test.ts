import t from 'tap';
import type { RestartPolicy, ServiceConfig } from '../../specs/types.js';
import { Sim, cmd } from './harness.js';

/** Drive a service to one of systemd's exit causes; returns the Sim once the run has ended. */
const causes: Record<string, (over: Partial<ServiceConfig>) => Sim> = {
  'clean exit': (over) => new Sim(over).do('START').exit('main', { code: 0, signal: null }),
  'exit code': (over) => new Sim(over).do('START').exit('main', { code: 1, signal: null }),
  'unclean signal': (over) => new Sim(over).do('START').exit('main', { code: null, signal: 'SIGSEGV', core: true }),
  timeout: (over) => new Sim({ Type: 'notify', TimeoutStartSec: 100, ...over }).do('START').fire(),
  watchdog: (over) => new Sim({ WatchdogSec: 100, ...over }).do('START').fire(),
};

// systemd.service(5), "Table 2. Exit causes and the effect of the Restart= settings".
const table: Record<RestartPolicy, string[]> = {
  no: [],
  always: ['clean exit', 'exit code', 'unclean signal', 'timeout', 'watchdog'],
  'on-success': ['clean exit'],
  'on-failure': ['exit code', 'unclean signal', 'timeout', 'watchdog'],
  'on-abnormal': ['unclean signal', 'timeout', 'watchdog'],
  'on-abort': ['unclean signal'],
  'on-watchdog': ['watchdog'],
};

t.test('Restart= against every exit cause', async (t) => {
  for (const [policy, restarts] of Object.entries(table) as [RestartPolicy, string[]][]) {
    for (const [cause, run] of Object.entries(causes)) {
      const s = run({ Restart: policy });
      const clean = cause === 'clean exit';
      const want = restarts.includes(cause) ? 'auto-restart' : clean ? 'dead' : 'failed';
      t.equal(s.state, want, `Restart=${policy}, ${cause}`);
      t.equal(s.ctx.failures, clean ? 0 : 1, `Restart=${policy}, ${cause}: failures`);
    }
  }
});

t.test('the results the causes leave behind', async (t) => {
  const result = (cause: string) => causes[cause]({}).ctx.result;
  t.equal(result('exit code'), 'exit-code');
  t.equal(result('unclean signal'), 'core-dump');
  t.equal(result('timeout'), 'timeout');
  t.equal(result('watchdog'), 'watchdog');
});

t.test('auto-restart: RestartSec= later the service starts again, and NRestarts counts it', async (t) => {
  const s = new Sim({ Restart: 'on-failure', RestartSec: 2_000, ExecStartPre: [cmd('true')] }).do('START');
  s.now = 5_000;
  s.exit('main', { code: 1, signal: null });
  t.equal(s.state, 'auto-restart');
  t.equal(s.active, 'activating');
  t.equal(s.ctx.deadline, 7_000);
  t.equal(s.ctx.nRestarts, 0);
  t.equal(s.ctx.mainPid, null);
  s.advance(1_999);
  t.equal(s.state, 'auto-restart');
  s.advance(1);
  t.equal(s.state, 'running');
  t.equal(s.ctx.nRestarts, 1);
  t.equal(s.ctx.result, 'success', 'a new run starts with a clean result');
  t.equal(s.ctx.mainExit, null);
  t.equal(s.ctx.failures, 1, 'failures is not reset by the restart');
  t.same(s.spawned, ['ExecStartPre:true', 'ExecStart:daemon', 'ExecStartPre:true', 'ExecStart:daemon']);
});

t.test('START during auto-restart starts at once', async (t) => {
  const s = new Sim({ Restart: 'always', RestartSec: 60_000 }).do('START');
  s.exit('main', { code: 0, signal: null });
  t.equal(s.state, 'auto-restart');
  s.do('START');
  t.equal(s.state, 'running');
  t.equal(s.ctx.nRestarts, 1);
});

t.test('a manual START resets NRestarts', async (t) => {
  const s = new Sim({ Restart: 'always', RestartSec: 0 }).do('START');
  s.exit('main', { code: 0, signal: null }).fire();
  t.equal(s.ctx.nRestarts, 1);
  s.do('STOP').do('START');
  t.equal(s.ctx.nRestarts, 0);
});

t.test('no restart after an explicit STOP', async (t) => {
  const s = new Sim({ Restart: 'always' }).do('START').do('STOP');
  t.equal(s.state, 'dead');
});

t.test('RestartPreventExitStatus= blocks the restart', async (t) => {
  const over = { Restart: 'always' as const, RestartPreventExitStatus: { codes: [42], signals: ['SIGUSR1'] } };
  t.equal(new Sim(over).do('START').exit('main', { code: 42, signal: null }).state, 'failed');
  t.equal(new Sim(over).do('START').exit('main', { code: null, signal: 'SIGUSR1' }).state, 'failed');
  t.equal(new Sim(over).do('START').exit('main', { code: 43, signal: null }).state, 'auto-restart');
});

t.test('SuccessExitStatus= makes listed codes and signals clean', async (t) => {
  const over = { Restart: 'on-failure' as const, SuccessExitStatus: { codes: [75], signals: ['SIGUSR2'] } };
  const code = new Sim(over).do('START').exit('main', { code: 75, signal: null });
  t.equal(code.state, 'dead');
  t.equal(code.ctx.result, 'success');
  const sig = new Sim(over).do('START').exit('main', { code: null, signal: 'SIGUSR2' });
  t.equal(sig.state, 'dead');
  t.equal(new Sim(over).do('START').exit('main', { code: 76, signal: null }).state, 'auto-restart');
});

t.test('SIGTERM ends a daemon cleanly even when it exits on its own', async (t) => {
  const s = new Sim({ Restart: 'on-failure' }).do('START').exit('main', { code: null, signal: 'SIGTERM' });
  t.equal(s.state, 'dead');
  t.equal(s.ctx.result, 'success');
});

t.test('the main process exiting on its own runs ExecStop= only when it exited cleanly (systemd)', async (t) => {
  const conf = { ExecStop: [cmd('true')], ExecStopPost: [cmd('true')] };
  const clean = new Sim(conf).do('START').exit('main', { code: 0, signal: null });
  t.same(clean.spawned.slice(1), ['ExecStop:true', 'ExecStopPost:true']);
  const bad = new Sim(conf).do('START').exit('main', { code: 9, signal: null });
  t.same(bad.spawned.slice(1), ['ExecStopPost:true']);
});

t.test('start limit: the burst+1st start within the interval is refused with start-limit-hit', async (t) => {
  const s = new Sim({ StartLimitBurst: 3, StartLimitIntervalSec: 10_000, ExecStart: [cmd('false')] });
  for (let i = 1; i <= 3; i++) {
    s.now += 100;
    s.do('START');
    t.equal(s.ctx.result, 'exit-code', `start ${i} runs`);
    t.equal(s.ctx.failures, i);
  }
  s.now += 100;
  s.do('START');
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'start-limit-hit');
  t.equal(s.ctx.failures, 4);
  t.equal(s.procs.length, 3, 'the fourth start ran nothing');
  s.now += 10_000;
  s.do('START');
  t.equal(s.ctx.result, 'exit-code', 'a new window lets it start again');
  t.equal(s.procs.length, 4);
});

t.test('auto-restarts count against the start limit, and hitting it ends the restarts', async (t) => {
  const s = new Sim({ Restart: 'always', RestartSec: 10, StartLimitBurst: 3, StartLimitIntervalSec: 10_000, ExecStart: [cmd('exit:1')] });
  s.do('START');
  for (let i = 0; i < 5 && s.state === 'auto-restart'; i++) s.fire();
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'start-limit-hit');
  t.equal(s.procs.length, 3);
  t.equal(s.ctx.nRestarts, 3, 'the refused restart was still scheduled');
  t.equal(s.ctx.failures, 4, 'three failed runs and the refusal');
  t.equal(s.ctx.deadline, null);
  s.advance(60_000);
  t.equal(s.state, 'failed', 'start-limit-hit never restarts');
});

t.test('failures rises once per failed run, also when the unit restarts', async (t) => {
  const s = new Sim({ Restart: 'on-failure', RestartSec: 0, ExecStopPost: [cmd('false')] }).do('START');
  s.exit('main', { code: 1, signal: null });
  t.equal(s.ctx.failures, 1, 'a failing ExecStopPost= in the same run does not count twice');
  s.fire().exit('main', { code: 1, signal: null });
  t.equal(s.ctx.failures, 2);
  t.equal(s.state, 'auto-restart');
});

t.test('RESET_FAILED: failed → dead, counters reset, failures kept', async (t) => {
  const s = new Sim({ StartLimitBurst: 1, ExecStart: [cmd('false')] }).do('START');
  s.do('START');
  t.equal(s.ctx.result, 'start-limit-hit');
  t.equal(s.ctx.startTimes.length, 1);
  s.do('RESET_FAILED');
  t.equal(s.state, 'dead');
  t.equal(s.active, 'inactive');
  t.equal(s.ctx.result, 'success');
  t.same(s.ctx.startTimes, []);
  t.equal(s.ctx.nRestarts, 0);
  t.equal(s.ctx.failures, 2);
  s.do('START');
  t.equal(s.procs.length, 2, 'the start limit was reset');
});

t.test('RESET_FAILED in other states changes no state', async (t) => {
  const s = new Sim().do('START').do('RESET_FAILED');
  t.equal(s.state, 'running');
});
