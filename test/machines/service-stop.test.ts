import t from 'tap';
import { Sim, cmd } from './harness.js';

t.test('STOP of a running service: KillSignal to main and control, then dead', async (t) => {
  const s = new Sim({ KillMode: 'mixed', KillSignal: 'SIGINT' }).do('START');
  const main = s.ctx.mainPid;
  s.now = 3_000;
  s.do('STOP');
  t.equal(s.state, 'dead');
  t.equal(s.ctx.result, 'success', 'SIGINT ends a daemon cleanly');
  t.same(s.kills[0], { signal: 'SIGINT', mainPid: main, controlPid: null, mode: 'mixed' });
  t.equal(s.ctx.since, 3_000);
  t.equal(s.ctx.mainPid, null);
  t.equal(s.ctx.deadline, null);
});

t.test('ExecStop= runs first, with the main process still there; then the kill', async (t) => {
  const s = new Sim({ ExecStop: [cmd('true'), cmd('true')], ExecStopPost: [cmd('true')] }).do('START');
  s.send({ type: 'STOP' });
  t.equal(s.state, 'stop');
  t.equal(s.active, 'deactivating');
  t.equal(s.kills.length, 0, 'no signal while ExecStop= runs');
  s.settle();
  t.same(s.spawned.slice(1), ['ExecStop:true', 'ExecStop:true', 'ExecStopPost:true']);
  t.equal(s.state, 'dead');
  t.same(s.procs[0].signals, ['SIGTERM']);
});

t.test('a failing ExecStop= fails the unit and skips the rest of ExecStop=', async (t) => {
  const s = new Sim({ ExecStop: [cmd('false'), cmd('true')] }).do('START').do('STOP');
  t.same(s.spawned.slice(1), ['ExecStop:false']);
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'exit-code');
});

t.test('an ExecStop= that hangs past TimeoutStopSec= is terminated with everything else', async (t) => {
  const s = new Sim({ ExecStop: [cmd('daemon')], TimeoutStopSec: 300 }).do('START').do('STOP');
  t.equal(s.state, 'stop');
  s.advance(300);
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'timeout');
  t.same(
    s.procs.map((p) => p.signals),
    [['SIGTERM'], ['SIGTERM']],
  );
});

t.test('stop escalation: SIGTERM, then SIGKILL when TimeoutStopSec= passes', async (t) => {
  const s = new Sim({ ExecStart: [cmd('stubborn')], TimeoutStopSec: 1_000 }).do('START');
  s.do('STOP');
  t.equal(s.state, 'stop-sigterm');
  t.equal(s.ctx.deadline, s.now + 1_000);
  s.advance(999);
  t.equal(s.state, 'stop-sigterm');
  s.advance(1);
  t.same(s.procs[0].signals, ['SIGTERM', 'SIGKILL']);
  t.equal(s.state, 'failed', 'a stop that needed SIGKILL ends failed, as in systemd');
  t.equal(s.ctx.result, 'timeout');
  t.equal(s.ctx.failures, 1);
});

t.test('SendSIGKILL=no: the process is left alone after the timeouts', async (t) => {
  const s = new Sim({ ExecStart: [cmd('stubborn')], TimeoutStopSec: 1_000, SendSIGKILL: false }).do('START');
  s.do('STOP');
  s.fire();
  t.equal(s.state, 'stop-post', 'ExecStopPost= time, the process still there');
  s.fire();
  t.equal(s.state, 'final-sigterm');
  s.fire();
  t.equal(s.state, 'failed');
  t.ok(s.procs[0].alive, 'never SIGKILLed');
  t.notOk(s.procs[0].signals.includes('SIGKILL'));
  t.equal(s.ctx.mainPid, null, 'the machine gave up on it');
});

t.test('a process that survives SIGKILL: give up, run ExecStopPost=, end failed', async (t) => {
  const s = new Sim({ ExecStart: [cmd('immortal')], ExecStopPost: [cmd('true')], TimeoutStopSec: 100 }).do('START');
  s.do('STOP').fire();
  t.equal(s.state, 'stop-sigkill');
  s.fire();
  t.equal(s.state, 'stop-post', 'ExecStopPost= waits for the main process too');
  t.same(s.spawned.slice(1), ['ExecStopPost:true']);
  s.fire().fire().fire();
  t.equal(s.state, 'failed');
  t.equal(s.ctx.mainPid, null);
  t.equal(s.ctx.deadline, null);
  t.same(s.procs[0].signals, ['SIGTERM', 'SIGKILL', 'SIGTERM', 'SIGKILL']);
});

t.test('STOP during ExecStartPre= kills the control process and cancels the start', async (t) => {
  const s = new Sim({ ExecStartPre: [cmd('daemon'), cmd('true')], Restart: 'always' }).do('START');
  t.equal(s.state, 'start-pre');
  s.do('STOP');
  t.same(s.spawned, ['ExecStartPre:daemon'], 'neither the next ExecStartPre= nor ExecStart= ran');
  t.same(s.procs[0].signals, ['SIGTERM']);
  // systemd: a control process killed by a signal is a failure, and a stopped unit never restarts.
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'signal');
});

t.test('STOP during Type=notify start skips ExecStop= and kills the main process', async (t) => {
  const s = new Sim({ Type: 'notify', ExecStop: [cmd('true')], ExecStopPost: [cmd('true')] }).do('START');
  s.do('STOP');
  t.same(s.spawned, ['ExecStart:daemon', 'ExecStopPost:true']);
  t.equal(s.state, 'dead');
});

t.test('STOP before the runtime reported SPAWNED: the process is killed once it is known', async (t) => {
  const s = new Sim();
  s.send({ type: 'START' });
  s.send({ type: 'STOP' });
  t.equal(s.state, 'stop-sigterm', 'it waits for the pending process');
  s.settle();
  t.equal(s.state, 'dead');
  t.equal(s.procs.length, 1);
  t.same(s.procs[0].signals, ['SIGTERM']);
  t.equal(s.alive.length, 0);
});

t.test('SPAWN_FAILED while stopping just ends the wait', async (t) => {
  const s = new Sim({ ExecStart: [cmd('missing')] });
  s.send({ type: 'START' }).send({ type: 'STOP' }).settle();
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'exit-code');
});

t.test('a SPAWNED nobody waits for is killed, not adopted', async (t) => {
  const s = new Sim();
  s.send({ type: 'SPAWNED', role: 'main', pid: 777 });
  t.equal(s.ctx.mainPid, null);
  t.same(s.kills, [{ signal: 'SIGKILL', mainPid: 777, controlPid: null, mode: 'process' }]);
});

t.test('STOP in dead or failed does nothing', async (t) => {
  const s = new Sim().do('STOP');
  t.equal(s.state, 'dead');
  t.equal(s.kills.length, 0);
  const f = new Sim({ ExecStart: [cmd('missing')] }).do('START').do('STOP');
  t.equal(f.state, 'failed');
});

t.test('STOP while already stopping keeps stopping, and forbids the restart', async (t) => {
  const s = new Sim({ Type: 'notify', ExecStart: [cmd('stubborn')], Restart: 'always' }).do('START').notify({ READY: '1' });
  s.notify({ STOPPING: '1' });
  t.equal(s.state, 'stop-sigterm');
  s.do('STOP');
  t.equal(s.state, 'stop-sigterm');
  s.exit('main', { code: 0, signal: null });
  t.equal(s.state, 'dead');
});

t.test('STOP in auto-restart cancels the restart', async (t) => {
  const s = new Sim({ Restart: 'always', RestartSec: 500 }).do('START');
  s.exit('main', { code: 1, signal: null });
  t.equal(s.state, 'auto-restart');
  s.do('STOP');
  t.equal(s.state, 'dead');
  t.equal(s.ctx.deadline, null);
  s.advance(10_000);
  t.equal(s.state, 'dead');
  t.equal(s.procs.length, 1);
});

t.test('KillMode=none signals nothing, and the machine still waits for the processes', async (t) => {
  const s = new Sim({ KillMode: 'none', TimeoutStopSec: 100 }).do('START').do('STOP');
  t.equal(s.kills[0].mode, 'none');
  t.equal(s.state, 'stop-sigterm');
  s.exit('main', { code: 0, signal: null });
  t.equal(s.state, 'dead');
});
