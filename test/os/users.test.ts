import t from 'tap';
import { resolveUser, userEnv } from '../../reconciler/users.js';
import { spawnProcess } from '../../reconciler/spawn.js';

const db = {
  passwd: ['root:x:0:0:root:/root:/bin/bash', 'web:x:1000:1000::/srv/web:/bin/sh', 'svc:x:1001:1001::/:/usr/sbin/nologin'].join('\n'),
  group: ['root:x:0:', 'web:x:1000:', 'svc:x:1001:', 'adm:x:4:web,svc', 'www:x:33:web', '# comment', 'nogroup:x:65534:'].join('\n'),
};

t.test('the real root and nobody', async (t) => {
  const root = resolveUser('root');
  t.match(root, { name: 'root', uid: 0, gid: 0, home: '/root' });
  t.equal(root.groups[0], 0);
  t.same(resolveUser('0'), root, 'by number');
  const nobody = resolveUser('nobody');
  t.match(nobody, { name: 'nobody', uid: 65534 });
  t.equal(nobody.groups[0], nobody.gid);
  t.same(resolveUser('65534'), nobody);
});

t.test('names, numbers, Group= and supplementary groups', async (t) => {
  t.same(resolveUser('web', null, db), { name: 'web', uid: 1000, gid: 1000, home: '/srv/web', shell: '/bin/sh', groups: [1000, 4, 33] });
  t.same(resolveUser('1000', null, db).name, 'web');
  t.same(resolveUser('web', 'www', db).gid, 33, 'Group= by name');
  t.same(resolveUser('web', 'www', db).groups, [33, 4], 'Group= first, then memberships');
  t.same(resolveUser('web', '4242', db).gid, 4242, 'a numeric group need not exist');
  t.throws(() => resolveUser('ghost', null, db), { code: 'EUSER', message: /ghost/ });
  t.throws(() => resolveUser('4242', null, db), { code: 'EUSER' });
  t.throws(() => resolveUser('web', 'ghosts', db), { code: 'EGROUP', message: /ghosts/ });
});

t.test('the environment systemd sets for User=', async (t) => {
  t.same(userEnv(resolveUser('web', null, db)), { USER: 'web', LOGNAME: 'web', HOME: '/srv/web', SHELL: '/bin/sh' });
  t.same(userEnv(resolveUser('svc', null, db)), { USER: 'svc', LOGNAME: 'svc' }, 'home "/" and nologin shells are left out');
});

t.test('spawning as nobody', { skip: process.getuid!() !== 0 && 'only root can switch users' }, async (t) => {
  const nobody = resolveUser('nobody');
  const run = async (groups: number[]) => {
    const lines: string[] = [];
    const h = spawnProcess({
      argv: ['sh', '-c', 'id -u; id -g; id -G'],
      env: { PATH: '/usr/bin:/bin', ...userEnv(nobody) },
      uid: nobody.uid,
      gid: nobody.gid,
      groups,
      stdout: { kind: 'journal' },
      stderr: { kind: 'inherit' },
      onLine: (_, l) => lines.push(l),
    });
    t.equal((await h.exited).code, 0);
    await h.drained;
    return lines;
  };
  t.same(await run(nobody.groups), ['65534', String(nobody.gid), String(nobody.gid)], 'uid, gid, no supplementary groups of root');
  t.same(await run([nobody.gid, 100]), ['65534', String(nobody.gid), `${nobody.gid} 100`], 'supplementary groups via setpriv');
});
