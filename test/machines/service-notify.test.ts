import t from 'tap';
import { Sim, cmd } from './harness.js';

const notify = { Type: 'notify' as const, NotifyAccess: 'main' as const };
/** A Type=notify service that has sent READY=1. */
const ready = (over = {}) => new Sim({ ...notify, ...over }).do('START').notify({ READY: '1' });

t.test('RELOAD runs ExecReload= and goes back to running', async (t) => {
  const s = new Sim({ ExecReload: [cmd('true'), cmd('true')] }).do('START');
  s.now = 4_000;
  s.send({ type: 'RELOAD' });
  t.equal(s.state, 'reload');
  t.equal(s.active, 'reloading');
  t.equal(s.ctx.since, 4_000);
  t.equal(s.ctx.reloadResult, null);
  s.settle();
  t.equal(s.state, 'running');
  t.equal(s.ctx.reloadResult, 'success');
  t.same(s.spawned, ['ExecStart:daemon', 'ExecReload:true', 'ExecReload:true']);
});

t.test('a failed reload fails the reload, not the service', async (t) => {
  const s = new Sim({ ExecReload: [cmd('false'), cmd('true')], Restart: 'on-failure' }).do('START').do('RELOAD');
  t.equal(s.state, 'running');
  t.equal(s.ctx.reloadResult, 'failed');
  t.equal(s.ctx.result, 'success');
  t.equal(s.ctx.failures, 0);
  t.same(s.spawned, ['ExecStart:daemon', 'ExecReload:false']);
  s.do('RELOAD');
  t.equal(s.ctx.reloadResult, 'failed', 'the second reload fails the same way');
  const spawnFail = new Sim({ ExecReload: [cmd('missing')] }).do('START').do('RELOAD');
  t.equal(spawnFail.state, 'running');
  t.equal(spawnFail.ctx.reloadResult, 'failed');
});

t.test('a reload that outlives TimeoutStartSec= is killed and failed', async (t) => {
  const s = new Sim({ ExecReload: [cmd('stubborn')], TimeoutStartSec: 300 }).do('START').do('RELOAD');
  t.equal(s.ctx.deadline, s.now + 300);
  s.fire();
  t.equal(s.state, 'running');
  t.equal(s.ctx.reloadResult, 'failed');
  t.same(s.procs[1].signals, ['SIGKILL']);
  t.same(s.procs[0].signals, [], 'the main process is left alone');
});

t.test('RELOAD without ExecReload= is ignored; RELOAD of an exited service runs it', async (t) => {
  const s = new Sim().do('START').do('RELOAD');
  t.equal(s.state, 'running');
  t.equal(s.procs.length, 1);
  const x = new Sim({ Type: 'oneshot', RemainAfterExit: true, ExecStart: [cmd('true')], ExecReload: [cmd('true')] });
  x.do('START').do('RELOAD');
  t.equal(x.state, 'exited');
  t.equal(x.ctx.reloadResult, 'success');
});

t.test('the main process dying during a reload fails the service once the reload is over', async (t) => {
  const s = new Sim({ ExecReload: [cmd('daemon')] }).do('START').do('RELOAD');
  s.exit('main', { code: 3, signal: null });
  t.equal(s.state, 'reload', 'waits for ExecReload=');
  s.exit('control', { code: 0, signal: null });
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'exit-code');
});

t.test('STOP during a reload kills everything', async (t) => {
  const s = new Sim({ ExecReload: [cmd('daemon')], ExecStop: [cmd('true')] }).do('START').do('RELOAD').do('STOP');
  t.same(s.spawned, ['ExecStart:daemon', 'ExecReload:daemon'], 'no ExecStop=');
  t.equal(s.alive.length, 0);
});

t.test('RELOADING=1 … READY=1: a reload the service announces itself', async (t) => {
  const s = ready();
  s.notify({ RELOADING: '1' });
  t.equal(s.state, 'reload');
  t.equal(s.ctx.controlPid, null);
  s.notify({ READY: '1' });
  t.equal(s.state, 'running');
  t.equal(s.ctx.reloadResult, 'success');
});

t.test('STATUS= and ERRNO= are kept; an empty STATUS= clears it', async (t) => {
  const s = ready().notify({ STATUS: 'serving 3 clients', ERRNO: '5' });
  t.equal(s.ctx.statusText, 'serving 3 clients');
  t.equal(s.ctx.statusErrno, 5);
  s.notify({ STATUS: '' });
  t.equal(s.ctx.statusText, null);
  t.equal(s.ctx.statusErrno, 5);
  s.notify({ ERRNO: '' }).notify({ ERRNO: 'EIO' });
  t.equal(s.ctx.statusErrno, 5, 'a value that is not a number is ignored');
  s.do('STOP').do('START');
  t.equal(s.ctx.statusErrno, null, 'a new run starts without the old status');
});

t.test('MAINPID= moves the main process', async (t) => {
  const s = ready();
  const old = s.ctx.mainPid;
  s.notify({ MAINPID: '4321' });
  t.equal(s.ctx.mainPid, 4321);
  s.send({ type: 'EXIT', pid: old, code: 1, signal: null, core: false });
  t.equal(s.state, 'running', 'the old main process is no longer ours');
  s.send({ type: 'EXIT', pid: 4321, code: 0, signal: null, core: false }).settle();
  t.equal(s.state, 'dead');
  s.notify({ MAINPID: '999' });
  t.equal(s.ctx.mainPid, null, 'ignored when dead');
});

t.test('MAINPID= with junk is ignored', async (t) => {
  const s = ready();
  const pid = s.ctx.mainPid;
  s.notify({ MAINPID: 'x' }).notify({ MAINPID: '1' });
  t.equal(s.ctx.mainPid, pid);
});

t.test('STOPPING=1: the service stops by itself; no signal, no ExecStop=', async (t) => {
  const s = ready({ ExecStop: [cmd('true')], TimeoutStopSec: 700 });
  s.notify({ STOPPING: '1' });
  t.equal(s.state, 'stop-sigterm');
  t.equal(s.active, 'deactivating');
  t.equal(s.kills.length, 0);
  t.equal(s.ctx.deadline, s.now + 700);
  s.exit('main', { code: 0, signal: null });
  t.equal(s.state, 'dead');
  t.same(s.spawned, ['ExecStart:daemon']);
});

t.test('STOPPING=1 during the start takes effect once the service is running', async (t) => {
  const s = new Sim({ ...notify, ExecStartPost: [cmd('daemon')] }).do('START').notify({ READY: '1' });
  t.equal(s.state, 'start-post');
  s.notify({ STOPPING: '1' });
  t.equal(s.state, 'start-post');
  s.exit('control', { code: 0, signal: null });
  t.equal(s.state, 'stop-sigterm');
  s.notify({ READY: '1' });
  t.equal(s.ctx.notifyState, 'stopping', 'READY=1 cannot resurrect a stopping service');
});

t.test('WATCHDOG=1 keeps the watchdog from firing', async (t) => {
  const s = ready({ WatchdogSec: 1_000 });
  t.equal(s.ctx.deadline, s.now + 1_000);
  for (let i = 0; i < 5; i++) {
    s.advance(900);
    s.notify({ WATCHDOG: '1' });
  }
  t.equal(s.state, 'running');
  t.equal(s.ctx.deadline, s.now + 1_000);
});

t.test('watchdog expiry: SIGABRT, result watchdog, restart per Restart=', async (t) => {
  const s = ready({ WatchdogSec: 1_000, Restart: 'on-watchdog' });
  s.advance(1_000);
  t.same(s.procs[0].signals, ['SIGABRT']);
  t.equal(s.ctx.result, 'watchdog');
  t.equal(s.state, 'auto-restart');
  t.equal(s.ctx.failures, 1);
});

t.test('WATCHDOG=trigger fails the service at once', async (t) => {
  const s = ready().notify({ WATCHDOG: 'trigger' });
  t.equal(s.ctx.result, 'watchdog');
  t.equal(s.state, 'failed');
  t.same(s.procs[0].signals, ['SIGABRT']);
});

t.test('no watchdog without WatchdogSec=', async (t) => {
  const s = ready().notify({ WATCHDOG: '1' });
  t.equal(s.ctx.deadline, null);
});
