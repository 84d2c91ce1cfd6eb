// Shared by the convert tests that run on whole directories of real unit files.
import fs from 'node:fs';
import type { Test } from 'tap';
import type { SystemSpec } from '../../specs/types.js';
import { parseSpec } from '../../specs/loader.js';
import { type Conversion, formatReport } from '../../specs/systemd/convert.js';
import { isUnitName } from '../../specs/systemd/lookup.js';

/** Loads the converted spec as `sysmaster validate --no-exec-check` does. */
export const loadConverted = (toml: string): Promise<SystemSpec> =>
  parseSpec(toml, '/specs/converted.toml', { checkExecutables: false });

/**
 * Checks that the spec validates, holds every converted unit, and that every unit file in `dir` was converted or
 * reported: one neither converted nor reported would be a silent drop.
 */
export async function accountFor(t: Test, dir: string, c: Conversion): Promise<SystemSpec> {
  const spec = await loadConverted(c.toml);
  const files = fs.readdirSync(dir).filter(isUnitName);
  t.ok(c.units.length > 0, `${c.units.length} units converted from ${files.length} files, ${c.reports.length} reports`);
  for (const u of c.units) t.ok(spec.units[u], `${u} is in the spec`);
  const reported = new Set(c.reports.map((r) => r.unit));
  for (const f of files) t.ok(c.units.includes(f) || reported.has(f), `${f}: converted or reported`);
  return spec;
}

/** A converted unit's config; a failure that shows what the report says about it when the spec lacks it. */
export function configOf(t: Test, spec: SystemSpec, c: Conversion, unit: string): Record<string, unknown> {
  const u = spec.units[unit];
  if (!u) t.fail(`${unit} is not in the spec`, { reports: c.reports.filter((r) => r.unit === unit).map(formatReport) });
  return (u?.config ?? {}) as unknown as Record<string, unknown>;
}
