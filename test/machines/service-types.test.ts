import t from 'tap';
import { SERVICE_ACTIVE, serviceMachine } from '../../machines/service.js';
import { Sim, cmd } from './harness.js';

t.test('the public state map covers every state of the machine, and nothing else', async (t) => {
  t.same(Object.keys(SERVICE_ACTIVE).sort(), Object.keys(serviceMachine.states).sort());
  t.same(
    Object.fromEntries(Object.entries(SERVICE_ACTIVE).filter(([, a]) => a !== 'deactivating')),
    {
      dead: 'inactive',
      'start-pre': 'activating',
      start: 'activating',
      'start-post': 'activating',
      'auto-restart': 'activating',
      running: 'active',
      exited: 'active',
      reload: 'reloading',
      failed: 'failed',
    },
  );
});

t.test('Type=simple is running once the main process is spawned', async (t) => {
  const s = new Sim({ ExecStartPre: [cmd('true')], ExecStartPost: [cmd('true')] });
  t.equal(s.state, 'dead');
  t.equal(s.active, 'inactive');
  s.now = 2_000;
  s.send({ type: 'START' });
  t.equal(s.state, 'start-pre');
  t.equal(s.ctx.since, 2_000, 'since dates the change to activating');
  s.settle();
  t.equal(s.state, 'running');
  t.same(s.spawned, ['ExecStartPre:true', 'ExecStart:daemon', 'ExecStartPost:true']);
  t.equal(s.ctx.mainPid, s.alive[0].pid);
  t.equal(s.ctx.controlPid, null);
  t.equal(s.ctx.deadline, null, 'no timer while running without a watchdog');
});

t.test('Type=exec: a failed exec is exit status 203', async (t) => {
  const s = new Sim({ Type: 'exec', ExecStart: [cmd('missing')] }).do('START');
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'exit-code');
  t.same(s.ctx.mainExit, { pid: 0, code: 203, signal: null, core: false });
  t.equal(s.ctx.failures, 1);
  const ok = new Sim({ Type: 'exec' }).do('START');
  t.equal(ok.state, 'running');
});

t.test('Type=notify waits for READY=1 from the main process', async (t) => {
  const s = new Sim({ Type: 'notify', NotifyAccess: 'main' }).do('START');
  t.equal(s.state, 'start');
  t.not(s.ctx.mainPid, null);
  s.notify({ STATUS: 'warming up' });
  t.equal(s.state, 'start');
  t.equal(s.ctx.statusText, 'warming up');
  s.notify({ READY: '1' });
  t.equal(s.state, 'running');
});

t.test('Type=notify whose main process exits cleanly before READY=1 fails with protocol', async (t) => {
  const s = new Sim({ Type: 'notify' }).do('START');
  s.exit('main', { code: 0, signal: null });
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'protocol');
});

t.test('Type=notify with RemainAfterExit and NotifyAccess=all may still get READY=1 from another process', async (t) => {
  const s = new Sim({ Type: 'notify', RemainAfterExit: true, NotifyAccess: 'all' }).do('START');
  s.exit('main', { code: 0, signal: null });
  t.equal(s.state, 'start');
  s.notify({ READY: '1' }, 4242);
  t.equal(s.state, 'exited');
  t.equal(s.active, 'active');
});

t.test('Type=oneshot runs ExecStart= one after another, then goes back to dead', async (t) => {
  const s = new Sim({ Type: 'oneshot', ExecStart: [cmd('true'), cmd('exit:0')], ExecStartPost: [cmd('true')] });
  s.now = 5_000;
  s.do('START');
  t.same(s.spawned, ['ExecStart:true', 'ExecStart:exit:0', 'ExecStartPost:true']);
  t.equal(s.state, 'dead');
  t.equal(s.ctx.result, 'success');
  t.equal(s.ctx.failures, 0);
  t.equal(s.ctx.since, 5_000, 'it went through activating, so since moved');
  t.same(s.ctx.mainExit?.code, 0);
});

t.test('Type=oneshot with RemainAfterExit stays exited until stopped', async (t) => {
  const s = new Sim({ Type: 'oneshot', RemainAfterExit: true, ExecStart: [cmd('true')], ExecStop: [cmd('true')] });
  s.do('START');
  t.equal(s.state, 'exited');
  t.equal(s.ctx.deadline, null);
  t.equal(s.ctx.mainPid, null);
  s.do('STOP');
  t.equal(s.state, 'dead');
  t.same(s.spawned, ['ExecStart:true', 'ExecStop:true']);
});

t.test('Type=oneshot without ExecStart= is exited at once with RemainAfterExit', async (t) => {
  const s = new Sim({ Type: 'oneshot', RemainAfterExit: true, ExecStart: [] }).do('START');
  t.equal(s.state, 'exited');
});

t.test('Type=oneshot stops at the first failing command, unless it has the - prefix', async (t) => {
  const bad = new Sim({ Type: 'oneshot', ExecStart: [cmd('true'), cmd('exit:3'), cmd('true')], ExecStopPost: [cmd('true')] });
  bad.do('START');
  t.same(bad.spawned, ['ExecStart:true', 'ExecStart:exit:3', 'ExecStopPost:true']);
  t.equal(bad.state, 'failed');
  t.equal(bad.ctx.result, 'exit-code');
  t.equal(bad.ctx.mainExit?.code, 3);

  const dash = new Sim({ Type: 'oneshot', ExecStart: [cmd('exit:3', true), cmd('true')] }).do('START');
  t.same(dash.spawned, ['ExecStart:exit:3', 'ExecStart:true']);
  t.equal(dash.state, 'dead');
  t.equal(dash.ctx.result, 'success');
});

t.test('Type=oneshot: SIGTERM is not a clean end for a command', async (t) => {
  const s = new Sim({ Type: 'oneshot', ExecStart: [cmd('signal:SIGTERM')] }).do('START');
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'signal');
});

t.test('Type=forking reads PIDFile= once ExecStart= has exited 0', async (t) => {
  const s = new Sim({ Type: 'forking', ExecStart: [cmd('true')], PIDFile: '/run/d.pid' }).do('START');
  t.same(s.pidFileReads, ['/run/d.pid']);
  t.equal(s.state, 'running');
  const daemon = s.procs.find((p) => p.phase === 'PIDFile');
  t.equal(s.ctx.mainPid, daemon?.pid);
  t.equal(s.procs[0].role, 'control', 'ExecStart of a forking service is a control process');
  s.do('STOP');
  t.equal(s.state, 'dead');
  t.same(daemon?.signals, ['SIGTERM']);
});

t.test('Type=forking: a PID file that never appears', async (t) => {
  const s = new Sim({ Type: 'forking', ExecStart: [cmd('true')], PIDFile: '/run/d.pid' });
  s.pidFile = null;
  s.do('START');
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'protocol');

  const post = new Sim({ Type: 'forking', ExecStart: [cmd('true')], PIDFile: '/run/d.pid', ExecStartPost: [cmd('true')] });
  post.pidFile = null;
  post.do('START');
  t.equal(post.state, 'running', 'ExecStartPost= may be what writes it: go on with the main pid unknown');
  t.equal(post.ctx.mainPid, null);
});

t.test('Type=forking without PIDFile= runs with the main pid unknown until stopped', async (t) => {
  const s = new Sim({ Type: 'forking', ExecStart: [cmd('true')] }).do('START');
  t.equal(s.state, 'running');
  t.equal(s.ctx.mainPid, null);
  t.equal(s.pidFileReads.length, 0);
  s.do('STOP');
  t.equal(s.state, 'dead');
  t.equal(s.ctx.result, 'success');
});

t.test('Type=forking: a failing ExecStart= fails the start', async (t) => {
  const s = new Sim({ Type: 'forking', ExecStart: [cmd('exit:2')], PIDFile: '/run/d.pid' }).do('START');
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'exit-code');
  t.equal(s.pidFileReads.length, 0);
});

t.test('ExecStartPre= runs in order as control processes; a failure stops the start', async (t) => {
  const s = new Sim({ ExecStartPre: [cmd('true'), cmd('false'), cmd('true')], ExecStopPost: [cmd('true')] }).do('START');
  t.same(s.spawned, ['ExecStartPre:true', 'ExecStartPre:false', 'ExecStopPost:true']);
  t.ok(s.procs.slice(0, 2).every((p) => p.role === 'control'));
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'exit-code');
  t.equal(s.ctx.failures, 1);
  t.equal(s.ctx.mainExit, null, 'the main process never ran');
});

t.test('ExecStartPre= with the - prefix may fail', async (t) => {
  const s = new Sim({ ExecStartPre: [cmd('false', true)] }).do('START');
  t.equal(s.state, 'running');
});

t.test('ExecStartPre= that cannot be executed fails like exit status 203', async (t) => {
  const s = new Sim({ ExecStartPre: [cmd('missing')] }).do('START');
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'exit-code');
  t.same(s.spawned, [], 'nothing ran');
});

t.test('a failing ExecStartPost= kills the started main process', async (t) => {
  const s = new Sim({ ExecStartPost: [cmd('exit:4')] }).do('START');
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'exit-code');
  const main = s.procs.find((p) => p.role === 'main');
  t.same(main?.signals, ['SIGTERM']);
  t.equal(s.alive.length, 0);
  t.equal(s.ctx.mainPid, null);
});

t.test('the start timeout covers every start phase together', async (t) => {
  const s = new Sim({ ExecStartPre: [cmd('stubborn')], TimeoutStartSec: 500, TimeoutStopSec: 200 }).do('START');
  t.equal(s.ctx.deadline, 1_500);
  s.advance(499);
  t.equal(s.state, 'start-pre');
  s.advance(1);
  t.equal(s.state, 'stop-sigterm');
  t.equal(s.ctx.result, 'timeout');
  t.equal(s.ctx.deadline, 1_700);
  s.fire();
  t.equal(s.state, 'failed');
  t.same(s.procs[0].signals, ['SIGTERM', 'SIGKILL']);
});

t.test('a TIMEOUT before the deadline is stale and ignored', async (t) => {
  const s = new Sim({ ExecStartPre: [cmd('daemon')], TimeoutStartSec: 500 }).do('START');
  s.now += 100;
  s.send({ type: 'TIMEOUT' });
  t.equal(s.state, 'start-pre');
  t.equal(s.ctx.result, 'success');
});

t.test('TimeoutStartSec=infinity arms no timer', async (t) => {
  const s = new Sim({ Type: 'notify', TimeoutStartSec: Infinity }).do('START');
  t.equal(s.state, 'start');
  t.equal(s.ctx.deadline, null);
});

t.test('EXIT of a pid the service does not own is ignored', async (t) => {
  const s = new Sim().do('START');
  const before = s.actor.getSnapshot();
  s.send({ type: 'EXIT', pid: 99_999, code: 1, signal: null, core: false });
  t.equal(s.state, 'running');
  t.equal(s.actor.getSnapshot().context, before.context);
});
