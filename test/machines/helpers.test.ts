import t from 'tap';
import { exitListed, exitResult } from '../../machines/exit.js';
import { checkStart } from '../../machines/ratelimit.js';
import { restartAllowed } from '../../machines/restart.js';
import type { RestartPolicy } from '../../specs/types.js';

const none = { codes: [], signals: [] };
const code = (c: number) => ({ code: c, signal: null, core: false });
const sig = (s: string, core = false) => ({ code: null, signal: s, core });

t.test('exitResult: exit codes', async (t) => {
  t.equal(exitResult(code(0), none, false), 'success');
  t.equal(exitResult(code(1), none, false), 'exit-code');
  t.equal(exitResult(code(75), { codes: [75], signals: [] }, false), 'success', 'SuccessExitStatus lists it');
  t.equal(exitResult(code(203), none, true), 'exit-code');
});

t.test('exitResult: signals are clean only for daemons, or when listed', async (t) => {
  for (const s of ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE']) {
    t.equal(exitResult(sig(s), none, true), 'success', `${s} ends a daemon cleanly`);
    t.equal(exitResult(sig(s), none, false), 'signal', `${s} fails a command`);
  }
  t.equal(exitResult(sig('SIGKILL'), none, true), 'signal');
  t.equal(exitResult(sig('SIGUSR1'), { codes: [], signals: ['SIGUSR1'] }, false), 'success');
  t.equal(exitResult(sig('SIGTERM', true), none, true), 'core-dump', 'a core dump is never clean');
});

t.test('exitListed', async (t) => {
  const set = { codes: [3], signals: ['SIGUSR2'] };
  t.ok(exitListed(code(3), set));
  t.notOk(exitListed(code(4), set));
  t.ok(exitListed(sig('SIGUSR2'), set));
  t.notOk(exitListed(sig('SIGTERM'), set));
  t.notOk(exitListed(null, set));
});

t.test('restartAllowed follows systemd.service(5)', async (t) => {
  // Rows: the results; columns as in the man page. X = restart.
  const columns: RestartPolicy[] = ['no', 'always', 'on-success', 'on-failure', 'on-abnormal', 'on-abort', 'on-watchdog'];
  const table = {
    success: '.XX....',
    'exit-code': '.X.X...',
    signal: '.X.XXX.',
    'core-dump': '.X.XXX.',
    timeout: '.X.XX..',
    watchdog: '.X.XX.X',
    'start-limit-hit': '.......',
  } as const;
  for (const [result, row] of Object.entries(table)) {
    columns.forEach((policy, i) => {
      t.equal(restartAllowed(policy, result as keyof typeof table), row[i] === 'X', `${policy} × ${result}`);
    });
  }
});

t.test('checkStart: a window of `burst` starts that opens at the first one', async (t) => {
  let times: number[] = [];
  const at = (now: number) => {
    const r = checkStart(times, now, 1000, 3);
    times = r.times;
    return r.ok;
  };
  t.same([at(0), at(100), at(200), at(300), at(1000)], [true, true, true, false, false]);
  t.ok(at(1001), 'the window closed 1000 ms after it opened');
  t.same(times, [1001]);
  t.ok(checkStart([0, 0, 0], 1, 0, 3).ok, 'interval 0 turns the limit off');
  t.ok(checkStart([0, 0, 0], 1, 1000, 0).ok, 'burst 0 turns the limit off');
});
