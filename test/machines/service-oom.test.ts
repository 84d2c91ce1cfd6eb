// OOMPolicy=: the kernel's OOM killer killed a process of the unit's cgroup (not the main one's own end: that is
// an EXIT with oom). systemd's service_notify_cgroup_oom_event().
import t from 'tap';
import { Sim, cmd } from './harness.js';

t.test('OOMPolicy=stop (the default): the unit stops, SIGTERM first, result oom-kill; Restart=on-failure restarts it', async (t) => {
  const s = new Sim({ Restart: 'no' }).do('START');
  t.equal(s.state, 'running');
  s.send({ type: 'OOM' }).settle();
  t.equal(s.kills[0]?.signal, 'SIGTERM', 'SIGTERM first');
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'oom-kill');
  const r = new Sim({ Restart: 'on-failure' }).do('START').send({ type: 'OOM' }).settle();
  t.equal(r.state, 'auto-restart', 'Restart=on-failure sees oom-kill as a failure');
});

t.test('OOMPolicy=kill: SIGKILL at once, result oom-kill', async (t) => {
  const s = new Sim({ OOMPolicy: 'kill' }).do('START').send({ type: 'OOM' }).settle();
  // Then the usual end of a stop: final-sigterm for whatever is left.
  t.equal(s.kills[0]?.signal, 'SIGKILL', 'SIGKILL first, no SIGTERM before it');
  t.equal(s.state, 'failed');
  t.equal(s.ctx.result, 'oom-kill');
});

t.test('OOMPolicy=continue: nothing changes', async (t) => {
  const s = new Sim({ OOMPolicy: 'continue' }).do('START').send({ type: 'OOM' }).settle();
  t.equal(s.state, 'running');
  t.equal(s.ctx.result, 'success');
  t.same(s.kills, []);
});

t.test('while starting: ExecStartPre= is stopped the same way; at rest an OOM event changes nothing', async (t) => {
  const s = new Sim({ ExecStartPre: [cmd('immortal')] });
  s.send({ type: 'START' }).settle();
  t.equal(s.state, 'start-pre');
  s.send({ type: 'OOM' }).settle();
  t.equal(s.ctx.result, 'oom-kill');
  t.not(s.state, 'running', 'it never gets to run');
  const rest = new Sim().send({ type: 'OOM' }).settle();
  t.equal(rest.state, 'dead');
  t.equal(rest.ctx.result, 'success');
});
