// Timer units with a real core on the real clock: OnActiveSec=, OnUnitActiveSec= repeating, Persistent= across a
// manager restart, and a kill -9 of the core that neither loses nor doubles an elapse.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { TimerInfo } from '../../reconciler/view.js';
import { scratch, sleep, Up, writeSpec } from './harness.js';

/** The times (ms) a payload appended to `file`, one line per run. */
function runs(file: string): number[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(Number) : [];
}

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  for (const t0 = Date.now(); !ok(); await sleep(25)) if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
}

/** A oneshot that appends the time (ms) to `file`. */
const stamping = (name: string, file: string, extra = '') => `[service.${name}]
Type = "oneshot"
ExecStart = ["/bin/sh", "-c", "echo $(( $(date +%s%N) / 1000000 )) >> ${file}${extra}"]
StandardOutput = "null"
`;

/** Kill the core with SIGKILL and wait until init's next core has taken over. */
async function killCore(up: Up): Promise<void> {
  const core = up.corePid();
  process.kill(core, 'SIGKILL');
  await until('a new core', () => up.corePid() !== core && /took over/.test(up.output.split(`${core}`).pop() ?? ''));
}

t.test('OnActiveSec= starts a oneshot once, that long after the timer started', async (t) => {
  const dir = scratch();
  const out = path.join(dir, 'runs');
  const up = new Up(writeSpec(dir, `[timer.once]\nOnActiveSec = "3s"\n\n${stamping('once', out)}`), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const started = Date.parse((await up.call<{ since: string }[]>('status', { units: ['once.timer'] }))[0].since);
  const before = await up.call<TimerInfo[]>('list-timers');
  t.match(before, [{ unit: 'once.timer', activates: 'once.service', last: null, passed: null }]);
  t.equal(Date.parse(before[0].next!), started + 3000, 'next: 3s after the start');
  t.ok(before[0].left! > 0 && before[0].left! <= 3000, 'left: under 3s');
  const status = await up.sctl('status', 'once.timer');
  t.match(status.stdout, /Trigger: \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+; .* left\n\s+Triggers: once\.service/);

  await until('the run', () => runs(out).length > 0);
  await sleep(1500);
  const ran = runs(out);
  t.equal(ran.length, 1, 'exactly one run');
  t.ok(ran[0] - started >= 2950 && ran[0] - started < 5000, `ran ${ran[0] - started} ms after the start`);
  t.equal(await up.until('once.timer', 'SubState', (v) => v === 'elapsed'), 'elapsed', 'elapsed (RemainAfterElapse=true)');
  const after = await up.json<TimerInfo[]>('list-timers');
  t.match(after, [{ unit: 'once.timer', next: null, left: null }]);
  t.ok(Math.abs(Date.parse(after[0].last!) - ran[0]) < 500, 'last: the trigger');
  const text = await up.sctl('list-timers');
  t.match(text.stdout, /^NEXT +LEFT +LAST +PASSED +UNIT +ACTIVATES\n- +- +\w{3} \d{4}-.+ ago +once\.timer once\.service\n\n1 timers listed\.\nPass --all/);
});

t.test('OnUnitActiveSec= repeats the unit about every second, until the timer stops', async (t) => {
  const dir = scratch();
  const out = path.join(dir, 'runs');
  const up = new Up(writeSpec(dir, `[timer.tick]\nOnActiveSec = "1s"\nOnUnitActiveSec = "1s"\n\n${stamping('tick', out)}`), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  await until('four runs', () => runs(out).length >= 4, 30_000);
  const ran = runs(out);
  const gaps = ran.slice(1).map((x, i) => x - ran[i]);
  t.ok(gaps.every((g) => g >= 900 && g < 2500), `about a second apart: ${gaps.join(', ')} ms`);
  const [row] = await up.json<TimerInfo[]>('list-timers');
  t.ok(row.last !== null, 'a last trigger');
  t.equal((await up.sctl('stop', 'tick.timer')).code, 0);
  const stopped = runs(out).length;
  await sleep(2500);
  t.equal(runs(out).length, stopped, 'no run once the timer stopped');
  t.same(await up.json<TimerInfo[]>('list-timers'), [], 'an inactive timer is listed only with --all');
  t.match(await up.json<TimerInfo[]>('list-timers', '--all'), [{ unit: 'tick.timer', next: null }]);
});

t.test('Persistent=: an elapse missed while the manager was down fires as soon as it is back', async (t) => {
  const dir = scratch();
  const stamps = path.join(dir, 'stamps');
  process.env.SYSMASTER_TIMER_DIR = stamps;
  t.teardown(() => void delete process.env.SYSMASTER_TIMER_DIR);
  const [late, fresh] = [path.join(dir, 'late'), path.join(dir, 'fresh')];
  const timers = (first: boolean) =>
    `[timer.late]\nOnCalendar = "daily"\nPersistent = true\n${first ? 'OnActiveSec = "1s"\n' : ''}\n` +
    `[timer.fresh]\nOnCalendar = "daily"\nPersistent = true\n\n${stamping('late', late)}\n${stamping('fresh', fresh)}`;

  // First run: late.timer triggers once (OnActiveSec=), fresh.timer never; both get a stamp.
  const first = new Up(writeSpec(dir, timers(true)), path.join(dir, 'state'));
  t.teardown(() => first.stop());
  await first.ready();
  await until('the first run', () => runs(late).length === 1);
  await first.until('late.timer', 'SubState', (v) => v === 'waiting');
  t.equal(await first.stop(), 0);
  const stamp = path.join(stamps, 'stamp-late.timer');
  t.ok(Math.abs(fs.statSync(stamp).mtimeMs - runs(late)[0]) < 1000, 'the stamp holds the trigger');
  t.equal((fs.statSync(stamp).mode & 0o777).toString(8), '600', 'mode 0600');
  t.ok(fs.existsSync(path.join(stamps, 'stamp-fresh.timer')), 'a timer that never ran has a stamp too');
  t.same(runs(fresh), []);

  // The manager was down over a midnight: the stamp of late.timer says so (a day old); fresh.timer's does not.
  const dayAgo = (Date.now() - 86_400_000) / 1000;
  fs.utimesSync(stamp, dayAgo, dayAgo);
  const second = new Up(writeSpec(dir, timers(false)), path.join(dir, 'state'));
  t.teardown(() => second.stop());
  await second.ready();
  await until('the missed run', () => runs(late).length === 2, 10_000);
  await sleep(1000);
  t.equal(runs(late).length, 2, 'the missed elapse fired once');
  t.same(runs(fresh), [], 'nothing missed, nothing fired');
  t.ok(Date.now() - fs.statSync(stamp).mtimeMs < 10_000, 'the stamp moved to the new trigger');
  const [row] = (await second.json<TimerInfo[]>('list-timers')).filter((r) => r.unit === 'late.timer');
  t.ok(row.next !== null && Date.parse(row.next) > Date.now(), 'next: the coming midnight');
});

t.test('a timer survives a kill -9 of the core and fires once, not twice', async (t) => {
  const dir = scratch();
  const out = path.join(dir, 'runs');
  const up = new Up(writeSpec(dir, `[timer.once]\nOnActiveSec = "5s"\n\n${stamping('once', out)}`), path.join(dir, 'state'), [], { init: true });
  t.teardown(() => up.stop());
  await up.ready();
  const [before] = await up.call<TimerInfo[]>('list-timers');
  await killCore(up);
  const [after] = await up.call<TimerInfo[]>('list-timers');
  t.same([after.next, runs(out)], [before.next, []], 'the new core waits for the same elapse');
  await until('the run', () => runs(out).length > 0, 15_000);
  t.ok(Math.abs(runs(out)[0] - Date.parse(before.next!)) < 1500, 'at its time');
  await sleep(2000);
  t.equal(runs(out).length, 1, 'exactly once');
  t.equal(await up.until('once.timer', 'SubState', (v) => v === 'elapsed'), 'elapsed');
});

t.test('a kill -9 while the triggered unit runs: the unit is not started again, the timer goes on', async (t) => {
  const dir = scratch();
  const out = path.join(dir, 'runs');
  const up = new Up(
    writeSpec(dir, `[timer.slow]\nOnActiveSec = "1s"\nOnUnitInactiveSec = "2s"\n\n${stamping('slow', out, '; sleep 1.5')}`),
    path.join(dir, 'state'),
    [],
    { init: true },
  );
  t.teardown(() => up.stop());
  await up.ready();
  await until('the first run', () => runs(out).length === 1);
  t.equal(await up.until('slow.timer', 'SubState', () => true), 'running');
  await killCore(up);
  t.equal(runs(out).length, 1, 'not started again by the new core');
  await up.until('slow.timer', 'SubState', (v) => v === 'waiting', 10_000);
  await until('the next run', () => runs(out).length === 2, 10_000);
  const [a, b] = runs(out);
  t.ok(b - a >= 3000, `the next run counts from the end of the first: ${b - a} ms`);
});
