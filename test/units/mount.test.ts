// What the mount effects read and run: the mount table as /proc/self/mountinfo writes it (escapes, stacked mounts,
// optional fields), and the mount(8)/umount(8) command lines systemd would run for each setting.
import t from 'tap';
import { parseMountinfo } from '../../reconciler/mountinfo.js';
import type { MountConfig } from '../../specs/types.js';
import { commandLine } from '../../units/mount.js';
import { mountConfig } from '../fixtures/units.js';

const TABLE = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
42 27 254:0 /var/lib/docker /var/lib/docker rw,relatime shared:1 master:2 - ext4 /dev/vda rw,discard
50 27 0:40 / /mnt/a\\040b\\134c rw,nosuid - tmpfs my\\040fs rw,size=1024k
51 27 0:41 / /srv/data rw - tmpfs lower rw
52 51 0:42 / /srv/data ro,noexec - tmpfs upper rw,size=64k
`;

t.test('mountinfo: by mount point, octal escapes undone, the top of a stack wins', async (t) => {
  const m = parseMountinfo(TABLE);
  t.same([...m.keys()], ['/proc', '/', '/var/lib/docker', '/mnt/a b\\c', '/srv/data']);
  t.same(m.get('/proc'), { what: 'proc', type: 'proc', options: 'rw,relatime' });
  t.same(m.get('/var/lib/docker'), { what: '/dev/vda', type: 'ext4', options: 'rw,relatime,discard' }, 'optional fields skipped');
  t.same(m.get('/mnt/a b\\c'), { what: 'my fs', type: 'tmpfs', options: 'rw,nosuid,size=1024k' });
  t.same(m.get('/srv/data'), { what: 'upper', type: 'tmpfs', options: 'ro,noexec,size=64k' }, 'the mount\'s ro, not its superblock\'s rw');
  t.equal(parseMountinfo('garbage\n\n').size, 0, 'lines it cannot read are skipped');
});

const config = (over: Partial<MountConfig> = {}) => mountConfig({ What: '/dev/vdb1', Type: '', TimeoutSec: 90_000, ...over });

t.test('mount(8) and umount(8) as systemd runs them', async (t) => {
  t.same(commandLine('mount', config()), ['/bin/mount', ['/dev/vdb1', '/srv/data']], 'no type: mount(8) detects it');
  t.same(commandLine('mount', config({ Type: 'ext4', Options: 'noatime', SloppyOptions: true, ReadWriteOnly: true })), [
    '/bin/mount',
    ['-s', '-w', '-t', 'ext4', '-o', 'noatime', '/dev/vdb1', '/srv/data'],
  ]);
  t.same(commandLine('remount', config({ Options: 'ro' })), ['/bin/mount', ['-o', 'remount,ro', '/dev/vdb1', '/srv/data']]);
  t.same(commandLine('remount', config()), ['/bin/mount', ['-o', 'remount', '/dev/vdb1', '/srv/data']]);
  t.same(commandLine('umount', config()), ['/bin/umount', ['/srv/data']]);
  t.same(commandLine('umount', config({ LazyUnmount: true, ForceUnmount: true })), ['/bin/umount', ['-l', '-f', '/srv/data']]);
});
