// A spawn that failed before exec (a RuntimeDirectory= that could not be made) carries systemd's exit status for it.
import t from 'tap';
import { createActor } from 'xstate';
import { serviceMachine } from '../../machines/service.js';
import { cmd, serviceConfig } from './harness.js';

const started = (over: Parameters<typeof serviceConfig>[0]) => {
  const a = createActor(serviceMachine, { input: { config: serviceConfig(over), now: 0 } }).start();
  a.send({ type: 'START', now: 1 });
  return a;
};

t.test('the main command: its exit status is the one the runtime gives', async (t) => {
  const a = started({});
  a.send({ type: 'SPAWN_FAILED', role: 'main', error: 'RuntimeDirectory=: cannot make /run/x', code: 233, now: 2 });
  const s = a.getSnapshot();
  t.equal(s.value, 'failed');
  t.equal(s.context.result, 'exit-code');
  t.same(s.context.mainExit, { pid: 0, code: 233, signal: null, core: false });
});

t.test('ExecStartPre=: the start fails the same way; without a status it is 203 (EXIT_EXEC)', async (t) => {
  const a = started({ ExecStartPre: [cmd('pre')] });
  a.send({ type: 'SPAWN_FAILED', role: 'control', error: 'StateDirectory=: cannot make /var/lib/x', code: 238, now: 2 });
  t.equal(a.getSnapshot().value, 'failed');
  t.equal(a.getSnapshot().context.result, 'exit-code');
  const b = started({});
  b.send({ type: 'SPAWN_FAILED', role: 'main', error: 'ENOENT', now: 2 });
  t.same(b.getSnapshot().context.mainExit, { pid: 0, code: 203, signal: null, core: false });
});
