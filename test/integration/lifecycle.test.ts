// End to end through `sysmaster up` and `sctl`, with real processes.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { marker, pidsWith, scratch, sleep, Up, writeSpec } from './harness.js';

interface Info {
  name: string;
  type: string;
  active: string;
  sub: string;
  mainPid: number | null;
  description: string;
}

t.test('a 50-unit DAG comes up in dependency order and goes down in reverse', async (t) => {
  const dir = scratch();
  const log = path.join(dir, 'order.log');
  const mark = marker();
  const layers = 5;
  const width = 10;
  const units: string[] = [];
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      const name = `u${l}x${i}`;
      const deps = l === 0 ? [] : [`u${l - 1}x${i}.service`, `u${l - 1}x${(i + 3) % width}.service`];
      units.push(`[service.${name}]
Type = "exec"
ExecStartPre = ["/bin/sh", "-c", "echo up ${name} >> ${log}"]
ExecStart = ["/bin/sleep", "${mark}"]
ExecStopPost = ["/bin/sh", "-c", "echo down ${name} >> ${log}"]
Requires = ${JSON.stringify(deps)}
After = ${JSON.stringify(deps)}
`);
    }
  }
  const spec = writeSpec(dir, units.join('\n'));
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const list = await up.json<Info[]>('list-units', '--type=service');
  t.equal(list.length, 50);
  t.ok(list.every((u) => u.active === 'active' && u.sub === 'running' && typeof u.mainPid === 'number'), 'all running');
  t.equal(pidsWith(mark).length, 50, '50 payloads alive');
  t.equal(await up.stop(), 0, 'orderly exit');
  t.same(pidsWith(mark), [], 'no payload left');

  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  const at = (what: string) => lines.indexOf(what);
  for (let l = 1; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      for (const dep of [`u${l - 1}x${i}`, `u${l - 1}x${(i + 3) % width}`]) {
        const me = `u${l}x${i}`;
        t.ok(at(`up ${dep}`) < at(`up ${me}`), `${dep} up before ${me}`);
        t.ok(at(`down ${me}`) < at(`down ${dep}`), `${me} down before ${dep}`);
      }
    }
  }
});

t.test('Restart= against real exit codes and signals', async (t) => {
  const dir = scratch();
  // cause → the payload's last act
  const causes: Record<string, string> = {
    clean: 'exit 0',
    code: 'exit 3',
    sigkill: 'kill -KILL $$$$', // $$ is systemd's escape for a literal $
    sigterm: 'kill -TERM $$$$', // clean for the main process, as in systemd
  };
  // systemd.service(5)'s table: which causes restart under which policy
  const table: Record<string, string[]> = {
    no: [],
    always: ['clean', 'code', 'sigkill', 'sigterm'],
    'on-success': ['clean', 'sigterm'],
    'on-failure': ['code', 'sigkill'],
    'on-abnormal': ['sigkill'],
    'on-abort': ['sigkill'],
  };
  const mark = marker();
  const units: string[] = [];
  for (const policy of Object.keys(table)) {
    for (const [cause, act] of Object.entries(causes)) {
      const runs = path.join(dir, `${policy}-${cause}.runs`);
      // The second run stays up, so a restart is visible as exactly two runs.
      units.push(`[service.r-${policy}-${cause}]
ExecStart = ["/bin/sh", "-c", "echo run >> ${runs}; if [ $(wc -l < ${runs}) -ge 2 ]; then exec sleep ${mark}; fi; ${act}"]
Restart = "${policy}"
RestartSec = "50ms"
`);
    }
  }
  const up = new Up(writeSpec(dir, units.join('\n')), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  for (const [policy, restarts] of Object.entries(table)) {
    for (const cause of Object.keys(causes)) {
      const unit = `r-${policy}-${cause}.service`;
      const runs = path.join(dir, `${policy}-${cause}.runs`);
      if (restarts.includes(cause)) {
        await up.until(unit, 'SubState', (v) => v === 'running');
        t.equal(fs.readFileSync(runs, 'utf8').trim().split('\n').length, 2, `${policy} restarts after ${cause}`);
        t.equal(await up.until(unit, 'NRestarts', () => true), '1', `${unit} NRestarts=1`);
      } else {
        const state = await up.until(unit, 'ActiveState', (v) => v === 'inactive' || v === 'failed');
        await sleep(300); // six RestartSec periods: a restart would have happened by now
        t.equal(fs.readFileSync(runs, 'utf8').trim().split('\n').length, 1, `${policy} does not restart after ${cause}`);
        t.equal(state, cause === 'clean' || cause === 'sigterm' ? 'inactive' : 'failed', `${unit} ends ${state}`);
      }
    }
  }
  const result = await up.sctl('show', 'r-no-code', '-p', 'Result,ExecMainStatus', '--value');
  t.same(result.stdout.trim().split('\n'), ['exit-code', '3']);
  const sig = await up.sctl('show', 'r-no-sigkill', '-p', 'Result,ExecMainCode,ExecMainStatus', '--value');
  t.same(sig.stdout.trim().split('\n'), ['signal', 'killed', '9']);
});

t.test('the start limit stops a crash loop with start-limit-hit', async (t) => {
  const dir = scratch();
  const runs = path.join(dir, 'runs');
  const up = new Up(
    writeSpec(
      dir,
      `[service.loop]
ExecStart = ["/bin/sh", "-c", "echo run >> ${runs}; exit 1"]
Restart = "always"
RestartSec = "10ms"
StartLimitBurst = 3
StartLimitIntervalSec = "30s"
`,
    ),
    path.join(dir, 'state'),
  );
  t.teardown(() => up.stop());
  await up.ready();
  await up.until('loop', 'Result', (v) => v === 'start-limit-hit');
  t.equal(await up.until('loop', 'ActiveState', () => true), 'failed');
  t.equal(fs.readFileSync(runs, 'utf8').trim().split('\n').length, 3, 'three runs, then the limit');
  const failed = await up.sctl('is-failed', 'loop');
  t.equal(failed.code, 0, 'is-failed exits 0');
  await up.sctl('reset-failed', 'loop');
  t.equal(await up.until('loop', 'ActiveState', (v) => v === 'inactive'), 'inactive');
});

t.test('OnFailure starts the handler; OnSuccess too', async (t) => {
  const dir = scratch();
  const up = new Up(
    writeSpec(
      dir,
      `[service.bad]
Type = "oneshot"
ExecStart = ["/bin/false"]
OnFailure = ["alarm.service"]

[service.good]
Type = "oneshot"
ExecStart = ["/bin/true"]
OnSuccess = ["cheer.service"]

[service.alarm]
Type = "oneshot"
ExecStart = ["/bin/sh", "-c", "touch ${dir}/alarm"]

[service.cheer]
Type = "oneshot"
ExecStart = ["/bin/sh", "-c", "touch ${dir}/cheer"]
`,
    ),
    path.join(dir, 'state'),
  );
  t.teardown(() => up.stop());
  await up.ready();
  await up.until('alarm', 'Result', () => fs.existsSync(`${dir}/alarm`));
  await up.until('cheer', 'Result', () => fs.existsSync(`${dir}/cheer`));
  t.equal(await up.until('bad', 'ActiveState', () => true), 'failed');
});

t.test('KillMode with process groups leaves no stray process', async (t) => {
  const dir = scratch();
  const spawner = (mark: string) => `["/bin/sh", "-c", "sleep ${mark} & sleep ${mark} & wait"]`;
  const [g, m, p] = [marker(), marker(), marker()];
  const up = new Up(
    writeSpec(
      dir,
      `[service.group]
ExecStart = ${spawner(g)}
KillMode = "control-group"

[service.mixed]
ExecStart = ${spawner(m)}
KillMode = "mixed"

[service.proc]
ExecStart = ${spawner(p)}
KillMode = "process"
`,
    ),
    path.join(dir, 'state'),
  );
  t.teardown(() => up.stop());
  await up.ready();
  // A simple service is active once spawned: its shell forks the two children a moment later.
  for (let i = 0; i < 250 && [g, m, p].some((x) => pidsWith(x).length < 3); i++) await sleep(20);
  t.equal(pidsWith(g).length, 3, 'the shell and its two children');
  for (const u of ['group', 'mixed']) {
    const r = await up.sctl('stop', u);
    t.equal(r.code, 0, `stop ${u}`);
  }
  // The final SIGKILL of what is left is an effect that runs after the next save, which may come a moment after the
  // stop job's answer (a known gap: systemd answers once the group is empty). Give it that moment.
  for (let i = 0; i < 100 && pidsWith(g).length + pidsWith(m).length > 0; i++) await sleep(20);
  t.same(pidsWith(g), [], 'control-group: children killed');
  t.same(pidsWith(m), [], 'mixed: children killed');
  await up.sctl('stop', 'proc');
  const left = pidsWith(p);
  t.equal(left.length, 2, 'process: the children are left running, as systemd does');
  for (const p of left) process.kill(p, 'SIGKILL');
});

t.test('User= and Group= drop privileges; WorkingDirectory and Environment reach the process', { skip: process.getuid?.() !== 0 ? 'needs root to switch users' : false }, async (t) => {
  const dir = scratch();
  fs.chmodSync(dir, 0o777);
  const up = new Up(
    writeSpec(
      dir,
      `[service.who]
Type = "oneshot"
RemainAfterExit = true
User = "nobody"
Group = "nogroup"
WorkingDirectory = "/tmp"
Environment = { GREETING = "hello there" }
ExecStart = ["/bin/sh", "-c", "echo $(id -u) $(id -g) $(pwd) $HOME $USER \\"$GREETING\\" > ${dir}/who"]
`,
    ),
    path.join(dir, 'state'),
  );
  t.teardown(() => up.stop());
  await up.ready();
  await up.until('who', 'ActiveState', (v) => v === 'active');
  t.equal(fs.readFileSync(`${dir}/who`, 'utf8').trim(), '65534 65534 /tmp /nonexistent nobody hello there');
});

t.test('Ctrl-C in the middle of a bring-up stops everything it started, and nothing starts after', async (t) => {
  const dir = scratch();
  const mark = marker();
  const units: string[] = [];
  for (let l = 0; l < 6; l++) {
    for (let i = 0; i < 10; i++) {
      const deps = l === 0 ? [] : [`c${l - 1}x${i}.service`];
      units.push(`[service.c${l}x${i}]
Type = "notify"
NotifyAccess = "all"
ExecStart = ["/bin/sh", "-c", "sleep 0.05; systemd-notify --ready; exec sleep ${mark}"]
Requires = ${JSON.stringify(deps)}
After = ${JSON.stringify(deps)}
`);
    }
  }
  const up = new Up(writeSpec(dir, units.join('\n')), path.join(dir, 'state'));
  t.teardown(() => up.stop('SIGKILL'));
  await up.waitFor(/c1x\d\.service +\| activating → active/);
  t.equal(await up.stop('SIGINT'), 0, 'orderly exit');
  await sleep(300); // a start that slipped through would have spawned by now
  t.same(pidsWith(mark), [], 'no payload left running');
});

t.test('a second Ctrl-C does not wait for the orderly stop: what is left is killed, exit 130', async (t) => {
  const dir = scratch();
  const mark = marker();
  const spec = `[service.stubborn]
ExecStart = ["/bin/sh", "-c", "trap '' TERM; exec sleep ${mark}"]
TimeoutStopSec = "5min"
`;
  const up = new Up(writeSpec(dir, spec), path.join(dir, 'state'));
  t.teardown(() => up.stop('SIGKILL'));
  await up.ready();
  // The trap is set once sleep runs (the shell execs it after the trap): a SIGTERM before that would kill the shell.
  for (let i = 0; i < 200 && !pidsWith(mark).length; i++) await sleep(25);
  up.child.kill('SIGINT');
  await up.waitFor(/stopping all units/);
  t.equal(pidsWith(mark).length, 1, 'SIGTERM ignored: still running');
  t.equal(await up.stop('SIGINT'), 130);
  t.same(pidsWith(mark), [], 'killed');
});
