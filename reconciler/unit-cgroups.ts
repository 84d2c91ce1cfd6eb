// The core's use of cgroups.ts: whether this manager may have units' cgroups at all (root, or a delegated subtree),
// the apply-time check of services' limit keys against what the machine has, and the per-unit calls the effects
// make. Without cgroups, services run as before and any limit key is refused at apply time with the reason.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { SystemSpec, ServiceConfig } from '../specs/types.js';
import { LIMIT_KEYS, LimitError, limitWrites, type Limits } from './cgroup-limits.js';
import { Cgroups, detect, describe, machineCeilings } from './cgroups.js';

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
    const keys = Object.keys(limits);
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
