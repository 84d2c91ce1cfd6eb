// RuntimeDirectory=, StateDirectory=, CacheDirectory=, LogsDirectory=, ConfigurationDirectory= (systemd.exec(5)):
// where a service's directories are, making them before its commands run, and removing its runtime directories.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DirectoryKey, type ExecDirectory, execDirectories } from '../specs/keys/directories.js';
import type { ServiceConfig } from '../specs/types.js';

/** A directory that could not be made: the start fails with `status`, systemd's exit status for its kind. */
export class DirectoryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}

/** Each kind's root; null when a user manager has none (no $XDG_RUNTIME_DIR). */
export type Roots = Record<DirectoryKey, string | null>;

/**
 * The roots of a manager run by `uid`: systemd's for the system manager (root), systemd --user's for anyone else.
 * SYSMASTER_EXEC_DIRECTORY_ROOT puts the system manager's roots below that directory, whoever runs the manager.
 */
export function directoryRoots(uid: number, env: NodeJS.ProcessEnv): Roots {
  const prefix = env.SYSMASTER_EXEC_DIRECTORY_ROOT;
  const root = (d: ExecDirectory): string | null => {
    if (prefix) return path.join(path.resolve(prefix), d.system);
    if (uid === 0) return d.system;
    const base = env[d.user.xdg] || (d.user.home && path.join(env.HOME || os.homedir(), d.user.home));
    return base ? path.join(base, d.user.sub) : null;
  };
  return Object.fromEntries(execDirectories.map((d) => [d.key, root(d)])) as Roots;
}

/** The directories of each kind the service names, absolute (none of a kind it names none of). */
function planned(cfg: ServiceConfig, roots: Roots): { d: ExecDirectory; paths: string[]; mode: number }[] {
  return execDirectories
    .filter((d) => cfg[d.key].length > 0)
    .map((d) => {
      const root = roots[d.key];
      if (root === null) {
        const why = `a manager not run by root makes it below $${d.user.xdg}, which is not set`;
        throw new DirectoryError(d.status, `${d.key}=: ${why} (exit status ${d.status}, ${d.statusName})`);
      }
      return { d, paths: cfg[d.key].map((p) => path.join(root, p)), mode: cfg[`${d.key}Mode`] };
    });
}

/**
 * Make the service's directories (parents 0755 as systemd makes them), each with its mode and, given `owner`, that
 * owner where the kind is owned (the directory only: systemd also chowns what is in it). Returns the variables every
 * Exec command gets.
 */
export function prepareDirectories(cfg: ServiceConfig, roots: Roots, owner: { uid: number; gid: number } | null): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { d, paths, mode } of planned(cfg, roots)) {
    for (const dir of paths) {
      try {
        fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
        try {
          fs.mkdirSync(dir, { mode });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          if (!fs.statSync(dir).isDirectory()) throw new Error('it exists and is not a directory');
        }
        fs.chmodSync(dir, mode);
        if (owner && d.owned) fs.chownSync(dir, owner.uid, owner.gid);
      } catch (err) {
        const why = `${d.key}=: cannot make ${dir}: ${(err as Error).message}`;
        throw new DirectoryError(d.status, `${why} (exit status ${d.status}, ${d.statusName})`);
      }
    }
    env[d.env] = paths.join(':');
  }
  return env;
}

/** Whether RuntimeDirectory= goes as a run of the unit ends in `sub` (systemd's service_enter_dead()). */
export function removesRuntime(preserve: ServiceConfig['RuntimeDirectoryPreserve'], sub: string, restarting: boolean): boolean {
  if (preserve === 'restart') return sub !== 'auto-restart' && !restarting;
  return preserve === 'no';
}

/** Remove the service's RuntimeDirectory= directories and what is in them; returns what could not be removed. */
export function removeRuntime(cfg: ServiceConfig, roots: Roots): string[] {
  const root = roots.RuntimeDirectory;
  if (root === null) return [];
  const failed: string[] = [];
  for (const p of cfg.RuntimeDirectory) {
    const dir = path.join(root, p);
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      failed.push(`${dir}: ${(err as Error).message}`);
    }
  }
  return failed;
}
