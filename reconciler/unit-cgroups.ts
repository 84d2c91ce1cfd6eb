// The core's use of cgroups.ts: whether this manager may have units' cgroups at all (root, or a delegated subtree),
// the apply-time check of services' limit keys against what the machine has, and the per-unit calls the effects
// make. Without cgroups, services run as before and any limit key is refused at apply time with the reason.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { SystemSpec, ServiceConfig } from '../specs/types.js';
import { LIMIT_KEYS, LimitError, limitWrites, type Limits } from './cgroup-limits.js';
import { Cgroups, detect, describe, machineCeilings } from './cgroups.js';
import { delegatedControllers, subcgroupOf } from './delegate.js';

/** The limit keys a service sets, as cgroups.ts takes them. */
export function limitsOf(cfg: ServiceConfig): Limits {
  const out: Record<string, unknown> = {};
  for (const k of LIMIT_KEYS) if (cfg[k] !== null && cfg[k] !== undefined) out[k] = cfg[k];
  return out as Limits;
}

export type UnitCgroups = { cgroups: Cgroups; why: null } | { cgroups: null; why: string };

/**
 * The units' cgroups of the instance whose state directory is `stateDir` (its name, sysmaster-<hash>, is the same
 * for every core of the instance, so a new core finds the old one's cgroups), or why there are none.
 */
export function unitCgroups(stateDir: string, uid = process.getuid?.() ?? 0): UnitCgroups {
  const layout = detect();
  const why =
    !layout.tracking ? `no cgroup hierarchy to track processes on (${describe(layout)})`
    : uid !== 0 && !layout.delegated ? `not root and no delegated cgroup subtree (${describe(layout)})`
    : !layout.delegated ? `the cgroup tree is not writable (${describe(layout)})`
    : null;
  if (why) return { cgroups: null, why };
  const id = createHash('sha256').update(stateDir).digest('hex').slice(0, 8);
  return { cgroups: new Cgroups(layout, id), why: null };
}

/**
 * Every service limit the machine cannot honour, as "unit: key: why" lines: a missing controller (named with what
 * the machine has), or no cgroups at all. Nothing is written.
 */
export function checkLimits(spec: SystemSpec, c: UnitCgroups): string[] {
  const out: string[] = [];
  for (const [name, unit] of Object.entries(spec.units)) {
    if (!name.endsWith('.service')) continue;
    const limits = limitsOf(unit.config as ServiceConfig);
    const keys = [...Object.keys(limits), ...((unit.config as ServiceConfig).Delegate ? ['Delegate'] : [])];
    if (!keys.length) continue;
    if (!c.cgroups) {
      out.push(`${name}: ${keys.join(', ')}: cannot be honoured: this manager has no cgroups: ${c.why}; run as root or remove the keys`);
      continue;
    }
    const layout = c.cgroups.layout;
    const blkio = layout.controllers.io;
    const v1blkio = blkio && ['blkio.weight', 'blkio.bfq.weight'].find((f) => fs.existsSync(`${blkio.own}/${f}`));
    try {
      limitWrites(limits, (ctl) => (layout.controllers[ctl] ? { version: layout.controllers[ctl].version, dir: '' } : null), machineCeilings(layout), describe(layout), v1blkio);
    } catch (err) {
      if (!(err instanceof LimitError)) throw err;
      out.push(`${name}: ${err.message}`);
    }
  }
  return out;
}

/**
 * The cgroup.procs files a command of `phase` enters (spawn's `cgroup`), after what Delegate= asks for (systemd's
 * unit_set_exec_params and exec_child): the delegated controllers made available in the unit's cgroup, the unit's
 * cgroup handed to User= (its group: Group=, else the user's), and ExecStartPost=, ExecReload=, ExecStop= and
 * ExecStopPost= run in the `.control` sub-cgroup. Idempotent, before every command, as create() is.
 */
export function enterCgroup(cg: Cgroups, unit: string, cfg: ServiceConfig, phase: string, user: { uid: number; gid: number } | null): string[] {
  const d = cfg.Delegate ?? false;
  const sub = subcgroupOf(d, phase);
  if (d !== false) {
    const v2 = cg.layout.tracking?.version === 2 ? cg.layout.tracking.controllers : [];
    cg.create(unit, { delegated: delegatedControllers(d, v2), sub });
    if (user && cfg.User) cg.chown(unit, user.uid, user.gid);
  }
  return cg.procsFiles(unit, sub);
}
