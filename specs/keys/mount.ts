// The [mount.NAME] keys: systemd.mount(5)'s [Mount] section, with its defaults.
import type { KeyDef } from '../keys.js';

export const mountKeys: KeyDef[] = [
  {
    key: 'What',
    kind: 'string',
    default: '',
    doc: 'What to mount: a device node, `LABEL=`/`UUID=`, a remote share, or the file system\'s name for a virtual one (`tmpfs`). Required.',
  },
  {
    key: 'Where',
    kind: 'path',
    default: null,
    derived: 'the path the unit name encodes (`srv-data.mount` → `/srv/data`)',
    doc: 'The mount point, an absolute path, made (with its parents) when missing. The unit name must be this path escaped as systemd does it: `/srv/data` → `srv-data.mount`, `-` → `\\x2d`, `/` → `-.mount`.',
  },
  {
    key: 'Type',
    kind: 'string',
    default: '',
    doc: 'The file system type, passed to mount(8) `-t`. Default: none, mount(8) detects it.',
  },
  {
    key: 'Options',
    kind: 'string',
    default: '',
    doc: 'Mount options, comma-separated, passed to mount(8) `-o`. Default: none.',
  },
  {
    key: 'SloppyOptions',
    kind: 'bool',
    default: false,
    doc: 'Pass mount(8) `-s`: options the file system does not know are ignored instead of failing the mount. Default false.',
  },
  {
    key: 'ReadWriteOnly',
    kind: 'bool',
    default: false,
    doc: 'Pass mount(8) `-w`: fail when the file system cannot be mounted read-write, instead of mounting it read-only. Default false.',
  },
  {
    key: 'LazyUnmount',
    kind: 'bool',
    default: false,
    doc: 'Unmount with umount(8) `-l`: detach now, clean up once the file system is no longer busy. Default false.',
  },
  {
    key: 'ForceUnmount',
    kind: 'bool',
    default: false,
    doc: 'Unmount with umount(8) `-f` (for an unreachable NFS server). Default false.',
  },
  {
    key: 'DirectoryMode',
    kind: 'mode',
    default: 0o755,
    doc: 'Mode of the directories made for Where= (less the umask). Default "0755".',
  },
  {
    key: 'TimeoutSec',
    kind: 'timeout',
    default: 90_000,
    derived: '[manager] DefaultTimeoutStartSec (90s)',
    doc: 'How long mount(8), umount(8) or a remount may take; the command is then killed and the unit fails with result timeout. 0 or `"infinity"` waits forever. Default: [manager] DefaultTimeoutStartSec (90s).',
  },
];
