import t from 'tap';
import { createActor } from 'xstate';
import { serviceKeys } from '../../specs/keys.js';
import { service } from '../../units/service.js';
import { target } from '../../units/target.js';
import { cmd, serviceConfig } from './harness.js';

t.test('the service row', async (t) => {
  t.equal(service.name, 'service');
  t.equal(service.keys, serviceKeys);
  t.ok(service.liveKeys.includes('Description'));
  t.notOk(service.canReload(serviceConfig()));
  t.ok(service.canReload(serviceConfig({ ExecReload: [cmd('kill')] })));

  const a = createActor(service.machine, { input: { config: serviceConfig({ Type: 'notify' }), now: 0 } }).start();
  t.equal(service.activeState(a.getSnapshot()), 'inactive');
  t.equal(service.subState(a.getSnapshot()), 'dead');
  a.send({ type: 'START', now: 1 });
  t.equal(service.activeState(a.getSnapshot()), 'activating');
  t.equal(service.subState(a.getSnapshot()), 'start');
});

t.test('the target row', async (t) => {
  t.equal(target.name, 'target');
  t.same(target.keys, []);
  t.notOk(target.canReload(serviceConfig()));
  const a = createActor(target.machine, { input: { config: serviceConfig(), now: 0 } }).start();
  a.send({ type: 'START', now: 1 });
  t.equal(target.activeState(a.getSnapshot()), 'active');
  t.equal(target.subState(a.getSnapshot()), 'active');
});
