// Mount units with real tmpfs mounts, in a mount namespace of the manager's own (unshare -m) so that no other
// test's manager sees them: the spec's mount is made (with its mount point) and unmounted on stop and at exit; a
// mount made by someone else shows up as a unit and goes away with its umount; a core killed -9 finds the mount
// table as it is now.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { pathUnitName } from '../../specs/unitname.js';
import { scratch, sleep, Up, writeSpec } from './harness.js';

interface Info {
  name: string;
  active: string;
  sub: string;
  description: string;
}

/** Why mounting cannot be tested here, or null: mount(2) refused with EPERM (a container without CAP_SYS_ADMIN). */
function mountRefused(): string | null {
  const probe = scratch('sm-probe-');
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'mount', '-t', 'tmpfs', 'probe', probe], { encoding: 'utf8' });
  fs.rmSync(probe, { recursive: true, force: true });
  if (r.status === 0) return null;
  const why = `${r.stderr}${r.error?.message ?? ''}`.trim();
  if (/permission denied|not permitted|EPERM/i.test(why)) return `mount(2) is not permitted here: ${why}`;
  throw new Error(`the probe mount failed for another reason than EPERM: ${why}`);
}

t.test('mount units follow the mount table', { skip: mountRefused() ?? false }, async (t) => {
  const dir = scratch();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

  const where = path.join(dir, 'mnt', 'my-data');
  const name = pathUnitName(where, 'mount')!;
  const external = path.join(dir, 'ext');
  const externalName = pathUnitName(external, 'mount')!;
  fs.mkdirSync(external);
  const toml = (s: string) => JSON.stringify(s);
  const spec = writeSpec(
    dir,
    `[mount.${toml(name.slice(0, -'.mount'.length))}]
What = "tmpfs"
Where = ${toml(where)}
Type = "tmpfs"
Options = "size=1m,mode=0750"
DirectoryMode = "0700"
`,
  );
  const up = new Up(spec, path.join(dir, 'state'), [], { under: ['unshare', '-m', '--propagation', 'private'] });
  t.teardown(() => up.stop());
  await up.ready();
  /** The mount table of the manager's namespace, by mount point. */
  const table = () =>
    new Map(
      fs
        .readFileSync(`/proc/${up.corePid()}/mountinfo`, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' '))
        .map((f) => [f[4], f.slice(f.indexOf('-') + 1).join(' ')] as const),
    );
  const inNamespace = (...argv: string[]) => {
    const r = spawnSync('nsenter', ['-t', String(up.corePid()), '-m', ...argv], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  };
  const mounts = async () => (await up.json<Info[]>('list-units', '--type=mount')).map((u) => u.name);

  t.test('the spec\'s mount is made, its mount point with DirectoryMode=', async (t) => {
    t.equal(await up.prop(name, 'SubState', (v) => v === 'mounted'), 'mounted');
    t.match(table().get(where), /^tmpfs tmpfs rw,.*size=1024k,mode=750/);
    t.equal(fs.statSync(path.dirname(where)).mode & 0o777, 0o700 & ~process.umask(), 'the parent made with DirectoryMode=');
  });

  t.test('the mounts already there are units too, as systemd shows them', async (t) => {
    const units = await up.json<Info[]>('list-units', '--type=mount');
    t.match(units.find((u) => u.name === '-.mount'), { active: 'active', sub: 'mounted', description: '/' });
    t.ok(units.some((u) => u.name === 'proc.mount'));
  });

  t.test('a mount made by someone else shows up as a unit, and goes away with its umount', async (t) => {
    inNamespace('mount', '-t', 'tmpfs', '-o', 'size=512k', 'outside', external);
    await up.prop(externalName, 'ActiveState', (v) => v === 'active');
    t.match(await up.call<Record<string, string>>('show', { unit: externalName }), { What: 'outside', Where: external, Type: 'tmpfs', Options: /size=512k/ });
    inNamespace('umount', external);
    for (let i = 0; i < 200 && (await mounts()).includes(externalName); i++) await sleep(25);
    t.notOk((await mounts()).includes(externalName), 'gone from list-units');
  });

  t.test('stop unmounts, start mounts again', async (t) => {
    t.equal((await up.sctl('stop', name)).code, 0);
    t.equal(await up.prop(name, 'ActiveState', () => true), 'inactive');
    t.notOk(table().has(where), 'unmounted');
    t.ok((await mounts()).includes(name), 'a unit the spec defines stays when unmounted');
    t.equal((await up.sctl('start', name)).code, 0);
    t.ok(table().has(where), 'mounted again');
  });

  t.test('unmounted from outside: the unit follows', async (t) => {
    inNamespace('umount', where);
    t.equal(await up.prop(name, 'SubState', (v) => v === 'dead'), 'dead');
    t.equal((await up.sctl('start', name)).code, 0);
    t.ok(table().has(where));
  });

  t.test('what changed while the core was killed -9 is what the next core finds', async (t) => {
    // The mounted state is written within milliseconds; a core that takes over from the state before it (a mount
    // asked for, its pid unknown) runs mount(8) again, as docs/recovery.md says of every spawn.
    await sleep(500);
    await up.killCore(async () => {
      inNamespace('umount', where);
      inNamespace('mount', '-t', 'tmpfs', 'during', external);
    });
    t.equal(await up.prop(name, 'SubState', (v) => v === 'dead'), 'dead', 'the spec\'s mount, unmounted meanwhile');
    t.equal(await up.prop(externalName, 'SubState', (v) => v === 'mounted'), 'mounted', 'a mount made meanwhile');
    t.equal((await up.sctl('start', name)).code, 0);
    t.ok(table().has(where));
  });

  t.test('the manager\'s exit unmounts what it mounted and leaves the others', async (t) => {
    t.equal(await up.stop(), 0);
    t.match(up.output, new RegExp(`${name.replace(/\\/g, '\\\\')} +\\| active → deactivating \\(unmounting\\)`));
    t.notMatch(up.output, /-\.mount +\| active → deactivating/, 'the root stays');
    t.notMatch(up.output, new RegExp(`${externalName.replace(/\\/g, '\\\\')} +\\| active → deactivating`), 'a mount someone else made stays');
  });
});
