// The timer's effects (units/timer.ts) against a fake runtime: what `load` reads, the Persistent= stamp on disk, the
// start of Unit= and what it reports, and adopt() after a core takeover.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { AnyActorRef } from 'xstate';
import type { ActiveState } from '../../machines/types.js';
import type { TimerContext } from '../../machines/timer.js';
import { stampDir, timer } from '../../units/timer.js';
import type { TypeEffects, UnitRuntime } from '../../units/runtime.js';
import { timerConfig } from '../machines/timer-harness.js';

const NOW = Date.UTC(2026, 2, 10, 10, 7);

/** Just enough of the core: units with a state and a context, and a record of what the effects did. */
class FakeRuntime {
  readonly sent: { name: string; event: Record<string, unknown> }[] = [];
  readonly triggered: string[] = [];
  readonly notes: string[] = [];
  readonly deferred: (() => void)[] = [];
  readonly states = new Map<string, { active: ActiveState; sub: string; since: number }>();
  readonly contexts = new Map<string, Record<string, unknown>>();
  private listeners: ((name: string, active: ActiveState) => void)[] = [];
  /** What a start job of the triggered unit ends with. */
  jobEnds: ActiveState = 'inactive';

  constructor(
    readonly configs: Record<string, object>,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  runtime(): UnitRuntime {
    return {
      nameOf: (self: AnyActorRef) => self.id,
      config: (name: string) => this.configs[name],
      state: (name: string) => this.states.get(name),
      context: (name: string) => this.contexts.get(name),
      send: (name: string, event: Record<string, unknown>) => void this.sent.push({ name, event }),
      defer: (fn: () => void) => void this.deferred.push(fn),
      trigger: (by: string, name: string, done?: (ok: boolean) => void) => {
        this.triggered.push(`${by} → ${name}`);
        this.states.set(name, { active: this.jobEnds, sub: 'dead', since: NOW + 1 });
        done?.(true);
      },
      onChange: (fn: (name: string, active: ActiveState) => void) => {
        this.listeners.push(fn);
        return () => {};
      },
      note: (m: string) => void this.notes.push(m),
      now: () => NOW,
      clocks: () => ({ boot: NOW - 3_600_000, startup: NOW - 60_000 }),
      env: this.env,
      stateDir: '/nonexistent/state',
    } as unknown as UnitRuntime;
  }

  change(name: string, active: ActiveState): void {
    this.states.set(name, { active, sub: active, since: NOW });
    for (const l of this.listeners) l(name, active);
  }

  flush(): void {
    for (const fn of this.deferred.splice(0)) fn();
  }

  events(type: string) {
    return this.sent.filter((s) => s.event.type === type);
  }
}

function setup(t: Test, over: Parameters<typeof timerConfig>[0] = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-timer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fake = new FakeRuntime({ 'a.timer': timerConfig({ Unit: 'a.service', ...over }), 'a.service': {} }, { SYSMASTER_TIMER_DIR: dir, TZ: 'UTC' });
  fake.states.set('a.timer', { active: 'active', sub: 'waiting', since: NOW });
  fake.states.set('a.service', { active: 'inactive', sub: 'dead', since: NOW - 5000 });
  const fx = timer.effects!(fake.runtime());
  const self = { id: 'a.timer' } as AnyActorRef;
  const act = (name: 'load' | 'trigger') => (fx.actions[name] as (a: { self: AnyActorRef }) => void)({ self });
  return { dir, fake, fx: fx as TypeEffects, act, stamp: path.join(dir, 'stamp-a.timer') };
}

t.test('load answers CLOCKS: clocks, zone, a seed, and the unit as it is', async (t) => {
  const { fake, act } = setup(t);
  act('load');
  const [clocks] = fake.events('CLOCKS');
  t.match(clocks, { name: 'a.timer', event: { boot: NOW - 3_600_000, startup: NOW - 60_000, stamp: null, unit: { active: 'inactive', since: NOW - 5000 } } });
  t.equal((clocks.event.zone as { name: string }).name, 'UTC');
  t.ok(Number.isInteger(clocks.event.seed) && (clocks.event.seed as number) >= 0 && (clocks.event.seed as number) < 2 ** 32, 'a 32-bit seed');
  act('load');
  t.not(fake.events('CLOCKS')[1].event.seed, clocks.event.seed, 'random per start');
});

t.test('FixedRandomDelay=: the same seed at every start', async (t) => {
  const { fake, act } = setup(t, { FixedRandomDelay: true });
  act('load');
  act('load');
  const [a, b] = fake.events('CLOCKS');
  t.equal(a.event.seed, b.event.seed);
});

t.test('the unit is watched once the timer started: its changes come as UNIT', async (t) => {
  const { fake, act } = setup(t);
  fake.change('a.service', 'active');
  t.same(fake.events('UNIT'), [], 'not before the first start');
  act('load');
  fake.change('a.service', 'active');
  fake.change('other.service', 'active');
  t.same(fake.events('UNIT'), [{ name: 'a.timer', event: { type: 'UNIT', active: 'active' } }]);
});

t.test('Persistent=: the first start makes a 0600 stamp; later starts read the last trigger from it', async (t) => {
  const { fake, act, stamp } = setup(t, { Persistent: true });
  act('load');
  t.equal(fake.events('CLOCKS')[0].event.stamp, null, 'nothing to catch up the first time');
  t.equal((fs.statSync(stamp).mode & 0o777).toString(8), '600');
  t.equal(fs.statSync(stamp).mtimeMs, NOW, 'dated now: a run missed from here on counts');
  fs.utimesSync(stamp, (NOW - 86_400_000) / 1000, (NOW - 86_400_000) / 1000);
  act('load');
  t.equal(fake.events('CLOCKS')[1].event.stamp, NOW - 86_400_000);
  fs.utimesSync(stamp, (NOW + 60_000) / 1000, (NOW + 60_000) / 1000);
  act('load');
  t.equal(fake.events('CLOCKS')[2].event.stamp, null, 'a stamp in the future is not used');
  t.match(fake.notes, [/not using the stamp .* in the future/]);
});

t.test('trigger: only once the state is durable, it writes the stamp and starts the unit', async (t) => {
  const { fake, act, stamp } = setup(t, { Persistent: true });
  fake.states.set('a.timer', { active: 'active', sub: 'running', since: NOW });
  fake.contexts.set('a.timer', { lastTrigger: NOW - 10 } as Partial<TimerContext>);
  act('trigger');
  t.same([fake.triggered, fs.existsSync(stamp)], [[], false], 'nothing before the save');
  fake.flush();
  t.same(fake.triggered, ['a.timer → a.service']);
  t.equal(fs.statSync(stamp).mtimeMs, NOW - 10, 'the stamp holds the trigger');
  t.same(fake.events('UNIT'), [{ name: 'a.timer', event: { type: 'UNIT', active: 'inactive' } }], 'the end of the start job, with the unit\'s state');
});

t.test('trigger: a timer that moved on before the save starts nothing; a unit that is gone is VANISHED', async (t) => {
  const { fake, act } = setup(t);
  fake.contexts.set('a.timer', {});
  fake.states.set('a.timer', { active: 'inactive', sub: 'dead', since: NOW });
  act('trigger');
  fake.flush();
  t.same(fake.triggered, [], 'stopped meanwhile');
  fake.states.set('a.timer', { active: 'active', sub: 'running', since: NOW });
  delete fake.configs['a.service'];
  act('trigger');
  fake.flush();
  t.same([fake.triggered, fake.events('VANISHED').length], [[], 1]);
});

t.test('adopt: a run the dead core decided but never started is started; one that happened is not', async (t) => {
  const ctx = (over: Partial<TimerContext>) => ({ config: timerConfig({ Unit: 'a.service' }), clocks: { boot: 0, startup: 0, zone: { name: 'UTC' }, seed: 0 }, triggered: NOW - 1000, unitState: 'inactive', ...over }) as unknown as Record<string, unknown>;

  /** A core took over `a.timer` in state `sub` with context `c`. */
  const adopted = (sub: string, c: Record<string, unknown>) => {
    const s = setup(t);
    s.fake.states.set('a.timer', { active: 'active', sub, since: NOW });
    s.fake.contexts.set('a.timer', c);
    s.fx.adopt!('a.timer', c);
    return s;
  };

  const lost = adopted('running', ctx({}));
  t.same(lost.fake.triggered, [], 'not while the state is being restored');
  lost.fake.flush();
  t.same(lost.fake.triggered, ['a.timer → a.service'], 'the unit has not moved since the decision: start it');

  const ran = adopted('running', ctx({ unitState: 'activating' }));
  ran.fake.states.set('a.service', { active: 'active', sub: 'running', since: NOW - 500 });
  ran.fake.flush();
  t.same(ran.fake.triggered, [], 'the unit runs: not again');
  t.same(ran.fake.events('UNIT'), [{ name: 'a.timer', event: { type: 'UNIT', active: 'active' } }], 'its news is passed on');

  const waiting = adopted('waiting', ctx({}));
  waiting.fake.flush();
  t.same([waiting.fake.triggered, waiting.fake.sent], [[], []], 'waiting, nothing new: nothing to do (the deadline is re-armed by the core)');
  waiting.fake.change('a.service', 'active');
  t.equal(waiting.fake.events('UNIT').length, 1, 'and the unit is watched again');

  const unanswered = adopted('waiting', ctx({ clocks: null }));
  unanswered.fake.flush();
  t.equal(unanswered.fake.events('CLOCKS').length, 1, 'a load the dead core never had answered is asked again');

  const moved = adopted('running', ctx({}));
  moved.fake.states.set('a.timer', { active: 'active', sub: 'waiting', since: NOW });
  moved.fake.flush();
  t.same(moved.fake.triggered, [], 'the timer moved on before the state was restored: as it is then');
});

t.test('the stamp directory: SYSMASTER_TIMER_DIR, else inside a chosen state directory', async (t) => {
  t.equal(stampDir('/run/x', { SYSMASTER_TIMER_DIR: 'rel/dir' }), path.resolve('rel/dir'));
  t.equal(stampDir('/somewhere/chosen', {}), '/somewhere/chosen/timers');
});
