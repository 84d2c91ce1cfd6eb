// The log process (docs/logs.md, "The log process"), with real processes under sysmaster-init: it is not the core,
// so a dead core stops no output; when it dies itself the core starts another, and what the services wrote meanwhile
// waits in their FIFOs. ForwardToSyslog on a real datagram socket; records a full disk refuses are counted.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { descendants } from '../../init/killall.js';
import { bindUnix, closeFd, unixDgramSocket } from '../../reconciler/sys.js';
import { scratch, sleep, Up, writeSpec } from './harness.js';

const COUNTER = `[service.counter]
ExecStart = ["/bin/sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.02; done"]
`;

interface Record {
  time: number;
  pid: number | null;
  message: string;
}

async function until<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function loggerOf(up: Up): number | undefined {
  return descendants(up.child.pid!).find((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sysmaster-logger');
    } catch {
      return false;
    }
  });
}

/** `sctl logs -o json`: one record per line, as journalctl -o json. */
async function jsonLines(up: Up, unit: string): Promise<Record[]> {
  const r = await up.sctl('-o', 'json', 'logs', unit, '-n', '100000');
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record);
}

const numbers = (rs: Record[]) => rs.map((r) => Number(/^line (\d+)$/.exec(r.message)?.[1]));
const consecutive = (ns: number[]) => ns.every((n, i) => n === i + 1);

async function counter(t: Test) {
  const dir = scratch('sm-logger-');
  const stateDir = path.join(dir, 'state');
  const up = new Up(writeSpec(dir, COUNTER), stateDir, [], { init: true });
  t.teardown(() => up.stop());
  await up.ready();
  const logs = () => jsonLines(up, 'counter');
  await until(async () => (await logs()).length >= 10, 'ten lines');
  const pid = Number((await up.sctl('show', 'counter', '-p', 'MainPID', '--value')).stdout);
  return { up, stateDir, logs, pid };
}

t.test('kill -9 of the log process: the core starts another; the service keeps its PID; no line lost or repeated', async (t) => {
  const { up, logs, pid } = await counter(t);
  const logger = loggerOf(up);
  t.ok(logger, `the log process runs as ${logger}, not the core ${up.corePid()}`);
  t.not(logger, up.corePid());
  process.kill(logger!, 'SIGKILL');
  const next = await until(() => {
    const p = loggerOf(up);
    return p !== logger && p;
  }, 'a new log process');
  t.pass(`a new log process: ${next}`);
  const n = (await logs()).length;
  await until(async () => (await logs()).length > n + 10, 'ten more lines');
  const rs = await logs();
  t.ok(consecutive(numbers(rs)), `lines 1 to ${rs.length}, none lost or repeated across the kill`);
  t.ok(rs.every((r) => r.pid === pid), 'all recorded with the same main pid');
  t.equal(Number((await up.sctl('show', 'counter', '-p', 'MainPID', '--value')).stdout), pid, 'the service kept its PID');
  const manager = await jsonLines(up, 'sysmaster');
  t.ok(manager.some((r) => /the log process went away/.test(r.message)), "the manager's log says so");
});

t.test('kill -9 of the core while init is stopped: with no core at all, the log process stores on', async (t) => {
  const { up, stateDir, logs } = await counter(t);
  const file = path.join(stateDir, 'logs', 'counter.service.log');
  const stored = () => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  const init = up.child.pid!;
  const core = up.corePid();
  process.kill(init, 'SIGSTOP');
  try {
    process.kill(core, 'SIGKILL');
    await until(() => !fs.existsSync(`/proc/${core}`) || fs.readFileSync(`/proc/${core}/stat`, 'utf8').split(') ')[1][0] === 'Z', 'the core to die');
    const before = stored();
    await sleep(500);
    t.ok(stored() > before + 5, `${stored() - before} lines stored in 500 ms with no core`);
  } finally {
    process.kill(init, 'SIGCONT');
  }
  await up.waitFor(/took over/);
  const rs = await logs();
  t.ok(consecutive(numbers(rs)), `lines 1 to ${rs.length}: none lost or repeated`);
});

t.test('ForwardToSyslog: each record is also a datagram on the syslog socket', async (t) => {
  const dir = scratch('sm-syslog-');
  const sock = path.join(dir, 'log.sock');
  const fd = unixDgramSocket(true);
  bindUnix(fd, sock);
  t.teardown(() => closeFd(fd));
  process.env.SYSMASTER_SYSLOG_SOCKET = sock;
  const up = new Up(
    writeSpec(dir, `[manager]\nForwardToSyslog = true\n\n[service.hello]\nExecStart = ["/bin/sh", "-c", "echo '<3>it broke'; exec sleep 60"]\n`),
    path.join(dir, 'state'),
    [],
    { init: true },
  );
  delete process.env.SYSMASTER_SYSLOG_SOCKET;
  t.teardown(() => up.stop());
  await up.ready();
  const pid = Number((await up.sctl('show', 'hello', '-p', 'MainPID', '--value')).stdout);
  const buf = Buffer.alloc(4096);
  const got: string[] = [];
  await until(() => {
    for (;;) {
      try {
        const n = fs.readSync(fd, buf);
        got.push(buf.toString('utf8', 0, n));
      } catch {
        break;
      }
    }
    return got.some((g) => g.includes('it broke'));
  }, 'the datagram');
  const line = got.find((g) => g.includes('it broke'))!;
  // daemon (3) × 8 + err (3) = 27
  t.match(line, new RegExp(`^<27>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d hello\\[${pid}\\]: it broke$`), line);
});

t.test('a full disk: the records it refuses are counted and shown by sctl status', async (t) => {
  const dir = scratch('sm-full-');
  const stateDir = path.join(dir, 'state');
  const logsDir = path.join(stateDir, 'logs');
  fs.mkdirSync(logsDir, { recursive: true, mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', logsDir]);
  t.teardown(() => execFileSync('umount', ['-l', logsDir]));
  const up = new Up(
    writeSpec(dir, `[service.flood]\nExecStart = ["/bin/sh", "-c", "seq 1 20000 | sed 's/^/a line of output number /'; exec sleep 60"]\n`),
    stateDir,
    [],
    { init: true },
  );
  t.teardown(() => up.stop());
  await up.ready();
  const lost = await until(async () => (await up.json<{ logsLost?: number }[]>('status', 'flood'))[0].logsLost, 'a loss to be counted');
  t.ok(lost > 0, `${lost} records lost, counted`);
  const text = await up.sctl('status', 'flood');
  t.match(text.stdout, /Logs: \d+ records lost/, 'sctl status says so');
});

t.test('the first commands of a boot: what they write before the log process runs is kept', async (t) => {
  const dir = scratch('sm-boot-');
  const up = new Up(
    writeSpec(dir, `[service.early]\nExecStartPre = ["/bin/echo", "before the log process"]\nExecStart = ["/bin/sleep", "60"]\n`),
    path.join(dir, 'state'),
    [],
    { init: true },
  );
  t.teardown(() => up.stop());
  await up.ready();
  const rs = await jsonLines(up, 'early');
  t.ok(rs.some((r) => r.message === 'before the log process'), 'stored');
  await up.waitFor(/^early\.service +\| before the log process$/m);
  t.pass('and shown on the console');
});
