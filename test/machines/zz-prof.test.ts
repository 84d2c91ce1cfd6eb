import t from 'tap';
import { createActor } from 'xstate';
import { serviceMachine } from '../../machines/service.js';
import { serviceConfig } from './harness.js';
const t0 = Date.now();
const a = createActor(serviceMachine, { input: { config: serviceConfig({ ExecStop: [] }), now: 0 } }).start();
let now = 0;
for (let i = 0; i < 5000; i++) {
  a.send({ type: 'START', now: ++now });
  a.send({ type: 'SPAWNED', role: 'main', pid: 5, now: ++now });
  a.send({ type: 'RELOAD', now: ++now });
  a.send({ type: 'EXIT', pid: 5, code: 0, signal: null, core: false, now: ++now });
}
console.log('events/ms', 20000 / (Date.now() - t0), a.getSnapshot().value);
t.pass();
