// RuntimeDirectory= and its family with real services: the directories exist with their mode and owner when the
// commands run, the variables name them, RuntimeDirectory= goes at stop as RuntimeDirectoryPreserve= says, and a
// directory that cannot be made fails the start with systemd's exit status. The roots are below a scratch directory
// (SYSMASTER_EXEC_DIRECTORY_ROOT, which the manager inherits from this process).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { resolveUser } from '../../reconciler/users.js';
import { marker, scratch, Up, writeSpec } from './harness.js';

const root = process.getuid!() === 0;

t.test('RuntimeDirectory=, StateDirectory= and the rest', async (t) => {
  const dir = scratch();
  // User=nobody must reach the roots below it.
  fs.chmodSync(dir, 0o755);
  const under = (p: string) => path.join(dir, 'roots', p);
  process.env.SYSMASTER_EXEC_DIRECTORY_ROOT = path.join(dir, 'roots');
  fs.mkdirSync(under('var/lib'), { recursive: true });
  fs.writeFileSync(under('var/lib/blocked'), 'a file where the directory should be');
  const report = under('var/lib/app/report');
  const spec = writeSpec(
    dir,
    `[service.app]
${root ? 'User = "nobody"' : ''}
RuntimeDirectory = ["app", "app/sub"]
RuntimeDirectoryMode = "0750"
StateDirectory = "app"
CacheDirectory = "app"
ExecStartPre = ["/bin/sh", "-c", "[ -d ${under('run/app/sub')} ] && echo pre-saw-it > \${STATE_DIRECTORY}/pre"]
ExecStart = ["/bin/sh", "-c", "stat -c '%a %U' ${under('run/app')} ${under('run/app/sub')} > ${report}; printenv RUNTIME_DIRECTORY STATE_DIRECTORY CACHE_DIRECTORY >> ${report}; exec sleep ${marker()}"]

[service.kept]
RuntimeDirectory = "kept"
RuntimeDirectoryPreserve = "yes"
ExecStart = ["/bin/sleep", "${marker()}"]

[service.again]
RuntimeDirectory = "again"
RuntimeDirectoryPreserve = "restart"
ExecStart = ["/bin/sleep", "${marker()}"]

[service.fresh]
RuntimeDirectory = "fresh"
ExecStart = ["/bin/sleep", "${marker()}"]

[service.broken]
StateDirectory = "blocked"
ExecStart = ["/bin/sleep", "${marker()}"]
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(async () => {
    await up.stop();
    delete process.env.SYSMASTER_EXEC_DIRECTORY_ROOT;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await up.ready();
  const active = (unit: string) => up.prop(unit, 'ActiveState', (v) => v === 'active');
  const inactive = (unit: string) => up.prop(unit, 'ActiveState', (v) => v === 'inactive');

  t.test('made before the first command, with the mode and the owner; the variables name them', async (t) => {
    await active('app');
    while (!fs.existsSync(report) || fs.readFileSync(report, 'utf8').split('\n').length < 5) await new Promise((r) => setTimeout(r, 20));
    const user = root ? resolveUser('nobody').name : resolveUser(null).name;
    t.same(fs.readFileSync(report, 'utf8').trim().split('\n'), [
      `750 ${user}`,
      `750 ${user}`,
      `${under('run/app')}:${under('run/app/sub')}`,
      under('var/lib/app'),
      under('var/cache/app'),
    ]);
    t.equal(fs.readFileSync(under('var/lib/app/pre'), 'utf8'), 'pre-saw-it\n', 'ExecStartPre= had them too, ${STATE_DIRECTORY} expanded');
    t.equal(fs.statSync(under('var/cache/app')).mode & 0o7777, 0o755, 'the default mode');
  });

  t.test('RuntimeDirectory= goes at stop; StateDirectory= and CacheDirectory= stay', async (t) => {
    t.equal((await up.sctl('stop', 'app')).code, 0);
    await inactive('app');
    t.notOk(fs.existsSync(under('run/app')), 'RuntimeDirectory= removed');
    t.ok(fs.existsSync(report), 'StateDirectory= kept');
    t.ok(fs.existsSync(under('var/cache/app')), 'CacheDirectory= kept');
  });

  t.test('RuntimeDirectoryPreserve=yes keeps it at stop', async (t) => {
    await active('kept');
    fs.writeFileSync(under('run/kept/mark'), '');
    t.equal((await up.sctl('stop', 'kept')).code, 0);
    await inactive('kept');
    t.ok(fs.existsSync(under('run/kept/mark')));
  });

  t.test('RuntimeDirectoryPreserve=restart keeps it across a restart only; =no empties it', async (t) => {
    for (const unit of ['again', 'fresh']) {
      await active(unit);
      fs.writeFileSync(under(`run/${unit}/mark`), '');
      t.equal((await up.sctl('restart', unit)).code, 0);
      await active(unit);
    }
    t.ok(fs.existsSync(under('run/again/mark')), 'restart: kept across the restart');
    t.ok(fs.existsSync(under('run/fresh')), 'no: made again for the new run');
    t.notOk(fs.existsSync(under('run/fresh/mark')), 'no: a new, empty directory');
    t.equal((await up.sctl('stop', 'again')).code, 0);
    await inactive('again');
    t.notOk(fs.existsSync(under('run/again')), 'restart: removed at a stop');
  });

  t.test('a directory that cannot be made fails the start with exit status 238 (STATE_DIRECTORY)', async (t) => {
    await up.prop('broken', 'ActiveState', (v) => v === 'failed');
    t.equal(await up.prop('broken', 'Result', () => true), 'exit-code');
    t.equal(await up.prop('broken', 'ExecMainStatus', () => true), '238');
    t.match(up.output, `StateDirectory=: cannot make ${under('var/lib/blocked')}: it exists and is not a directory (exit status 238, STATE_DIRECTORY)`);
  });
});
