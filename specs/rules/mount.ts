// systemd's mount_verify(): What= is set, and the unit is named after Where=.
import type { SpecProblem } from '../errors.js';
import type { MountConfig, UnitSpec } from '../types.js';
import { pathUnitName } from '../unitname.js';

/** `failed`: keys whose value was already reported wrong (the rule then says nothing about them). */
export function mountRules(unit: UnitSpec, failed: ReadonlySet<string>): SpecProblem[] {
  const c = unit.config as MountConfig;
  const out: SpecProblem[] = [];
  const at = (key: string) => unit.keys[key] ?? unit.where;
  if (!c.What && !failed.has('What')) {
    out.push({
      where: at('What'),
      unit: unit.name,
      key: 'What',
      message: 'What= setting is missing. Refusing.',
      hint: 'add What = "/dev/sdb1" (a device, a share, or "tmpfs" for a virtual file system)',
    });
  }
  if (failed.has('Where')) return out;
  const expected = pathUnitName(c.Where, 'mount');
  if (!expected) {
    out.push({
      where: at('Where'),
      unit: unit.name,
      key: 'Where',
      message: `Where=${c.Where} has a "." or ".." component`,
      hint: 'write the mount point without them',
    });
  } else if (expected !== unit.name) {
    out.push({
      where: at('Where'),
      unit: unit.name,
      key: 'Where',
      message: `Where= setting doesn't match unit name. Refusing. (Where=${c.Where} is the unit ${expected})`,
      hint: `name the table [mount.${tomlKey(expected.slice(0, -'.mount'.length))}], or set Where= to the path ${unit.name} names`,
    });
  }
  return out;
}

/** A TOML table name part: bare when it can be, else quoted (a `\x2d` needs quotes). */
const tomlKey = (k: string) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k));
