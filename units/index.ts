import { commonKeys } from '../specs/keys.js';
import { mangleUnitName } from '../specs/names.js';
import { device } from './device.js';
import { mount } from './mount.js';
import { path } from './path.js';
import { service } from './service.js';
import { socket } from './socket.js';
import { target } from './target.js';
import { timer } from './timer.js';
import type { UnitType } from './types.js';

/** The unit-type registry: one row per type. Adding a type adds a module and a row here, nothing else. */
export const unitTypes: Record<string, UnitType> = { service, target, socket, timer, path, mount, device };

/** Keys of the [Unit] part every type shares; they only shape the dependency graph, so they apply live. */
export const commonKeyNames: readonly string[] = commonKeys.map((k) => k.key);

/** The type row of a unit name (`web.service` → service). */
export function typeOfUnit(name: string): UnitType {
  const t = unitTypes[name.slice(name.lastIndexOf('.') + 1)];
  if (!t) throw new Error(`unknown unit type in "${name}"`);
  return t;
}

/** `web` → `web.service`, `/srv/data` → `srv-data.mount`: systemctl's unit_name_mangle() (specs/names.ts). */
export const completeUnitName = (name: string): string => mangleUnitName(name);
