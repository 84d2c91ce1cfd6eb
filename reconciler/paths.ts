import os from 'node:os';
import path from 'node:path';

/** Files of one sysmaster instance, all under its state directory. */
export interface StatePaths {
  dir: string;
  control: string; // control socket
  notify: string; // sd_notify socket handed to services as NOTIFY_SOCKET
  fdstore: string; // init's fd store: the core deposits fds that must outlive it (init/fdstore.ts)
  lock: string; // pid of the running core: refuses a second `up` on the same directory
  logs: string; // per-unit captured output
}

/** The state directory: --state-dir, else SYSMASTER_STATE_DIR, else the default for this user. */
export function stateDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag);
  if (env.SYSMASTER_STATE_DIR) return path.resolve(env.SYSMASTER_STATE_DIR);
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return '/run/sysmaster';
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'sysmaster');
  return `/tmp/sysmaster-${uid}`;
}

export function statePaths(dir: string): StatePaths {
  return {
    dir,
    control: path.join(dir, 'control.sock'),
    notify: path.join(dir, 'notify.sock'),
    fdstore: path.join(dir, 'fdstore.sock'),
    lock: path.join(dir, 'core.pid'),
    logs: path.join(dir, 'logs'),
  };
}

/**
 * The transaction journal (docs/transactions.md), which must survive reboots: $SYSMASTER_JOURNAL_DIR, else in the
 * persistent directory (persistentDir), else, for an instance whose state directory was chosen, a directory inside it.
 */
export function journalFile(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.SYSMASTER_JOURNAL_DIR) return path.join(path.resolve(env.SYSMASTER_JOURNAL_DIR), 'journal.db');
  const persistent = persistentDir(dir, env);
  return persistent ? path.join(persistent, 'journal.db') : path.join(dir, 'journal', 'journal.db');
}

/**
 * Where the default instance keeps what must survive reboots: /var/lib/sysmaster as root, $XDG_STATE_HOME/sysmaster
 * or ~/.local/state/sysmaster for a user. Null for an instance whose state directory was chosen (its files stay
 * inside that directory), and for a uid with no home at all (a container's --user 1234).
 */
export function persistentDir(dir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const { SYSMASTER_STATE_DIR: _, ...rest } = env;
  if (path.resolve(dir) !== stateDir(undefined, rest)) return null;
  if ((process.getuid?.() ?? 0) === 0) return '/var/lib/sysmaster';
  if (env.XDG_STATE_HOME) return path.join(env.XDG_STATE_HOME, 'sysmaster');
  try {
    return path.join(os.homedir(), '.local', 'state', 'sysmaster');
  } catch {
    return null;
  }
}
