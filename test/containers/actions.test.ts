// Units that end the container: FailureAction = "exit" passes the failed unit's exit status on, [manager]
// DefaultFailureAction = "exit" does it for every unit that fails for good (after Restart= gave up) and sets no
// FailureAction of its own, and SuccessAction = "exit" ends it with 0. Failures without an action leave it running.
// Each failure waits for the test to create /tmp/go-NAME (docker exec), so what happens first is not left to timing.
import t from 'tap';
import { containersUnavailable, eventually, start, type Box } from './harness.js';

const why = containersUnavailable();
const opts = { skip: why ?? false };

interface Unit {
  name: string;
  active: string;
}

/** A shell that waits for /tmp/go-NAME, then runs `then`. ($ is expanded by sysmaster: `$$` for the shell's `$`.) */
const after = (name: string, then: string) => `["/bin/sh", "-c", "until [ -e /tmp/go-${name} ]; do sleep 0.05; done; ${then}"]`;

async function go(box: Box, name: string): Promise<void> {
  const r = await box.exec(['touch', `/tmp/go-${name}`]);
  if (r.code !== 0) throw new Error(`touch /tmp/go-${name}: ${r.stderr}`);
}

async function state(box: Box, name: string, want: string): Promise<void> {
  await eventually(async () => (await box.json<Unit[]>('list-units').catch(() => []))?.find((u) => u.name === name)?.active === want, `${name} ${want}`);
}

const steady = `
[service.steady]
ExecStart = ["/bin/sleep", "1000"]
`;
/** The long-running unit was stopped on the way out, as on docker stop. */
const steadyStopped = /^steady\.service +\| .*→ inactive \(dead\)$/m;

t.test('FailureAction = "exit": the unit that fails ends the container with its exit code', opts, async (t) => {
  const spec = `${steady}
[service.flaky]
ExecStart = ${after('flaky', 'exit 5')}

[service.bad]
FailureAction = "exit"
ExecStart = ${after('bad', 'exit 3')}
`;
  const box = await start(t, { spec });
  await box.ready();
  await go(box, 'flaky');
  await state(box, 'flaky.service', 'failed');
  t.equal((await box.sctl('is-active', 'steady.service')).stdout.trim(), 'active', 'a unit without FailureAction failed: the container runs on');
  await go(box, 'bad');
  t.equal(await box.ended(), 3, 'bad.service exited 3: so does the container');
  t.match(box.output, /bad\.service: FailureAction=exit \(exit status 3\)/, 'the log names the unit and the action');
  t.match(box.output, steadyStopped, 'steady.service was stopped before the end');
});

t.test('[manager] DefaultFailureAction = "exit": a unit that fails for good ends it, with 128+n for a signal', opts, async (t) => {
  // crasher dies of SIGSEGV each time once told to go; Restart= gives up when StartLimitBurst is used up.
  const spec = `
[manager]
DefaultFailureAction = "exit"
${steady}
[service.tolerated]
FailureAction = "none"
ExecStart = ${after('tolerated', 'exit 9')}

[service.crasher]
Restart = "on-failure"
RestartSec = "100ms"
StartLimitBurst = 3
ExecStart = ${after('crasher', 'echo crash; kill -SEGV $$$$')}
`;
  const box = await start(t, { spec });
  await box.ready();
  await go(box, 'tolerated');
  await state(box, 'tolerated.service', 'failed');
  t.equal((await box.sctl('is-active', 'steady.service')).stdout.trim(), 'active', 'FailureAction = "none" overrides the default: the container runs on');
  await go(box, 'crasher');
  t.equal(await box.ended(), 139, 'crasher died of SIGSEGV: the container exits 128 + 11');
  t.equal(box.output.match(/^crasher\.service +\| crash$/gm)?.length, 3, 'crasher ran 3 times (StartLimitBurst) before it failed for good');
  t.match(box.output, /crasher\.service: FailureAction=exit \(exit status 139\)/, 'the default FailureAction acted');
  t.match(box.output, steadyStopped, 'steady.service was stopped before the end');
});

t.test('SuccessAction = "exit": a oneshot that succeeds ends the container with 0', opts, async (t) => {
  const spec = `${steady}
[service.job]
Type = "oneshot"
SuccessAction = "exit"
ExecStart = ${after('job', 'exit 0')}
`;
  const box = await start(t, { spec });
  await state(box, 'steady.service', 'active');
  await go(box, 'job');
  t.equal(await box.ended(), 0, 'exit 0');
  t.match(box.output, /job\.service: SuccessAction=exit \(exit status 0\)/, 'the log names the unit and the action');
  t.match(box.output, steadyStopped, 'steady.service was stopped before the end');
});
