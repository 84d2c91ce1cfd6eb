// The image as an OCI bundle under plain runc, as iSulad and other OCI engines run it: containers/oci/bundle.sh makes
// the bundle (docs/containers.md), `runc run` starts it. sysmaster-init finds no /.dockerenv and no $container
// there and knows it is in a container by being PID 1 of its own PID namespace. The example spec comes up and
// serves, and `runc kill ID TERM` stops it with exit 0; a main command's status is the container's.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { root, scratch } from '../integration/harness.js';
import { containersUnavailable, eventually, image, run } from './harness.js';

const bundleScript = path.join(root, 'containers/oci/bundle.sh');

function runcUnavailable(): string | null {
  const why = containersUnavailable();
  if (why) return why;
  const v = spawnSync('runc', ['--version'], { encoding: 'utf8' });
  if (v.error) return `no runc: ${v.error.message} (Debian: apt-get install -y runc)`;
  if (process.getuid?.() !== 0) return 'runc needs root for this bundle (a rootless one needs `runc spec --rootless`)';
  return null;
}

const why = runcUnavailable();
const opts = { skip: why ?? false };

/** A bundle of the image with sysmaster-init's `args`, removed at teardown. */
async function bundle(t: Test, args: string[] = []): Promise<string> {
  const dir = scratch('sm-bundle-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = await run(bundleScript, [dir, image, ...args]);
  if (r.code !== 0) throw new Error(`${bundleScript}: ${r.stderr}`);
  return dir;
}

/** `runc run` in the foreground, as its own child: `code` is the container's exit status. */
class Runc {
  readonly id = `sm-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(t: Test, dir: string) {
    const child = spawn('runc', ['run', '--bundle', dir, this.id], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (this.output += d));
    child.stderr.on('data', (d) => (this.output += d));
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    t.teardown(async () => {
      await run('runc', ['delete', '--force', this.id]);
      await this.exited;
    });
  }

  exec(...cmd: string[]) {
    return run('runc', ['exec', this.id, ...cmd]);
  }
}

t.test('runc runs the bundle: the example spec serves, runc kill TERM stops it with exit 0', opts, async (t) => {
  const c = new Runc(t, await bundle(t));
  const units = await eventually(async () => {
    // The container's own mounts are units too; the spec's are what this is about.
    const r = await c.exec('sctl', '-o', 'json', 'list-units', '--type=service,target');
    const list = r.code === 0 && (JSON.parse(r.stdout) as { name: string; active: string; sub: string }[]);
    return list && list.length > 0 && list.every((u) => u.active === 'active') && Object.fromEntries(list.map((u) => [u.name, `${u.active}/${u.sub}`]));
  }, 'every unit active under runc', 60_000).catch((err) => {
    throw new Error(`${(err as Error).message}\n${c.output}`);
  });
  t.same(
    units,
    { 'default.target': 'active/active', 'setup.service': 'active/exited', 'web.service': 'active/running', 'ticker.service': 'active/running' },
    'the units of /etc/sysmaster/system.toml are up',
  );
  t.equal((await c.exec('wget', '-qO-', 'http://127.0.0.1:8080/')).stdout, 'hello from sysmaster\n', 'web.service serves');
  const pid1 = await c.exec('sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; tr "\\0" "\\n" < /proc/1/environ | grep -c "^container=" ; ls -a /');
  t.match(pid1.stdout, /^\/usr\/bin\/node --max-semi-space-size=2 \/opt\/sysmaster\/bin\/sysmaster-init\.js \n0\n/, 'PID 1 is sysmaster-init, with no $container');
  t.notMatch(pid1.stdout, /\.dockerenv/, 'there is no /.dockerenv');
  t.match(c.output, /^web\.service +\| activating → active \(running\)$/m, 'the console has unit prefixes: init knows it is in a container');

  const t0 = Date.now();
  const k = await run('runc', ['kill', c.id, 'TERM']);
  t.equal(k.code, 0, 'runc kill ID TERM');
  t.equal(await c.exited, 0, 'runc run exits 0');
  t.comment(`stopped ${Date.now() - t0} ms after SIGTERM`);
  t.match(c.output, /SIGTERM: asking the core to stop everything within 8000 ms/, "a container's grace: 8 s");
  t.match(c.output, /^web\.service +\| deactivating → inactive \(dead\)$/m, 'the units were stopped');
});

t.test("a bundle with a main command: runc run exits with the command's status", opts, async (t) => {
  const c = new Runc(t, await bundle(t, ['--spec', '/none', '--', 'sh', '-c', 'echo main ran; exit 3']));
  t.equal(await c.exited, 3, 'exit 3');
  t.match(c.output, /^main ran$/m, 'the main command ran');
});
