// The spec loader (TOML, schema, program checks) is loaded on first use: a core taking over from a dead one starts
// sooner without it (about 40 ms here), and needs it only for the next apply or reload.
import type { SystemSpec } from '../specs/types.js';

export async function loadSpec(file: string): Promise<SystemSpec> {
  return (await import('../specs/loader.js')).loadSpec(file);
}
