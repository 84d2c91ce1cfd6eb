// The JSON Schema (draft-07) of a spec file, built from the key table. The loader validates every file with it
// (Ajv), and specs/gen.ts commits it as specs/schema.json for editors (taplo, Even Better TOML).
import { type KeyDef, managerKeys, unitKeys as defaultUnitKeys } from './keys.js';
import { kinds, unitBasePattern } from './kinds.js';

/** Kinds whose schema is the same for every key; each is one definition that keys refer to (one compiled check). */
const shared = (def: KeyDef): boolean => def.kind !== 'enum';

function keySchema(def: KeyDef, types: readonly string[]): Record<string, unknown> {
  const value = kinds[def.kind].toml(def.default);
  return {
    description: def.doc,
    ...(value === undefined || def.derived ? {} : { default: value }),
    // draft-07 ignores keywords beside $ref, so the reference goes inside allOf.
    ...(shared(def) ? { allOf: [{ $ref: `#/definitions/${def.kind}` }] } : kinds[def.kind].schema(def, types)),
  };
}

function table(defs: readonly KeyDef[], types: readonly string[], description: string): Record<string, unknown> {
  return {
    type: 'object',
    description,
    additionalProperties: false,
    properties: Object.fromEntries(defs.map((d) => [d.key, keySchema(d, types)])),
  };
}

export function buildSchema(unitKeys: Record<string, KeyDef[]> = defaultUnitKeys): Record<string, unknown> {
  const types = Object.keys(unitKeys);
  const defs = [...managerKeys, ...Object.values(unitKeys).flat()];
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'sysmaster system spec',
    description:
      'One TOML file (plus its includes) describing a whole system: [manager] and one table per unit. See docs/spec.md.',
    type: 'object',
    additionalProperties: false,
    properties: {
      include: {
        description: 'Other spec files to read: paths or globs relative to this file, each expanded in sorted order.',
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      },
      manager: table(managerKeys, types, 'Settings of the manager itself.'),
      ...Object.fromEntries(
        types.map((t) => [
          t,
          {
            type: 'object',
            description: `[${t}.NAME] defines the unit NAME.${t}.`,
            propertyNames: { pattern: unitBasePattern },
            additionalProperties: { $ref: `#/definitions/${t}Unit` },
          },
        ]),
      ),
    },
    definitions: {
      // `Unit`: a type may share its name with a kind (path).
      ...Object.fromEntries(types.map((t) => [`${t}Unit`, table(unitKeys[t], types, `A ${t} unit.`)])),
      ...Object.fromEntries(defs.filter(shared).map((d) => [d.kind, kinds[d.kind].schema(d, types)])),
    },
  };
}

/** How the loader's Ajv is set up; the precompiled check (specs/schema-check.ts) is built with the same. */
export const ajvOptions = { allErrors: true, strict: true, allowUnionTypes: true } as const;
