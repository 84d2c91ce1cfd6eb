import { commonKeys } from '../specs/keys.js';
import { service } from './service.js';
import { target } from './target.js';
import type { UnitType } from './types.js';

/** The unit-type registry: one row per type. Adding a type adds a module and a row here, nothing else. */
export const unitTypes: Record<string, UnitType> = { service, target };

/** Keys of the [Unit] part every type shares; they only shape the dependency graph, so they apply live. */
export const commonKeyNames: readonly string[] = commonKeys.map((k) => k.key);

/** The type row of a unit name (`web.service` → service). */
export function typeOfUnit(name: string): UnitType {
  const t = unitTypes[name.slice(name.lastIndexOf('.') + 1)];
  if (!t) throw new Error(`unknown unit type in "${name}"`);
  return t;
}

/** `web` → `web.service`, as systemctl completes a name without a suffix. */
export function completeUnitName(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && unitTypes[name.slice(dot + 1)] ? name : `${name}.service`;
}
