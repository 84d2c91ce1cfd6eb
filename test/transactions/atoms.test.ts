import t from 'tap';
import { buildAtomGraph } from '../../units/atoms.js';
import { common } from './fixture.js';

const graph = (units: Record<string, Parameters<typeof common>[0]>) =>
  buildAtomGraph(Object.fromEntries(Object.entries(units).map(([n, d]) => [n, common(d)])));

t.test('every unit gets every atom list, empty when it has no dependencies', async (t) => {
  const g = graph({ 'a.service': {} });
  t.same(g['a.service'], {
    pullInStart: [],
    pullInStartIgnored: [],
    pullInVerify: [],
    pullInStop: [],
    propagateStop: [],
    propagateRestart: [],
    boundBy: [],
    propagateStartFailure: [],
    after: [],
    before: [],
    onFailure: [],
    onSuccess: [],
  });
});

t.test('Requires and RequiredBy: pull in start, and the reverse propagates stop, restart, start failure', async (t) => {
  const g = graph({ 'a.service': { Requires: ['b.service'] }, 'b.service': {}, 'c.service': { RequiredBy: ['a.service'] } });
  t.same(g['a.service'].pullInStart, ['b.service', 'c.service']);
  for (const dep of ['b.service', 'c.service']) {
    t.same(g[dep].propagateStop, ['a.service'], `${dep} propagateStop`);
    t.same(g[dep].propagateRestart, ['a.service'], `${dep} propagateRestart`);
    t.same(g[dep].propagateStartFailure, ['a.service'], `${dep} propagateStartFailure`);
    t.same(g[dep].boundBy, [], `${dep} boundBy`);
  }
});

t.test('BindsTo is Requires plus boundBy on the reverse', async (t) => {
  const g = graph({ 'a.service': { BindsTo: ['b.service'] }, 'b.service': {} });
  t.same(g['a.service'].pullInStart, ['b.service']);
  t.same(g['b.service'].boundBy, ['a.service']);
  t.same(g['b.service'].propagateStop, ['a.service']);
  t.same(g['b.service'].propagateRestart, ['a.service']);
  t.same(g['b.service'].propagateStartFailure, ['a.service']);
});

t.test('Wants and WantedBy pull in starts whose failure is ignored, nothing else', async (t) => {
  const g = graph({ 'a.service': { Wants: ['b.service'] }, 'b.service': {}, 'c.service': { WantedBy: ['a.service'] } });
  t.same(g['a.service'].pullInStartIgnored, ['b.service', 'c.service']);
  t.same(g['a.service'].pullInStart, []);
  t.same(g['b.service'].propagateStop, []);
  t.same(g['b.service'].propagateStartFailure, []);
});

t.test('Requisite verifies, and its reverse propagates stop, restart and start failure (systemd RequisiteOf)', async (t) => {
  const g = graph({ 'a.service': { Requisite: ['b.service'] }, 'b.service': {} });
  t.same(g['a.service'].pullInVerify, ['b.service']);
  t.same(g['a.service'].pullInStart, []);
  t.same(g['b.service'].propagateStartFailure, ['a.service']);
  t.same(g['b.service'].propagateStop, ['a.service']);
  t.same(g['b.service'].propagateRestart, ['a.service']);
});

t.test('PartOf propagates stop and restart from the group only', async (t) => {
  const g = graph({ 'member.service': { PartOf: ['group.target'] }, 'group.target': {} });
  t.same(g['group.target'].propagateStop, ['member.service']);
  t.same(g['group.target'].propagateRestart, ['member.service']);
  t.same(g['group.target'].propagateStartFailure, []);
  t.same(g['member.service'].pullInStart, []);
  t.same(g['member.service'].propagateStop, []);
});

t.test('Conflicts stops both ways; After and Before are made symmetric', async (t) => {
  const g = graph({ 'a.service': { Conflicts: ['b.service'], After: ['b.service'], Before: ['c.service'] }, 'b.service': {}, 'c.service': {} });
  t.same(g['a.service'].pullInStop, ['b.service']);
  t.same(g['b.service'].pullInStop, ['a.service']);
  t.same(g['a.service'].after, ['b.service']);
  t.same(g['b.service'].before, ['a.service']);
  t.same(g['a.service'].before, ['c.service']);
  t.same(g['c.service'].after, ['a.service']);
});

t.test('OnFailure and OnSuccess are copied', async (t) => {
  const g = graph({ 'a.service': { OnFailure: ['h.service'], OnSuccess: ['s.service'] }, 'h.service': {}, 's.service': {} });
  t.same(g['a.service'].onFailure, ['h.service']);
  t.same(g['a.service'].onSuccess, ['s.service']);
  t.same(g['h.service'].onFailure, []);
});

t.test('duplicates collapse, unknown units and self references are ignored', async (t) => {
  const g = graph({
    'a.service': { Requires: ['b.service', 'b.service', 'ghost.service', 'a.service'], BindsTo: ['b.service'], After: ['b.service'] },
    'b.service': { Before: ['a.service'] },
  });
  t.same(Object.keys(g).sort(), ['a.service', 'b.service']);
  t.same(g['a.service'].pullInStart, ['b.service']);
  t.same(g['b.service'].propagateStop, ['a.service']);
  t.same(g['b.service'].before, ['a.service']);
  t.same(g['a.service'].after, ['b.service']);
});
