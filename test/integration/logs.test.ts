// sctl logs filters: priority from `<N>` prefixes, --since/--until, output formats.
import t from 'tap';
import { scratch, Up, writeSpec } from './harness.js';

t.test('logs filter by priority and time, in every output format', async (t) => {
  const dir = scratch();
  const up = new Up(
    writeSpec(
      dir,
      `[service.talk]
Type = "oneshot"
RemainAfterExit = true
ExecStart = ["/bin/sh", "-c", "echo plain line; echo '<3>disk on fire'; echo '<4>getting warm' >&2"]
`,
    ),
    `${dir}/state`,
  );
  t.teardown(() => up.stop());
  await up.ready();
  await up.until('talk', 'ActiveState', (v) => v === 'active');

  const all = await up.sctl('logs', 'talk', '-o', 'cat');
  t.same(all.stdout.trim().split('\n').sort(), ['disk on fire', 'getting warm', 'plain line']);

  const errs = await up.sctl('logs', 'talk', '-p', 'err', '-o', 'cat');
  t.same(errs.stdout.trim().split('\n'), ['disk on fire'], '-p err: priority 3 and more urgent only');

  const warn = await up.sctl('logs', 'talk', '-p', 'warning', '-o', 'json');
  const recs = warn.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.same(recs.map((r) => [r.priority, r.stream, r.message]).sort(), [[3, 'stdout', 'disk on fire'], [4, 'stderr', 'getting warm']]);

  const future = await up.sctl('logs', 'talk', '--since', '+1h', '-o', 'cat');
  t.equal(future.stdout, '', 'nothing since an hour from now');
  const past = await up.sctl('logs', 'talk', '--until', '-1h', '-o', 'cat');
  t.equal(past.stdout, '', 'nothing until an hour ago');
  const recent = await up.sctl('logs', 'talk', '--since', '-10min', '-o', 'cat');
  t.equal(recent.stdout.trim().split('\n').length, 3);

  const bad = await up.sctl('logs', 'talk', '--since', 'whenever');
  t.equal(bad.code, 1);
  t.match(bad.stderr, /cannot read "whenever" as a time/);
});
