import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { formatTimestamp, relative, UTC } from '../../cli/time.js';

const cli = path.resolve('dist/cli/sysmaster.js');
const run = (args: string[], TZ = 'UTC') =>
  spawnSync(process.execPath, [cli, 'calendar', ...args], { encoding: 'utf8', env: { ...process.env, TZ, NO_COLOR: '1' } });
// "From now" counts from the real now, whatever --base-time says.
const fromNow = (text: string) => text.replace(/From now: .*/g, 'From now: …');
const base = '--base-time=@1795780800'; // Fri 2026-11-27 12:00:00 UTC
const tzdata = fs.existsSync('/usr/share/zoneinfo/Europe/Berlin');

t.test('prints what systemd-analyze calendar prints', async (t) => {
  const r = run(['daily', 'Mon..Fri *-*-* 02:00', '*-*-* 00:00:00', base, '--iterations', '2']);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.equal(
    fromNow(r.stdout),
    `  Original form: daily
Normalized form: *-*-* 00:00:00
    Next elapse: Sat 2026-11-28 00:00:00 UTC
       From now: …
       Iter. #2: Sun 2026-11-29 00:00:00 UTC
       From now: …

  Original form: Mon..Fri *-*-* 02:00
Normalized form: Mon..Fri *-*-* 02:00:00
    Next elapse: Mon 2026-11-30 02:00:00 UTC
       From now: …
       Iter. #2: Tue 2026-12-01 02:00:00 UTC
       From now: …

Normalized form: *-*-* 00:00:00
    Next elapse: Sat 2026-11-28 00:00:00 UTC
       From now: …
       Iter. #2: Sun 2026-11-29 00:00:00 UTC
       From now: …
`,
  );
  t.match(r.stdout, /From now: .+ (left|ago)\n/);
});

t.test('outside UTC: local time with its abbreviation, then "(in UTC)"', { skip: !tzdata && 'no tzdata' }, async (t) => {
  const r = run(['*:0/15', 'daily America/New_York', '2020-01-01', '--base-time=2026-03-29 01:10', '--iterations=12'], 'Europe/Berlin');
  t.equal(r.status, 0);
  const out = fromNow(r.stdout);
  t.match(out, 'Next elapse: Sun 2026-03-29 01:15:00 CET\n       (in UTC): Sun 2026-03-29 00:15:00 UTC');
  t.match(out, '       Iter. #3: Sun 2026-03-29 01:45:00 CET\n       (in UTC): Sun 2026-03-29 00:45:00 UTC');
  t.match(out, '       Iter. #4: Sun 2026-03-29 03:00:00 CEST\n       (in UTC): Sun 2026-03-29 01:00:00 UTC', '02:00 never comes that night');
  t.match(out, '      Iter. #10: ', 'two-digit iteration numbers shift left, as systemd does');
  t.match(out, 'Normalized form: *-*-* 00:00:00 America/New_York\n    Next elapse: Sun 2026-03-29 06:00:00 CEST');
  t.match(out, 'Normalized form: 2020-01-01 00:00:00\n    Next elapse: never\n');
});

const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
t.test('byte for byte like systemd-analyze', { skip: (!analyze || !tzdata) && 'needs systemd-analyze and tzdata' }, async (t) => {
  const args = ['daily', '*:0/15 Pacific/Auckland', 'Sat,Sun *-*-1..7 10:30', '2016-03-27 03:17:00', 'quarterly', '--base-time=@1774743000', '--iterations=3'];
  for (const TZ of ['UTC', 'Europe/Berlin', 'Asia/Kolkata', 'America/Sao_Paulo']) {
    const theirs = spawnSync('systemd-analyze', ['calendar', ...args], { encoding: 'utf8', env: { ...process.env, TZ, SYSTEMD_COLORS: '0' } });
    t.equal(fromNow(run(args, TZ).stdout), fromNow(theirs.stdout), `TZ=${TZ}`);
  }
});

t.test('a bad expression: exit 1, where and what was expected on stderr; the good ones are still printed', async (t) => {
  const r = run(['daily', 'Mon..Fri 25:00', base]);
  t.equal(r.status, 1);
  t.equal(
    r.stderr,
    `Failed to parse calendar specification 'Mon..Fri 25:00': hour 25 is not within 0..23
  Mon..Fri 25:00
           ^
`,
  );
  t.match(r.stdout, /^ {2}Original form: daily\n/);
  t.match(r.stdout, /\n\n$/, 'a blank line where the bad one would be, as systemd-analyze leaves it');
  const bad = run(['daily', '--iterations', '0']);
  t.equal(bad.status, 1);
  t.match(bad.stderr, '--iterations takes a whole number ≥ 1, not "0"');
  t.match(run(['daily', '-o', 'yaml']).stderr, '-o takes "text" or "json", not "yaml"');
  t.match(run(['daily', '--base-time', 'last tuesday']).stderr, 'cannot read "last tuesday" as a time');
});

t.test('-o json', async (t) => {
  const r = run(['-o', 'json', 'Sat,Sun 10:30 UTC', '2020-01-01', 'Funday', base, '--iterations=3']);
  t.equal(r.status, 1, 'one expression is bad');
  t.same(JSON.parse(r.stdout), [
    {
      original: 'Sat,Sun 10:30 UTC',
      normalized: 'Sat,Sun *-*-* 10:30:00 UTC',
      next: ['2026-11-28T10:30:00.000Z', '2026-11-29T10:30:00.000Z', '2026-12-05T10:30:00.000Z'],
    },
    { original: '2020-01-01', normalized: '2020-01-01 00:00:00', next: [] },
    {
      original: 'Funday',
      error: 'bad calendar expression "Funday" at column 1: expected a weekday, a date (2026-11-28), a time (02:00) or a shorthand such as "daily", found "Funday"',
    },
  ]);
  t.equal(r.stderr, '');
});

t.test('relative times as systemd words them', async (t) => {
  const now = Date.parse('2026-11-27T12:00:00Z');
  const cases: [number, string][] = [
    [0, 'now'],
    [250, '250ms left'],
    [-42_000, '42s ago'],
    [3 * 60_000 + 4000, '3min 4s left'],
    [-7 * 60_000 - 59_000, '7min ago'],
    [-(90 * 60_000), '1h 30min ago'],
    [12 * 3600_000 + 29 * 60_000, '12h left'],
    [25 * 3600_000, '1 day 1h left'],
    [3 * 86_400_000, '3 days left'],
    [8 * 86_400_000, '1 week 1 day left'],
    [-(2 * 604_800_000), '2 weeks 0 days ago'],
    [40 * 86_400_000, '1 month 9 days left'],
    [-(400 * 86_400_000), '1 year 1 month ago'],
  ];
  for (const [d, text] of cases) t.equal(relative(now + d, now), text, text);
});

t.test('timestamps as systemd formats them', async (t) => {
  const ms = Date.parse('2026-07-01T10:00:00Z');
  t.equal(formatTimestamp(ms, UTC), 'Wed 2026-07-01 10:00:00 UTC');
  const berlin = { name: 'Europe/Berlin', std: { abbr: 'CET', offset: 3600 }, dst: { abbr: 'CEST', offset: 7200 } };
  t.equal(formatTimestamp(ms, berlin), 'Wed 2026-07-01 12:00:00 CEST');
  t.equal(formatTimestamp(Date.parse('2026-12-31T23:30:00Z'), berlin), 'Fri 2027-01-01 00:30:00 CET');
  t.equal(formatTimestamp(ms, { name: 'Asia/Kathmandu' }), 'Wed 2026-07-01 15:45:00 +0545', "tzdata's numeric form without abbreviations");
});
