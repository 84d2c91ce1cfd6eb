import t from 'tap';
import { createActor } from 'xstate';
import { TARGET_ACTIVE, targetMachine } from '../../machines/target.js';
import type { TargetConfig } from '../../specs/types.js';
import { serviceConfig } from './harness.js';

/** Only the common [Unit] keys matter to a target. */
const config: TargetConfig = serviceConfig();

t.test('a target is active from START to STOP', async (t) => {
  const a = createActor(targetMachine, { input: { config, now: 10 } }).start();
  const at = () => [a.getSnapshot().value, a.getSnapshot().context.since];
  t.same(at(), ['inactive', 10]);
  a.send({ type: 'START', now: 20 });
  t.same(at(), ['active', 20]);
  a.send({ type: 'START', now: 30 });
  t.same(at(), ['active', 20], 'a second START changes nothing');
  a.send({ type: 'RELOAD', now: 35 });
  a.send({ type: 'TIMEOUT', now: 36 });
  t.same(at(), ['active', 20]);
  a.send({ type: 'STOP', now: 40 });
  t.same(at(), ['inactive', 40]);
  const c = a.getSnapshot().context;
  t.same([c.result, c.failures, c.deadline], ['success', 0, null]);
});

t.test('the target public state map covers every state', async (t) => {
  t.same(Object.keys(TARGET_ACTIVE).sort(), Object.keys(targetMachine.states).sort());
});
