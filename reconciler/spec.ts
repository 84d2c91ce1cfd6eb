// The spec loader (TOML, schema, program checks) is loaded on first use: a core taking over from a dead one starts
// sooner without it (about 40 ms here), and needs it only for the next apply or reload.
import fs from 'node:fs';
import type { SystemSpec } from '../specs/types.js';

/**
 * The spec at `file`, with the main command init was given (`-- CMD`, SYSMASTER_MAIN_CMD) as main.service. With a
 * main command the spec file is optional: a container may run only that.
 */
export async function loadSpec(file: string): Promise<SystemSpec> {
  const loader = await import('../specs/loader.js');
  const main = process.env.SYSMASTER_MAIN_CMD ? (JSON.parse(process.env.SYSMASTER_MAIN_CMD) as string[]) : undefined;
  if (main && !fs.existsSync(file)) return loader.parseSpec('', file, { main });
  return loader.loadSpec(file, { main });
}
