// systemd.exec(5)'s RuntimeDirectory= family: the five kinds of directory a service gets made for it, as data (the
// runtime, reconciler/directories.ts, makes them), and their [service.NAME] keys.
import type { KeyDef } from '../keys.js';

export type DirectoryKey = 'RuntimeDirectory' | 'StateDirectory' | 'CacheDirectory' | 'LogsDirectory' | 'ConfigurationDirectory';

export interface ExecDirectory {
  key: DirectoryKey;
  /** The variable every Exec command gets: the directories' absolute paths, colon-separated. */
  env: string;
  /** The root of the system manager (root). */
  system: string;
  /** The root of a user manager, as systemd --user has it: $xdg, else $HOME/home (null: none), then sub below it. */
  user: { xdg: string; home: string | null; sub: string };
  /** The exit status of a start that could not make one (systemd's EXIT_RUNTIME_DIRECTORY and the rest). */
  status: number;
  /** The exit status's name in systemd. */
  statusName: string;
  /** Whether User=/Group= own it (systemd leaves ConfigurationDirectory= to root). */
  owned: boolean;
}

export const execDirectories: readonly ExecDirectory[] = [
  {
    key: 'RuntimeDirectory',
    env: 'RUNTIME_DIRECTORY',
    system: '/run',
    user: { xdg: 'XDG_RUNTIME_DIR', home: null, sub: '' },
    status: 233,
    statusName: 'RUNTIME_DIRECTORY',
    owned: true,
  },
  {
    key: 'StateDirectory',
    env: 'STATE_DIRECTORY',
    system: '/var/lib',
    user: { xdg: 'XDG_STATE_HOME', home: '.local/state', sub: '' },
    status: 238,
    statusName: 'STATE_DIRECTORY',
    owned: true,
  },
  {
    key: 'CacheDirectory',
    env: 'CACHE_DIRECTORY',
    system: '/var/cache',
    user: { xdg: 'XDG_CACHE_HOME', home: '.cache', sub: '' },
    status: 239,
    statusName: 'CACHE_DIRECTORY',
    owned: true,
  },
  {
    key: 'LogsDirectory',
    env: 'LOGS_DIRECTORY',
    system: '/var/log',
    user: { xdg: 'XDG_STATE_HOME', home: '.local/state', sub: 'log' },
    status: 240,
    statusName: 'LOGS_DIRECTORY',
    owned: true,
  },
  {
    key: 'ConfigurationDirectory',
    env: 'CONFIGURATION_DIRECTORY',
    system: '/etc',
    user: { xdg: 'XDG_CONFIG_HOME', home: '.config', sub: '' },
    status: 241,
    statusName: 'CONFIGURATION_DIRECTORY',
    owned: false,
  },
];

/** How a user manager's root reads in the docs: `$XDG_STATE_HOME/log` (`~/.local/state/log`). */
function userRoot(d: ExecDirectory): string {
  const sub = d.user.sub ? `/${d.user.sub}` : '';
  return `\`$${d.user.xdg}${sub}\`${d.user.home ? ` (\`~/${d.user.home}${sub}\`)` : ''}`;
}

const owner = (d: ExecDirectory): string =>
  d.owned
    ? ', with User=/Group= that owner (the directory itself: systemd also chowns what is in it when the owner differs)'
    : ', and stays the manager\'s, as in systemd';

export const directoryKeys: KeyDef[] = [
  ...execDirectories.flatMap((d): KeyDef[] => [
    {
      key: d.key,
      kind: 'relativePaths',
      default: [],
      doc:
        `Directories made below \`${d.system}\` (a manager not run by root: ${userRoot(d)}) before each Exec command: ` +
        `paths relative to that root, a string or an array (\`"app"\`, \`["app", "app/sub"]\`). Missing parents are made ` +
        `too (0755); each directory gets ${d.key}Mode=${owner(d)}. Every Exec command gets ${d.env}, their absolute paths ` +
        `joined by \`:\`. A directory that cannot be made fails the start with exit status ${d.status} ` +
        `(${d.statusName}), as in systemd. ${d.key === 'RuntimeDirectory' ? 'Removed when the unit stops, as RuntimeDirectoryPreserve= says' : 'Never removed'}. Default: none. SYSMASTER_EXEC_DIRECTORY_ROOT, when the ` +
        `manager has it, puts the system roots below that directory (tests use it).`,
    },
    {
      key: `${d.key}Mode`,
      kind: 'mode',
      default: 0o755,
      doc: `The mode ${d.key}= directories get (exactly: the umask does not apply). Default "0755".`,
    },
  ]),
  {
    key: 'RuntimeDirectoryPreserve',
    kind: 'enum',
    values: ['no', 'yes', 'restart'],
    default: 'no',
    doc: 'Whether RuntimeDirectory= directories stay when the unit stops: `no` removes them whenever it goes inactive or failed (also before an automatic restart), `yes` never removes them, `restart` keeps them while a restart (automatic, or `sctl restart`) brings the unit back. Default `no`.',
  },
];
