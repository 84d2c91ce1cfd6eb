// User= and Group= → numeric credentials, from /etc/passwd and /etc/group (no NSS: a manager that may be PID 1
// must not depend on nscd, LDAP or a running network).
import { readFileSync } from 'node:fs';

/** An unknown user or group. `code` is EUSER or EGROUP. */
export class UserError extends Error {
  constructor(
    readonly code: 'EUSER' | 'EGROUP',
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export interface Credentials {
  /** The user name from /etc/passwd (also when User= gave a number). */
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  /** Supplementary groups as initgroups(3) builds them: the primary gid first, then every group listing the user. */
  groups: number[];
}

interface Db {
  passwd: string;
  group: string;
}

const NUMERIC = /^\d+$/;

function rows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function findGroup(db: Db, group: string): { name: string; gid: number } {
  const numeric = NUMERIC.test(group);
  const row = rows(db.group).find((r) => (numeric ? Number(r[2]) === Number(group) : r[0] === group));
  if (row) return { name: row[0], gid: Number(row[2]) };
  // A number without an entry is a valid gid, as systemd accepts it.
  if (numeric) return { name: group, gid: Number(group) };
  throw new UserError('EGROUP', `Group=${group}: no such group in /etc/group`);
}

/**
 * Resolve User= (name or number) and, optionally, Group= (overrides the primary group). A null user is the
 * manager's own (Group= alone changes only the group). An unknown user is an error, numeric or not: systemd
 * also refuses a uid without a passwd entry when it needs the home and shell.
 */
export function resolveUser(user: string | null, group?: string | null, db?: Db): Credentials {
  const files = db ?? { passwd: readFileSync('/etc/passwd', 'utf8'), group: readFileSync('/etc/group', 'utf8') };
  user ??= String(process.getuid!());
  const numeric = NUMERIC.test(user);
  const pw = rows(files.passwd).find((r) => (numeric ? Number(r[2]) === Number(user) : r[0] === user));
  if (!pw || pw.length < 7) throw new UserError('EUSER', `User=${user}: no such user in /etc/passwd`);
  const [name, , uid, primary, , home, shell] = pw;
  const gid = group ? findGroup(files, group).gid : Number(primary);
  const groups = [gid];
  for (const r of rows(files.group)) {
    const g = Number(r[2]);
    if (!groups.includes(g) && (r[3] ?? '').split(',').includes(name)) groups.push(g);
  }
  return { name, uid: Number(uid), gid, home, shell, groups };
}

// What systemd (USER_CREDS_CLEAN) treats as "no login shell": it then leaves $SHELL unset.
const NOLOGIN = new Set([
  '/usr/sbin/nologin',
  '/sbin/nologin',
  '/bin/false',
  '/usr/bin/false',
  '/bin/true',
  '/usr/bin/true',
]);

/**
 * The variables systemd sets when User= is given: USER and LOGNAME always; HOME unless the home is empty or "/";
 * SHELL unless it is a nologin shell.
 */
export function userEnv(c: Credentials): Record<string, string> {
  const env: Record<string, string> = { USER: c.name, LOGNAME: c.name };
  if (c.home && c.home !== '/' && c.home.startsWith('/')) env.HOME = c.home;
  if (c.shell && c.shell.startsWith('/') && !NOLOGIN.has(c.shell)) env.SHELL = c.shell;
  return env;
}
