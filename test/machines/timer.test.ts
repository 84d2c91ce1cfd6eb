// The timer machine on a simulated clock: each On*= setting, their mix, Persistent=, RandomizedDelaySec=, and every
// calendar form through the timer's own next-elapse computation.
import t from 'tap';
import { format, parse } from '../../specs/calendar.js';
import { TIMER_ACTIVE, timerMachine } from '../../machines/timer.js';
import { TimerSim } from './timer-harness.js';

const T0 = Date.UTC(2026, 2, 10, 10, 7); // Tue 2026-03-10 10:07:00 UTC
const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;
const iso = (ms: number) => new Date(ms).toISOString();
/** As the loader keeps OnCalendar=: systemd's normalised form. */
const cal = (expr: string) => format(parse(expr, { name: 'UTC' }));

t.test('OnActiveSec= elapses once, then the timer stays elapsed (RemainAfterElapse=true)', async (t) => {
  const s = new TimerSim({ OnActiveSec: [1000] }, { now: T0 });
  t.equal(s.state, 'dead');
  s.send({ type: 'START' });
  t.same([s.state, s.active, s.ctx.since, s.ctx.deadline], ['waiting', 'active', T0, T0 + 1000]);
  t.equal(s.loads, 1, 'the start asked for the clocks once');
  s.advance(999);
  t.same(s.triggers, [], 'not before its time');
  s.advance(1);
  t.same(s.triggers, [T0 + 1000]);
  t.equal(s.state, 'running', 'running while the unit runs');
  s.advance(100);
  t.same([s.state, s.ctx.deadline, s.ctx.lastTrigger], ['elapsed', null, T0 + 1000]);
  s.advance(DAY);
  t.same(s.triggers, [T0 + 1000], 'never again');
  t.equal(s.ctx.since, T0, 'still the same activation');
});

t.test('RemainAfterElapse=false: the timer goes inactive once it has elapsed for good', async (t) => {
  const s = new TimerSim({ OnActiveSec: [1000], RemainAfterElapse: false }, { now: T0 });
  s.send({ type: 'START' }).advance(5000);
  t.same([s.state, s.active, s.ctx.result, s.ctx.since], ['dead', 'inactive', 'success', T0 + 1100]);
});

t.test('a restart re-arms OnActiveSec=, never a spent OnBootSec=', async (t) => {
  const boot = T0 - H;
  const s = new TimerSim({ OnActiveSec: [1000], OnBootSec: [10 * MIN] }, { now: T0, boot });
  s.send({ type: 'START' });
  t.equal(s.ctx.deadline, boot + 10 * MIN, 'OnBootSec= already passed: it elapses at once');
  s.advance(0);
  t.same(s.triggers, [T0], 'triggered at the start');
  s.advance(5000);
  t.same(s.triggers, [T0, T0 + 1000], 'then OnActiveSec=');
  t.same(s.ctx.spent.sort(), ['OnActiveSec/0', 'OnBootSec/0']);
  t.equal(s.state, 'elapsed');
  s.send({ type: 'STOP' });
  t.equal(s.state, 'dead');
  s.advance(MIN).send({ type: 'START' });
  t.same(s.ctx.spent, ['OnBootSec/0'], 'a start forgets only OnActiveSec=');
  t.equal(s.ctx.deadline, s.now + 1000);
  s.advance(5000);
  t.equal(s.triggers.length, 3, 'OnActiveSec= again, OnBootSec= not');
});

t.test('OnStartupSec= counts from the manager\'s start', async (t) => {
  const s = new TimerSim({ OnStartupSec: [30_000] }, { now: T0, startup: T0 - 10_000 });
  s.send({ type: 'START' });
  t.equal(s.ctx.deadline, T0 + 20_000);
});

t.test('OnUnitActiveSec= repeats from each activation of the unit', async (t) => {
  const s = new TimerSim({ OnActiveSec: [1000], OnUnitActiveSec: [2000] }, { now: T0, runFor: 500 });
  s.send({ type: 'START' }).advance(7_500);
  t.same(s.triggers.map((x) => x - T0), [1000, 3000, 5000, 7000]);
  t.equal(s.ctx.unitActive, T0 + 7000);
});

t.test('OnUnitInactiveSec= repeats from each deactivation of the unit', async (t) => {
  const s = new TimerSim({ OnActiveSec: [1000], OnUnitInactiveSec: [2000] }, { now: T0, runFor: 500 });
  s.send({ type: 'START' }).advance(9_000);
  t.same(s.triggers.map((x) => x - T0), [1000, 3500, 6000, 8500]);
});

t.test('OnUnitActiveSec= alone never elapses before the unit first ran, and counts from a run before the start', async (t) => {
  const never = new TimerSim({ OnUnitActiveSec: [2000] }, { now: T0 });
  never.send({ type: 'START' });
  t.same([never.state, never.ctx.deadline], ['elapsed', null], 'elapsed, but kept around: the unit may still run');
  never.advance(1000).unitIs('active');
  t.same([never.state, never.ctx.deadline], ['waiting', T0 + 3000], 'the unit ran: now it counts');

  const ran = new TimerSim({ OnUnitActiveSec: [H] }, { now: T0 });
  ran.unit = { active: 'active', since: T0 - 10 * MIN };
  ran.send({ type: 'START' });
  t.equal(ran.ctx.deadline, T0 + 50 * MIN, 'the unit was already active when the timer started');
});

t.test('the triggered unit still runs: the timer stays running and does not elapse again', async (t) => {
  const s = new TimerSim({ OnActiveSec: [1000], OnUnitActiveSec: [1000] }, { now: T0, runFor: null });
  s.send({ type: 'START' }).advance(10_000);
  t.same(s.triggers, [T0 + 1000]);
  t.equal(s.state, 'running');
  s.unitIs('inactive');
  t.same([s.state, s.ctx.deadline], ['waiting', T0 + 2000], 'back to waiting: the elapse is due at once');
  s.advance(0);
  t.equal(s.triggers.length, 2);
});

t.test('a start that leaves the unit inactive (a condition, a failed dependency) ends the run', async (t) => {
  const s = new TimerSim({ OnActiveSec: [1000], OnUnitInactiveSec: [5000] }, { now: T0, runFor: null });
  s.send({ type: 'START' }).advance(1000);
  t.equal(s.state, 'running');
  // No state change: the effect reports the end of the start job with the unit's state as it is.
  s.send({ type: 'UNIT', active: 'inactive' });
  t.same([s.state, s.ctx.deadline], ['waiting', T0 + 6000]);
});

t.test('a TIMEOUT before the elapse changes nothing (the runtime re-arms)', async (t) => {
  const s = new TimerSim({ OnActiveSec: [H] }, { now: T0 });
  s.send({ type: 'START' });
  const before = s.actor.getSnapshot();
  s.now += 30 * MIN;
  s.send({ type: 'TIMEOUT' });
  t.same([s.state, s.triggers, s.ctx.deadline], ['waiting', [], T0 + H]);
  t.same(s.ctx, before.context);
});

t.test('the unit vanishing fails the timer with result resources', async (t) => {
  const s = new TimerSim({ OnActiveSec: [1000] }, { now: T0, runFor: null });
  s.send({ type: 'START' }).advance(1000).send({ type: 'VANISHED' });
  t.same([s.state, s.active, s.ctx.result, s.ctx.failures], ['failed', 'failed', 'resources', 1]);
  s.send({ type: 'RESET_FAILED' });
  t.same([s.state, s.ctx.since], ['dead', T0 + 1000]);
  s.send({ type: 'START' });
  t.same([s.state, s.ctx.result], ['waiting', 'success']);
});

t.test('STOP while the unit runs leaves the unit alone; its times are still recorded', async (t) => {
  const s = new TimerSim({ OnActiveSec: [1000], OnUnitActiveSec: [H] }, { now: T0, runFor: null });
  s.send({ type: 'START' }).advance(1000).send({ type: 'STOP' });
  t.same([s.state, s.ctx.deadline], ['dead', null]);
  s.advance(1000).unitIs('inactive');
  t.same([s.state, s.ctx.unitInactive], ['dead', T0 + 2000]);
});

t.test('every calendar form through the timer: its first two elapses are systemd-analyze\'s', async (t) => {
  // systemd-analyze calendar --iterations=2 --base-time='2026-03-10 10:07:00 UTC' EXPR (systemd 252, TZ=UTC)
  const forms: [string, string, string | null][] = [
    ['minutely', '2026-03-10T10:08:00Z', '2026-03-10T10:09:00Z'],
    ['hourly', '2026-03-10T11:00:00Z', '2026-03-10T12:00:00Z'],
    ['daily', '2026-03-11T00:00:00Z', '2026-03-12T00:00:00Z'],
    ['weekly', '2026-03-16T00:00:00Z', '2026-03-23T00:00:00Z'],
    ['monthly', '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z'],
    ['quarterly', '2026-04-01T00:00:00Z', '2026-07-01T00:00:00Z'],
    ['semiannually', '2026-07-01T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['yearly', '2027-01-01T00:00:00Z', '2028-01-01T00:00:00Z'],
    ['*:0/15', '2026-03-10T10:15:00Z', '2026-03-10T10:30:00Z'],
    ['*:*:0/20', '2026-03-10T10:07:20Z', '2026-03-10T10:07:40Z'],
    ['Mon..Fri *-*-* 02:00', '2026-03-11T02:00:00Z', '2026-03-12T02:00:00Z'],
    ['Sat,Sun 12:00', '2026-03-14T12:00:00Z', '2026-03-15T12:00:00Z'],
    ['*-*~01', '2026-03-31T00:00:00Z', '2026-04-30T00:00:00Z'],
    ['*-02~03', '2027-02-26T00:00:00Z', '2028-02-27T00:00:00Z'],
    ['*-02-29', '2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z'],
    ['*-*-* 02:00 Europe/Berlin', '2026-03-11T01:00:00Z', '2026-03-12T01:00:00Z'],
    ['10:30 UTC', '2026-03-10T10:30:00Z', '2026-03-11T10:30:00Z'],
    ['8..17:00', '2026-03-10T11:00:00Z', '2026-03-10T12:00:00Z'],
    ['Tue 10:07:30', '2026-03-10T10:07:30Z', '2026-03-17T10:07:30Z'],
    ['*-*-1,15 04:00', '2026-03-15T04:00:00Z', '2026-04-01T04:00:00Z'],
    ['Fri *-*-13', '2026-03-13T00:00:00Z', '2026-11-13T00:00:00Z'],
    ['*-*-* *:*:*', '2026-03-10T10:07:01.000Z', '2026-03-10T10:07:02.000Z'],
    ['2026-12-25 08:00', '2026-12-25T08:00:00Z', null],
  ];
  for (const [expr, first, second] of forms) {
    const s = new TimerSim({ OnCalendar: [cal(expr)] }, { now: T0 });
    s.send({ type: 'START' });
    t.equal(iso(s.ctx.deadline!), iso(Date.parse(first)), `${expr}: first elapse`);
    s.advance(Date.parse(first) - T0 + 200);
    t.same(s.fired, [iso(Date.parse(first))], `${expr}: fired at it`);
    if (second === null) t.equal(s.state, 'elapsed', `${expr}: never again`);
    else t.equal(iso(s.ctx.deadline!), iso(Date.parse(second)), `${expr}: the next one counts from that trigger`);
  }
});

t.test('calendar elapses across daylight saving time changes, as systemd-analyze has them', async (t) => {
  const expr = cal('*-*-* 02:30 Europe/Berlin');
  // 2026-03-29 02:30 does not exist in Berlin; 2026-10-25 02:30 happens twice (the first one counts).
  for (const [from, want] of [
    ['2026-03-28T12:00:00Z', ['2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z', '2026-04-01T00:30:00.000Z']],
    ['2026-10-24T12:00:00Z', ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z', '2026-10-27T01:30:00.000Z']],
  ] as const) {
    const s = new TimerSim({ OnCalendar: [expr] }, { now: Date.parse(from) });
    s.send({ type: 'START' }).advance(4 * DAY);
    t.same(s.fired.slice(0, 3), want, `from ${from}`);
  }
});

t.test('an expression without a zone uses the zone `load` read', async (t) => {
  const s = new TimerSim({ OnCalendar: [cal('daily')] }, { now: T0, zone: { name: 'Europe/Berlin' } });
  s.send({ type: 'START' });
  t.equal(iso(s.ctx.deadline!), '2026-03-10T23:00:00.000Z', 'midnight CET');
});

t.test('a calendar that never elapses again leaves the timer elapsed at once', async (t) => {
  const s = new TimerSim({ OnCalendar: [cal('2025-01-01')] }, { now: T0 });
  s.send({ type: 'START' });
  t.same([s.state, s.ctx.deadline, s.triggers], ['elapsed', null, []]);
});

t.test('monotonic and calendar settings mixed: the earliest wins at each step', async (t) => {
  const s = new TimerSim({ OnActiveSec: [H], OnCalendar: [cal('*:0/15')], OnBootSec: [H + 30 * MIN] }, { now: T0, boot: T0 - H });
  s.send({ type: 'START' }).advance(75 * MIN);
  // Calendar quarters, OnBootSec= (boot + 1h30 = 10:07 + 30min = 10:37), OnActiveSec= (11:07), more quarters.
  t.same(s.fired, [
    '2026-03-10T10:15:00.000Z',
    '2026-03-10T10:30:00.000Z',
    '2026-03-10T10:37:00.000Z',
    '2026-03-10T10:45:00.000Z',
    '2026-03-10T11:00:00.000Z',
    '2026-03-10T11:07:00.000Z',
    '2026-03-10T11:15:00.000Z',
  ]);
  t.same(s.ctx.spent.sort(), ['OnActiveSec/0', 'OnBootSec/0']);
});

t.test('Persistent=: an elapse missed while down triggers at once, not before the manager started', async (t) => {
  const startup = T0 - 2 * H; // the manager started at 08:07
  const missed = new TimerSim({ OnCalendar: [cal('daily')], Persistent: true }, { now: T0, startup, stamp: T0 - DAY });
  missed.send({ type: 'START' });
  t.same([iso(missed.ctx.deadline!), iso(missed.ctx.lastTrigger!)], [iso(startup), iso(T0 - DAY)], 'due since the manager started');
  missed.advance(0);
  t.same(missed.triggers, [T0], 'fired at once');
  missed.advance(MIN);
  t.equal(iso(missed.ctx.deadline!), '2026-03-11T00:00:00.000Z', 'then the next midnight');

  const done = new TimerSim({ OnCalendar: [cal('daily')], Persistent: true }, { now: T0, startup, stamp: Date.UTC(2026, 2, 10, 0, 0, 5) });
  done.send({ type: 'START' });
  t.equal(iso(done.ctx.deadline!), '2026-03-11T00:00:00.000Z', 'today\'s run happened: nothing to catch up');

  const plain = new TimerSim({ OnCalendar: [cal('daily')] }, { now: T0, startup, stamp: null });
  plain.send({ type: 'START' });
  t.equal(iso(plain.ctx.deadline!), '2026-03-11T00:00:00.000Z', 'without a stamp: from the start');
});

t.test('Persistent=: a stamp does not make OnBootSec= elapse again, as in systemd', async (t) => {
  const s = new TimerSim({ OnBootSec: [MIN], OnCalendar: [cal('daily')], Persistent: true }, { now: T0, boot: T0 - H, stamp: T0 - H });
  s.send({ type: 'START' });
  t.same([s.ctx.spent, iso(s.ctx.deadline!)], [['OnBootSec/0'], '2026-03-11T00:00:00.000Z']);
});

t.test('RandomizedDelaySec=: a delay within the span, from the seed; FixedRandomDelay= keeps it', async (t) => {
  const offsets = (seed: number, fixed: boolean) => {
    const s = new TimerSim({ OnCalendar: [cal('hourly')], RandomizedDelaySec: 10 * MIN, FixedRandomDelay: fixed }, { now: T0, seed });
    s.send({ type: 'START' }).advance(6 * H + 15 * MIN);
    return s.triggers.map((x) => x % H);
  };
  const random = offsets(12345, false);
  t.equal(random.length, 6);
  t.ok(random.every((o) => o >= 0 && o < 10 * MIN), 'each within [0, 10min)');
  t.ok(new Set(random).size > 1, 'a new delay at each elapse');
  t.same(offsets(12345, false), random, 'the same seed, the same delays: the machine stays deterministic');
  t.not(offsets(54321, false).join(), random.join(), 'another seed, other delays');
  const fixed = offsets(0x9e3779b9, true);
  t.equal(new Set(fixed).size, 1, 'FixedRandomDelay=: one delay for every elapse');
  t.ok(fixed[0] > 0 && fixed[0] < 10 * MIN);
});

t.test('the public state map covers every state', async (t) => {
  t.same(Object.keys(TIMER_ACTIVE).sort(), Object.keys(timerMachine.states).sort());
});
