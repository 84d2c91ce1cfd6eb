// The main command (`sysmaster-init -- CMD`) becomes main.service; SuccessAction=/FailureAction= and the manager's
// DefaultFailureAction.
import t from 'tap';
import { MAIN_SOURCE } from '../../specs/loader.js';
import type { ServiceConfig } from '../../specs/types.js';
import { parse, problems } from './helpers.js';

t.test('the main command is a unit that starts after every other and ends the manager either way', async (t) => {
  const spec = await parse('[service.db]\nExecStart = "/bin/true"\n\n[service.api]\nExecStart = "/bin/true"\n', { main: ['/bin/echo', 'hi there', '$HOME', 'kill $$'] });
  const m = spec.units['main.service'];
  t.equal(m.where.file, MAIN_SOURCE);
  const c = m.config as ServiceConfig;
  t.match(c, { Type: 'exec', SuccessAction: 'exit', FailureAction: 'exit', Restart: 'no', StandardOutput: { kind: 'inherit' } });
  t.same(c.ExecStart.map((x) => x.argv), [['/bin/echo', 'hi there', '$$HOME', 'kill $$$$']], "its arguments, '$' kept literal for the spawn's expansion");
  t.same(c.After, ['api.service', 'db.service']);
  t.ok(spec.units['default.target'].config.Wants.includes('main.service'), 'the default target pulls it in');
});

t.test('a main command alone, with an empty spec', async (t) => {
  const spec = await parse('', { main: ['/bin/true'] });
  t.same(Object.keys(spec.units).sort(), ['default.target', 'main.service']);
  t.same(spec.units['main.service'].config.After, []);
});

t.test('a missing main program, or a spec with its own main.service, is refused saying where', async (t) => {
  const missing = await problems(parse('', { main: ['/no/such/program'], checkExecutables: true }));
  t.match(missing, [{ where: { file: MAIN_SOURCE }, unit: 'main.service', key: 'ExecStart', message: /\/no\/such\/program/ }]);
  const twice = await problems(parse('[service.main]\nExecStart = "/bin/true"\n', { main: ['/bin/true'] }));
  t.match(twice, [{ where: { line: 1 }, unit: 'main.service', message: /defined here and by the main command/ }]);
});

t.test('SuccessAction= and FailureAction=, and the manager default for failures', async (t) => {
  const spec = await parse(
    '[manager]\nDefaultFailureAction = "exit"\n\n[service.a]\nExecStart = "/bin/true"\n\n[service.b]\nExecStart = "/bin/true"\nFailureAction = "none"\nSuccessAction = "poweroff"\n',
  );
  t.equal(spec.manager.DefaultFailureAction, 'exit');
  t.match(spec.units['a.service'].config, { FailureAction: 'exit', SuccessAction: 'none' }, 'the default');
  t.match(spec.units['b.service'].config, { FailureAction: 'none', SuccessAction: 'poweroff' }, 'its own');
  const bad = await problems(parse('[service.a]\nExecStart = "/bin/true"\nFailureAction = "explode"\n'));
  t.match(bad, [{ unit: 'a.service', key: 'FailureAction', where: { line: 3 } }]);
});
