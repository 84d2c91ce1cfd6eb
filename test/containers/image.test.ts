// Smoke test of the image containers/build.sh makes: sysmaster-init is PID 1, the example spec's units come up and
// serve, and `docker stop` ends the container with exit 0 (Docker's SIGKILL after the grace would give 137). Then
// the same as a non-root user on a read-only root filesystem, with a spec mounted over the default one.
import t, { type Test } from 'tap';
import { containersUnavailable, eventually, start, type Box } from './harness.js';

/** Set when no engine or no image is there: each test is then skipped with it as the reason. */
const why = containersUnavailable();
const opts = { skip: why ?? false };

interface Unit {
  name: string;
  active: string;
  sub: string;
}

/**
 * Every unit's ACTIVE/SUB once all of them are active, as `sctl list-units -o json` in the container sees them: the
 * spec's services and targets (the container's mounts are mount units too, docs/mount.md).
 */
async function allActive(box: Box): Promise<Record<string, string>> {
  let seen = 'no answer from sctl yet';
  try {
    return await eventually(async () => {
      const units = await box.json<Unit[]>('list-units', '--type=service,target').catch(() => null); // the core may not answer yet
      if (!units) return null;
      seen = JSON.stringify(units);
      return units.length > 0 && units.every((u) => u.active === 'active') && Object.fromEntries(units.map((u) => [u.name, `${u.active}/${u.sub}`]));
    }, 'every unit active', 60_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; last list-units: ${seen}\n${box.output}`);
  }
}

async function stopped(t: Test, box: Box): Promise<void> {
  const t0 = Date.now();
  const code = await box.stop(10);
  t.equal(code, 0, 'docker stop: exit 0, an orderly end within the grace');
  t.comment(`docker stop took ${Date.now() - t0} ms`);
}

t.test('the example spec comes up under sysmaster-init as PID 1; docker stop ends it with exit 0', opts, async (t) => {
  const box = await start(t);
  await box.ready();
  t.pass('the container log shows the first apply done');
  const cmdline = await box.exec(['cat', '/proc/1/cmdline']);
  t.match(cmdline.stdout.split('\0'), ['/usr/bin/node', String, '/opt/sysmaster/bin/sysmaster-init.js'], 'PID 1 is sysmaster-init');

  t.same(
    await allActive(box),
    {
      'default.target': 'active/active',
      'setup.service': 'active/exited',
      'web.service': 'active/running',
      'ticker.service': 'active/running',
    },
    'the units of /etc/sysmaster/system.toml are up',
  );
  const page = await eventually(async () => {
    const r = await box.exec(['wget', '-qO-', 'http://127.0.0.1:8080/']);
    return r.code === 0 && r.stdout;
  }, 'web.service to answer on :8080');
  t.equal(page, 'hello from sysmaster\n', 'web.service serves the page setup.service wrote');

  await stopped(t, box);
});

t.test('as nobody on a read-only root, with a spec mounted over the default one', opts, async (t) => {
  const spec = `
[service.who]
ExecStart = ["/bin/sh", "-c", "id -u > /tmp/who; exec sleep 1000"]
`;
  const box = await start(t, { spec, user: '65534:65534', readOnly: true });
  t.same(await allActive(box), { 'default.target': 'active/active', 'who.service': 'active/running' }, 'the mounted spec is up');
  t.equal((await box.exec(['cat', '/tmp/who'])).stdout, '65534\n', 'the service runs as the container user');
  const state = await box.exec(['stat', '-c', '%u %n', '/run/sysmaster/control.sock']);
  t.equal(state.stdout, '65534 /run/sysmaster/control.sock\n', 'the state directory is on the /run tmpfs');
  const write = await box.exec(['touch', '/etc/x'], '0');
  t.match(write.stderr, /Read-only file system/, 'the root filesystem is read-only, even to root');

  await stopped(t, box);
});
