// Path units with real files and inotify: a file that appears starts its service, MakeDirectory= makes the spool
// that DirectoryNotEmpty= watches, PathChanged= fires on a write, and what happens while the core is killed -9 is
// still seen by the next core.
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { scratch, sleep, Up, writeSpec } from './harness.js';

/** Lines of a log the services append to (missing: none yet). */
const lines = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

/** Waits for `ok` (failing with the manager's output after `ms`), and counts it as an assertion of `t`. */
async function until(t: Test, what: string, ok: () => boolean, up: Up, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}:\n${up.output}`);
    await sleep(25);
  }
  t.pass(what);
}

t.test('path units start their services on real file events, also across a core killed -9', async (t) => {
  const dir = scratch();
  const log = (name: string) => path.join(dir, `${name}.log`);
  const spool = path.join(dir, 'spool', 'in');
  const spec = writeSpec(
    dir,
    `[path.flag]
PathExists = "${dir}/flag"

[service.flag]
Type = "oneshot"
ExecStart = ["/bin/sh", "-c", "echo run >> ${log('flag')}; rm -f ${dir}/flag"]

[path.spool]
DirectoryNotEmpty = "${spool}"
MakeDirectory = true
DirectoryMode = "0700"

[service.spool]
Type = "oneshot"
ExecStart = ["/bin/sh", "-c", "for f in ${spool}/*; do echo \\"$f\\" >> ${log('spool')}; rm -f \\"$f\\"; done"]

[path.conf]
PathChanged = "${dir}/conf"
Unit = "reload-conf.service"

[path.glob]
PathExistsGlob = "${dir}/drop/*.req"

[service.glob]
Type = "oneshot"
ExecStart = ["/bin/sh", "-c", "for f in ${dir}/drop/*.req; do echo \\"$f\\" >> ${log('glob')}; rm -f \\"$f\\"; done"]

[path.live]
PathModified = "${dir}/live"

[service.live]
Type = "oneshot"
ExecStart = ["/bin/sh", "-c", "echo modified >> ${log('live')}"]

[service.reload-conf]
Type = "oneshot"
ExecStart = ["/bin/sh", "-c", "cat ${dir}/conf >> ${log('conf')}"]
`,
  );
  fs.writeFileSync(path.join(dir, 'conf'), 'v1\n');
  fs.writeFileSync(path.join(dir, 'live'), '');
  fs.mkdirSync(path.join(dir, 'drop'));
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(async () => {
    await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await up.ready();

  t.test('the path units wait; their services do not run on their own', async (t) => {
    for (const name of ['flag.path', 'spool.path', 'conf.path']) t.equal(await up.prop(name, 'SubState', (v) => v === 'waiting'), 'waiting', name);
    t.equal(await up.prop('flag.service', 'ActiveState', () => true), 'inactive');
    t.same([lines(log('flag')), lines(log('spool')), lines(log('conf'))], [[], [], []]);
  });

  t.test('MakeDirectory= makes the watched directory with DirectoryMode=', async (t) => {
    t.ok(fs.statSync(spool).isDirectory());
    t.equal(fs.statSync(spool).mode & 0o777, 0o700 & ~process.umask());
  });

  t.test('PathExists=: creating the file runs the service, which removes it', async (t) => {
    fs.writeFileSync(path.join(dir, 'flag'), '');
    await until(t, 'flag.service to run', () => lines(log('flag')).length === 1, up);
    await up.prop('flag.path', 'SubState', (v) => v === 'waiting');
    t.notOk(fs.existsSync(path.join(dir, 'flag')));
    t.match(up.output, /flag\.service +\| inactive → activating/);
  });

  t.test('DirectoryNotEmpty=: a file in the spool runs the service', async (t) => {
    fs.writeFileSync(path.join(spool, 'job1'), 'x');
    await until(t, 'spool.service to take job1', () => lines(log('spool')).includes(path.join(spool, 'job1')), up);
    // The service logs a job before it removes it.
    await until(t, 'the spool to be empty', () => fs.readdirSync(spool).length === 0, up);
  });

  t.test('PathChanged=: a write (closed after writing) runs the service; reading does not', async (t) => {
    fs.readFileSync(path.join(dir, 'conf'));
    await sleep(300);
    t.same(lines(log('conf')), [], 'a read is no change');
    fs.writeFileSync(path.join(dir, 'conf'), 'v2\n');
    await until(t, 'reload-conf.service to run', () => lines(log('conf')).includes('v2'), up);
    t.same(lines(log('conf')), ['v2'], 'once for one write');
  });

  t.test('PathExistsGlob=: a file matching the glob runs the service; another name does not', async (t) => {
    fs.writeFileSync(path.join(dir, 'drop', 'a.txt'), '');
    await sleep(300);
    t.same(lines(log('glob')), [], 'a.txt does not match');
    fs.writeFileSync(path.join(dir, 'drop', 'b.req'), '');
    await until(t, 'glob.service to take b.req', () => lines(log('glob')).includes(path.join(dir, 'drop', 'b.req')), up);
    await until(t, 'b.req removed', () => fs.readdirSync(path.join(dir, 'drop')).join() === 'a.txt', up);
  });

  t.test('PathModified= fires on a write the writer has not closed yet; PathChanged= waits for the close', async (t) => {
    const live = fs.openSync(path.join(dir, 'live'), 'a');
    const conf = fs.openSync(path.join(dir, 'conf'), 'w');
    const before = lines(log('conf')).length;
    fs.writeSync(live, 'x');
    fs.writeSync(conf, 'v2b\n');
    await until(t, 'live.service to run', () => lines(log('live')).length === 1, up);
    t.equal(lines(log('conf')).length, before, 'the conf still open is not taken yet');
    fs.closeSync(conf);
    await until(t, 'reload-conf.service to run once conf is closed', () => lines(log('conf')).includes('v2b'), up);
    fs.closeSync(live);
  });

  t.test('made while the core is killed -9: seen by the next core', async (t) => {
    const runs = lines(log('flag')).length;
    await up.killCore(async () => {
      fs.writeFileSync(path.join(dir, 'flag'), '');
      fs.writeFileSync(path.join(spool, 'job2'), 'x');
      fs.writeFileSync(path.join(dir, 'conf'), 'v3\n');
    });
    await until(t, 'flag.service to run again', () => lines(log('flag')).length === runs + 1, up);
    await until(t, 'spool.service to take job2', () => lines(log('spool')).includes(path.join(spool, 'job2')), up);
    await until(t, 'reload-conf.service to see v3 (the mtime the context kept)', () => lines(log('conf')).includes('v3'), up);
    await until(t, 'the flag removed', () => !fs.existsSync(path.join(dir, 'flag')), up);
  });

  t.test('after the takeover the watches work again', async (t) => {
    fs.writeFileSync(path.join(spool, 'job3'), 'x');
    await until(t, 'spool.service to take job3', () => lines(log('spool')).includes(path.join(spool, 'job3')), up);
  });

  t.test('stopping the path unit stops the watching', async (t) => {
    t.equal((await up.sctl('stop', 'spool.path')).code, 0);
    fs.writeFileSync(path.join(spool, 'job4'), 'x');
    await sleep(500);
    t.notOk(lines(log('spool')).includes(path.join(spool, 'job4')), 'job4 stays');
    t.equal((await up.sctl('start', 'spool.path')).code, 0);
    await until(t, 'spool.service to take job4 once the path unit runs again', () => lines(log('spool')).includes(path.join(spool, 'job4')), up);
  });
});
