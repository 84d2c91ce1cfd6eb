// The [timer.NAME] keys: systemd.timer(5)'s, with its defaults.
import type { KeyDef } from '../keys.js';

const spans = 'A time span (`"15min"`, a number of seconds) or an array of them, each a separate elapse.';

export const timerKeys: KeyDef[] = [
  {
    key: 'OnActiveSec',
    kind: 'durations',
    default: [],
    doc: `Elapse this long after the timer was started. ${spans}`,
  },
  {
    key: 'OnBootSec',
    kind: 'durations',
    default: [],
    doc: `Elapse this long after the machine booted (/proc/uptime); a timer started later than that elapses at once. Unlike systemd, a manager in a container still counts from the host's boot. ${spans}`,
  },
  {
    key: 'OnStartupSec',
    kind: 'durations',
    default: [],
    doc: `Elapse this long after the manager started (its sysmaster-init; a new core after a crash does not count again); a timer started later than that elapses at once. ${spans}`,
  },
  {
    key: 'OnUnitActiveSec',
    kind: 'durations',
    default: [],
    doc: `Elapse this long after Unit= was last activated (or the timer last triggered it): repeats while the timer runs. Never elapses before the unit was first activated, so pair it with OnActiveSec= or OnBootSec=. ${spans}`,
  },
  {
    key: 'OnUnitInactiveSec',
    kind: 'durations',
    default: [],
    doc: `Elapse this long after Unit= was last deactivated (or the timer last triggered it). ${spans}`,
  },
  {
    key: 'OnCalendar',
    kind: 'calendar',
    default: [],
    doc: 'Calendar events in systemd.time(7) syntax (`"daily"`, `"Mon..Fri *-*-* 02:00"`, `"*:0/15"`, `"2026-01-01 Europe/Berlin"`), a string or an array of strings; kept in systemd\'s normalised form (`sysmaster calendar EXPR` shows it and the next elapses).',
  },
  {
    key: 'Persistent',
    kind: 'bool',
    default: false,
    doc: 'Keep the time of the last trigger on disk (`stamp-NAME`, see docs/timer.md), so that an OnCalendar= elapse missed while the manager or the timer was down triggers at once when the timer starts. Default false.',
  },
  {
    key: 'RandomizedDelaySec',
    kind: 'duration',
    default: 0,
    doc: 'Delay each elapse by a random span between 0 and this, to spread the load of many timers. Default 0.',
  },
  {
    key: 'FixedRandomDelay',
    kind: 'bool',
    default: false,
    doc: 'Make the RandomizedDelaySec= span the same at every elapse: derived from the machine ID, the user and the timer name, as systemd does. Default false.',
  },
  {
    key: 'AccuracySec',
    kind: 'duration',
    default: 60_000,
    doc: 'How late an elapse may come, to coalesce wake-ups. Accepted for compatibility; sysmaster elapses on time, which is within any accuracy. Default 1min.',
  },
  {
    key: 'WakeSystem',
    kind: 'bool',
    default: false,
    doc: 'Resume the system from suspend for an elapse. Not supported: `true` is refused (sysmaster has no alarm clock that wakes the machine). Default false.',
  },
  {
    key: 'RemainAfterElapse',
    kind: 'bool',
    default: true,
    doc: 'Stay active (`elapsed`) once every setting has elapsed for good, instead of going inactive; starting it again then does not retrigger at once. Default true.',
  },
  {
    key: 'Unit',
    kind: 'unit',
    triggers: true,
    default: '',
    derived: '`NAME.service`, the service of the same name',
    doc: 'The unit the timer starts when it elapses. It must be defined in the spec; the synthesised default.target does not start it itself.',
  },
];
