// systemd's path_verify(): a path unit watches at least one path.
import type { SpecProblem } from '../errors.js';
import type { PathConfig, UnitSpec } from '../types.js';

export const PATH_SETTINGS = ['PathExists', 'PathExistsGlob', 'PathChanged', 'PathModified', 'DirectoryNotEmpty'] as const;

/** `failed`: keys whose value was already reported wrong (the rule then says nothing). */
export function pathRules(unit: UnitSpec, failed: ReadonlySet<string>): SpecProblem[] {
  const c = unit.config as PathConfig;
  if (PATH_SETTINGS.some((k) => c[k].length > 0 || failed.has(k))) return [];
  return [
    {
      where: unit.where,
      unit: unit.name,
      message: 'Path unit lacks path setting. Refusing.',
      hint: `add one of ${PATH_SETTINGS.join(', ')}, e.g. PathExists = "/run/${unit.name.replace(/\.path$/, '')}.ready"`,
    },
  ];
}
