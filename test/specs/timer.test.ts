// [timer.NAME] in a spec: what the keys normalise to, what the loader derives, and what it refuses, with where.
import t from 'tap';
import type { TimerConfig } from '../../specs/types.js';
import { parse, problem, problems } from './helpers.js';

const service = '[service.backup]\nType = "oneshot"\nExecStart = "/bin/true"\n';

t.test('a timer normalises its lists, its calendar and its unit', async (t) => {
  const spec = await parse(`[timer.backup]
OnBootSec = "15min"
OnUnitActiveSec = ["1h", 90]
OnCalendar = ["daily", "Mon..Fri 02:00", "*:0/15 Europe/Berlin"]
Persistent = true
RandomizedDelaySec = "5min"
${service}`);
  const c = spec.units['backup.timer'].config as TimerConfig;
  t.match(c, {
    OnBootSec: [900_000],
    OnUnitActiveSec: [3_600_000, 90_000],
    OnActiveSec: [],
    OnCalendar: ['*-*-* 00:00:00', 'Mon..Fri *-*-* 02:00:00', '*-*-* *:00/15:00 Europe/Berlin'],
    Persistent: true,
    RandomizedDelaySec: 300_000,
    AccuracySec: 60_000,
    RemainAfterElapse: true,
    WakeSystem: false,
    Unit: 'backup.service',
  });
  t.same(c.Before, ['backup.service'], 'ordered before the unit it starts');
  t.same(spec.units['default.target'].config.Wants, ['backup.timer'], 'default.target starts the timer, not its service');
});

t.test('Unit= names another unit, which must exist', async (t) => {
  const spec = await parse(`[timer.nightly]\nOnCalendar = "daily"\nUnit = "backup.service"\n${service}`);
  t.equal((spec.units['nightly.timer'].config as TimerConfig).Unit, 'backup.service');
  const p = await problem(`[timer.nightly]\nOnCalendar = "daily"\n${service}`);
  t.match(p, { unit: 'nightly.timer', key: 'Unit', message: /Unit= names nightly\.service, which is not defined/ });
});

t.test('a bad calendar expression is refused with its file, line, key and column', async (t) => {
  const p = await problem(`${service}[timer.backup]\nOnCalendar = ["daily", "Mon..Fry 02:00"]\n`);
  t.match(p, {
    where: { file: '/specs/system.toml', line: 5 },
    unit: 'backup.timer',
    key: 'OnCalendar',
    message: /"Mon\.\.Fry 02:00" at column 6: expected a weekday/,
    hint: /systemd\.time\(7\)/,
  });
});

t.test('a bad time span in a list names the key', async (t) => {
  const p = await problem(`${service}[timer.backup]\nOnActiveSec = ["1min", "soon"]\n`);
  t.match(p, { where: { line: 5 }, key: 'OnActiveSec', message: /bad time span "soon"/ });
});

t.test('a timer without an On*= setting is refused with systemd\'s message', async (t) => {
  const p = await problem(`${service}[timer.backup]\nPersistent = true\n`);
  t.match(p, { where: { line: 4 }, unit: 'backup.timer', message: 'Timer unit lacks value setting. Refusing.', hint: /OnCalendar/ });
  // A bad On*= value is reported as such, not as a missing setting too.
  const list = await problems(parse(`${service}[timer.backup]\nOnCalendar = "never ever"\n`));
  t.equal(list.length, 1);
  t.equal(list[0].key, 'OnCalendar');
});

t.test('WakeSystem=true is refused: sysmaster cannot wake the machine', async (t) => {
  const p = await problem(`${service}[timer.backup]\nOnCalendar = "daily"\nWakeSystem = true\n`);
  t.match(p, { where: { line: 6 }, key: 'WakeSystem', message: /not supported/, hint: /docs\/timer\.md/ });
  await t.resolves(parse(`${service}[timer.backup]\nOnCalendar = "daily"\nWakeSystem = false\n`));
});
