// init's pure parts: the command line, time spans, the backoff, the exit ledger, the fd names for the core.
import t from 'tap';
import { backoff, coreEnv } from '../../init/core.js';
import { Ledger } from '../../init/ledger.js';
import { inContainer, parseDuration, parseOptions } from '../../init/options.js';
import { heartbeatMs, inheritedFds } from '../../init/protocol.js';

t.test('time spans as systemd writes them', async (t) => {
  const cases: [string, number][] = [
    ['90', 90_000],
    ['1.5s', 1500],
    ['500ms', 500],
    ['1min 30s', 90_000],
    ['2h', 7_200_000],
    ['0', 0],
  ];
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, text);
  for (const bad of ['', 'soon', '5 parsecs', '-1s', '1s x']) {
    t.throws(() => parseDuration(bad), { code: 'EUSAGE' }, bad);
  }
});

t.test('command line: defaults in a container, values, the main command', async (t) => {
  const env = { container: 'docker', SYSMASTER_STATE_DIR: '/tmp/sm-x' };
  const d = parseOptions([], env);
  t.match(d, { stateDir: '/tmp/sm-x', spec: '/etc/sysmaster/system.toml', main: null, watchdogMs: 10_000 });
  t.match(d, { graceMs: 8000, maxFailedStarts: 5, container: true, console: 'prefix' }, 'container defaults: the log shows everything');
  // This test may itself run in a container (a /.dockerenv): the default follows what init detects.
  t.equal(parseOptions([], { SYSMASTER_STATE_DIR: '/tmp/sm-x' }).console, inContainer({}, false) ? 'prefix' : 'off', 'on a host, nothing');
  t.equal(parseOptions(['--console', 'plain'], env).console, 'plain');
  t.equal(parseOptions([], { ...env, SYSMASTER_UP: 'plain' }).console, 'plain', "what `sysmaster up` asks for");
  t.match(d.core, /reconciler\/main\.js$/, 'the core next to this package');

  const own = ['--state-dir', '/s', '--grace', '1min', '--watchdog-sec', '2', '--max-failed-starts', '0'];
  const o = parseOptions([...own, '--', 'app', '--grace', 'x'], env);
  t.match(o, { stateDir: '/s', graceMs: 60_000, watchdogMs: 2000, maxFailedStarts: Infinity });
  t.same(o.main, ['app', '--grace', 'x'], 'everything after -- is the main command, untouched');

  for (const bad of [['--bogus'], ['stray'], ['--max-failed-starts', 'two'], ['--grace', 'long'], ['--'], ['--console', 'loud']]) {
    t.throws(() => parseOptions(bad, env), { code: 'EUSAGE' }, bad.join(' '));
  }
});

t.test('backoff after failed starts', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7, 8, 9].map(backoff), [0, 100, 200, 400, 800, 1600, 3200, 5000, 5000]);
});

t.test('ledger: exits and notify datagrams numbered once, kept until acknowledged, in order', async (t) => {
  const l = new Ledger();
  const a = l.add({ kind: 'exit', pid: 10, code: 3, signal: null, core: false }, 1000).event;
  const b = l.add({ kind: 'notify', pid: 11, uid: 0, gid: 0, fields: { READY: '1' }, raw: 'READY=1', lineage: null }, 1001).event;
  const c = l.add({ kind: 'exit', pid: 12, code: 0, signal: null, core: false }, 1002).event;
  t.same([a.seq, b.seq, c.seq], [1, 2, 3]);
  t.same(a, { kind: 'exit', seq: 1, pid: 10, code: 3, signal: null, core: false, time: 1000 });
  t.same(b, { kind: 'notify', seq: 2, pid: 11, uid: 0, gid: 0, fields: { READY: '1' }, raw: 'READY=1', lineage: null, time: 1001 });
  l.ack(2);
  l.ack(2);
  l.ack(99);
  t.same(l.pending().map((e) => e.seq), [1, 3], 'acks are idempotent; unknown seqs ignored');
  l.ack(1);
  t.equal(l.add({ kind: 'exit', pid: 13, code: 1, signal: null, core: false }).event.seq, 4, 'seqs never repeat');
});

t.test('the core finds its fds by name', async (t) => {
  t.same(inheritedFds({ SYSMASTER_FDS: 'control:3' }), { control: 3 });
  t.same(inheritedFds({ SYSMASTER_FDS: 'store:7,control:12' }), { control: 12 });
  t.equal(inheritedFds({}), null);
  t.equal(inheritedFds({ SYSMASTER_FDS: 'control:' }), null);
});

t.test("the core's environment", async (t) => {
  process.env.NODE_EXTRA_CA_CERTS = '/ca.pem';
  process.env.SYSMASTER_MAIN_CMD = '["stale"]';
  t.teardown(() => {
    delete process.env.NODE_EXTRA_CA_CERTS;
    delete process.env.SYSMASTER_MAIN_CMD;
  });
  process.env.SYSMASTER_UP = 'prefix';
  t.teardown(() => void delete process.env.SYSMASTER_UP);
  const env = coreEnv({ stateDir: '/s', spec: '/x.toml', main: null, watchdogMs: 2000, console: 'off' });
  t.match(env, { SYSMASTER_STATE_DIR: '/s', SYSMASTER_SPEC: '/x.toml', SYSMASTER_FDS: 'control:3', SYSMASTER_WATCHDOG_MS: '2000' });
  t.equal(heartbeatMs(env), 500, 'four beats per watchdog period');
  t.equal(heartbeatMs({ SYSMASTER_WATCHDOG_MS: '60000' }), 1000, 'at least one a second');
  t.equal(heartbeatMs({ SYSMASTER_WATCHDOG_MS: '0' }), 1000, 'no watchdog');
  t.notOk('NODE_EXTRA_CA_CERTS' in env, 'NODE_EXTRA_CA_CERTS stripped');
  t.notOk('SYSMASTER_MAIN_CMD' in env, 'no main command unless given');
  t.notOk('SYSMASTER_UP' in env, 'console off: the core shows nothing');
  t.equal(coreEnv({ stateDir: '/s', spec: '/x.toml', main: ['app'], watchdogMs: 0, console: 'plain' }).SYSMASTER_UP, 'plain');
});
