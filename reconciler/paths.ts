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
 * The transaction journal (docs/transactions.md), which must survive reboots: $SYSMASTER_JOURNAL_DIR, else for the
 * default instance the persistent state directory (/var/lib/sysmaster as root, $XDG_STATE_HOME/sysmaster for a user),
 * else, for an instance whose state directory was chosen, a directory inside it.
 */
export function journalFile(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.SYSMASTER_JOURNAL_DIR) return path.join(path.resolve(env.SYSMASTER_JOURNAL_DIR), 'journal.db');
  const { SYSMASTER_STATE_DIR: _, ...rest } = env;
  if (path.resolve(dir) !== stateDir(undefined, rest)) return path.join(dir, 'journal', 'journal.db');
  if ((process.getuid?.() ?? 0) === 0) return '/var/lib/sysmaster/journal.db';
  if (env.XDG_STATE_HOME) return path.join(env.XDG_STATE_HOME, 'sysmaster', 'journal.db');
  try {
    return path.join(os.homedir(), '.local', 'state', 'sysmaster', 'journal.db');
  } catch {
    // A uid with no home at all (a container's --user 1234): next to the runtime state.
    return path.join(dir, 'journal', 'journal.db');
  }
}
