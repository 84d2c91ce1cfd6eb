import t from 'tap';
import { parsePriority, parseTime } from '../../cli/time.js';

const now = new Date('2026-11-27T15:30:00').getTime();

t.equal(parseTime('now', now), now);
t.equal(parseTime('today', now), new Date('2026-11-27T00:00:00').getTime());
t.equal(parseTime('yesterday', now), new Date('2026-11-26T00:00:00').getTime());
t.equal(parseTime('-5min', now), now - 300_000);
t.equal(parseTime('2h ago', now), now - 7_200_000);
t.equal(parseTime('10:15', now), new Date('2026-11-27T10:15:00').getTime());
t.equal(parseTime('2026-11-20 08:00', now), new Date('2026-11-20T08:00:00').getTime());
t.equal(parseTime('2026-11-20', now), new Date('2026-11-20T00:00:00').getTime());
t.equal(parseTime('@1795749762', now), 1795749762000);
t.equal(parseTime('2026-11-20T08:00:00Z', now), Date.UTC(2026, 10, 20, 8));
t.throws(() => parseTime('last tuesday', now), /cannot read "last tuesday" as a time/);

t.equal(parsePriority('err'), 3);
t.equal(parsePriority('warning'), 4);
t.equal(parsePriority('7'), 7);
t.throws(() => parsePriority('loud'), /unknown priority "loud"/);
