// Loading a spec again normalises only the units whose tables changed (loader.ts reusable()); what a reused unit
// would be checked against (the manager, the unit names, where it stands) invalidates the reuse.
import t from 'tap';
import type { ServiceConfig } from '../../specs/types.js';
import { parse, problems } from './helpers.js';

const base = '[service.a]\nExecStart = "/bin/true"\n\n[service.b]\nExecStart = "/bin/true"\nWants = "a.service"\n';

t.test('unchanged units are the very same objects; a changed one is new', async (t) => {
  const one = await parse(base);
  const two = await parse(base.replace('[service.b]\nExecStart = "/bin/true"', '[service.b]\nExecStart = "/bin/false"'));
  t.equal(two.units['a.service'], one.units['a.service'], 'a reused');
  t.not(two.units['b.service'], one.units['b.service'], 'b normalised again');
  t.same(two.units['b.service'].config.Wants, ['a.service']);
});

t.test('a unit that moved in its file is normalised again: where it stands is part of it', async (t) => {
  const one = await parse(base);
  const two = await parse(`# a comment\n${base}`);
  t.not(two.units['a.service'], one.units['a.service']);
  t.equal(two.units['a.service'].where.line, 2);
});

t.test('the manager settings and the unit names invalidate every reuse', async (t) => {
  const one = await parse(base);
  const slower = await parse(`[manager]\nDefaultTimeoutStartSec = "5s"\n\n${base}`);
  t.equal((slower.units['a.service'].config as ServiceConfig).TimeoutStartSec, 5000, 'derived from the new manager');
  t.not(slower.units['a.service'], one.units['a.service']);
  // a is gone: b's Wants= names a unit that no longer exists, and must be refused though b's table is the same.
  await parse(base);
  const gone = await problems(parse('[service.b]\nExecStart = "/bin/true"\nWants = "a.service"\n'));
  t.match(gone, [{ unit: 'b.service', key: 'Wants', message: /a\.service/ }]);
});

t.test('a value of the wrong TOML type is not taken for the string it prints as', async (t) => {
  await parse('[service.a]\nExecStart = "/bin/true"\nDescription = "1979-05-27T07:32:00.000Z"\n');
  const bad = await problems(parse('[service.a]\nExecStart = "/bin/true"\nDescription = 1979-05-27T07:32:00Z\n'));
  t.match(bad, [{ unit: 'a.service', key: 'Description' }]);
});
