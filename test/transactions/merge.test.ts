// The job-type algebra, checked as systemd's test-job-type.c does: over every pair and triple of mergeable types,
// for every public state the collapse may look at.
import t from 'tap';
import type { ActiveState } from '../../machines/types.js';
import {
  MERGE_TABLE,
  MERGE_TYPES,
  collapse,
  conflicting,
  isRedundant,
  isSuperset,
  mergeAndCollapse,
  type MergeType,
} from '../../transactions/merge.js';

const STATES: ActiveState[] = ['inactive', 'activating', 'active', 'reloading', 'deactivating', 'failed'];
const mergeable = (a: MergeType, b: MergeType) => MERGE_TABLE[a][b] !== null;

t.test('the table is commutative and idempotent', async (t) => {
  for (const a of MERGE_TYPES) {
    t.equal(MERGE_TABLE[a][a], a, `${a} + ${a}`);
    for (const b of MERGE_TYPES) t.equal(MERGE_TABLE[a][b], MERGE_TABLE[b][a], `${a} + ${b} = ${b} + ${a}`);
  }
});

t.test("systemd's rows", async (t) => {
  t.equal(MERGE_TABLE.start['verify-active'], 'start');
  t.equal(MERGE_TABLE.start.reload, 'reload-or-start');
  t.equal(MERGE_TABLE.reload['verify-active'], 'reload');
  for (const b of ['start', 'verify-active', 'reload'] as const) t.equal(MERGE_TABLE.restart[b], 'restart', `restart + ${b}`);
  for (const b of MERGE_TYPES) if (b !== 'stop') t.equal(MERGE_TABLE.stop[b], null, `stop + ${b} conflicts`);
});

for (const state of STATES) {
  t.test(`algebra over every triple, unit ${state}`, async (t) => {
    let checked = 0;
    for (const a of MERGE_TYPES) {
      for (const b of MERGE_TYPES) {
        const ab = mergeAndCollapse(a, b, state);
        t.equal(ab !== null, mergeable(a, b), `${a} + ${b} merges iff the table says so`);
        if (ab === null) continue;
        t.equal(ab, mergeAndCollapse(b, a, state), `${a} + ${b} commutes`);
        for (const c of MERGE_TYPES) {
          // Mergeability is transitive.
          if (mergeable(a, b) && mergeable(b, c)) t.ok(mergeable(a, c), `${a}~${b}, ${b}~${c} ⇒ ${a}~${c}`);
          // The merge merges with whatever either part merges with...
          if (mergeable(a, c)) t.ok(mergeable(ab, c), `${a}+${b} merges with ${c} like ${a}`);
          if (mergeable(b, c)) t.ok(mergeable(ab, c), `${a}+${b} merges with ${c} like ${b}`);
          // ...and when it does not, one of the parts does not either (what dropping one job relies on).
          if (!mergeable(ab, c)) t.ok(!mergeable(a, c) || !mergeable(b, c), `${a}+${b} vs ${c}: a part conflicts too`);
          const bc = mergeAndCollapse(b, c, state);
          if (bc === null) continue;
          const abC = mergeAndCollapse(ab, c, state);
          t.equal(abC, mergeAndCollapse(a, bc, state), `(${a}+${b})+${c} = ${a}+(${b}+${c})`);
          t.equal(abC, mergeAndCollapse(bc, a, state), `(${a}+${b})+${c} = (${b}+${c})+${a}`);
          checked++;
        }
      }
    }
    t.ok(checked > 0);
  });
}

t.test('reload-or-start collapses by state', async (t) => {
  t.equal(collapse('reload-or-start', 'active'), 'reload');
  t.equal(collapse('reload-or-start', 'reloading'), 'reload');
  for (const s of ['inactive', 'activating', 'deactivating', 'failed'] as const) t.equal(collapse('reload-or-start', s), 'start', s);
  t.equal(mergeAndCollapse('reload', 'start', 'active'), 'reload');
  t.equal(mergeAndCollapse('start', 'reload', 'inactive'), 'start');
});

t.test('conflicting and superset', async (t) => {
  t.ok(conflicting('start', 'stop'));
  t.ok(conflicting('restart', 'stop'));
  t.notOk(conflicting('start', 'restart'));
  t.notOk(conflicting('nop', 'stop'), 'nop never conflicts');
  t.ok(isSuperset('restart', 'start'));
  t.notOk(isSuperset('start', 'restart'));
  t.notOk(isSuperset('start', 'reload'), 'start + reload becomes something else');
});

t.test('redundancy by state', async (t) => {
  const redundantIn = (type: Parameters<typeof isRedundant>[0]) => STATES.filter((s) => isRedundant(type, s));
  t.same(redundantIn('start'), ['active', 'reloading']);
  t.same(redundantIn('verify-active'), ['active', 'reloading']);
  t.same(redundantIn('stop'), ['inactive', 'failed']);
  t.same(redundantIn('reload'), ['reloading']);
  t.same(redundantIn('restart'), ['activating']);
  t.same(redundantIn('nop'), STATES);
});
