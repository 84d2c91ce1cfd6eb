import t from 'tap';
import { DurationError, formatDuration, parseDuration } from '../../specs/duration.js';

t.test('time spans as systemd writes them', async (t) => {
  const cases: [string | number, number][] = [
    ['5s', 5000],
    ['100ms', 100],
    ['2min', 120_000],
    ['1h 30min', 5_400_000],
    ['1h30min', 5_400_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['infinity', Infinity],
    [' infinity ', Infinity],
    ['5', 5000],
    ['1 2', 3000],
    ['5 s', 5000],
    ['10us', 0.01],
    ['3usec', 0.003],
    ['2µs', 0.002],
    ['7msec', 7],
    ['1sec', 1000],
    ['2seconds', 2000],
    ['1second', 1000],
    ['3m', 180_000],
    ['1minute', 60_000],
    ['2minutes', 120_000],
    ['1hr', 3_600_000],
    ['2hours', 7_200_000],
    ['1d', 86_400_000],
    ['2days', 172_800_000],
    ['1w', 604_800_000],
    ['1weeks', 604_800_000],
    ['1M', 2_629_800_000],
    ['2months', 5_259_600_000],
    ['1y', 31_557_600_000],
    ['1years', 31_557_600_000],
    ['1d 2h 3min 4s 5ms', 93_784_005],
    [0, 0],
    [5, 5000],
    [0.25, 250],
  ];
  for (const [input, ms] of cases) t.equal(parseDuration(input), ms, JSON.stringify(input));
});

t.test('bad time spans throw DurationError', async (t) => {
  for (const input of [
    '',
    ' ',
    '5mins',
    '-1s',
    '5 m s',
    'min',
    '1.2.3s',
    '5 secs',
    '12s 3x',
    'forever',
    'infinite',
    '1e3s',
    -1,
    NaN,
  ]) {
    t.throws(() => parseDuration(input), DurationError, JSON.stringify(input));
  }
});

t.test('a trailing bare number is seconds', async (t) => {
  t.equal(parseDuration('1min 30'), 90_000);
  t.equal(parseDuration('1h 30'), 3_630_000);
});

t.test('a long run of digits with a bad unit fails fast', async (t) => {
  t.throws(() => parseDuration(`${'1'.repeat(5000)}x`), DurationError);
});

t.test('formatDuration spells what parseDuration reads back', async (t) => {
  for (const ms of [
    100,
    1000,
    90_000,
    10_000,
    5_400_000,
    86_400_000,
    1.5,
    0.001,
    2_629_800_000,
    31_557_600_000,
    Infinity,
    0,
  ]) {
    t.equal(parseDuration(formatDuration(ms)), ms, `${ms} → ${formatDuration(ms)}`);
  }
  t.equal(formatDuration(90_000), '90s');
  t.equal(formatDuration(100), '100ms');
  t.equal(formatDuration(Infinity), 'infinity');
});
