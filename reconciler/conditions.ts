import fs from 'node:fs';
import type { Condition, UnitCommon } from '../specs/types.js';

/** The first Condition*= that does not hold, as systemd prints it, or null when the unit may start. */
export function failedCondition(c: UnitCommon, env: NodeJS.ProcessEnv): string | null {
  const checks: [string, Condition[], (v: string) => boolean][] = [
    ['ConditionPathExists', c.ConditionPathExists, (p) => fs.existsSync(p)],
    ['ConditionFileIsExecutable', c.ConditionFileIsExecutable, isExecutableFile],
    ['ConditionEnvironment', c.ConditionEnvironment, (v) => envHolds(v, env)],
  ];
  for (const [key, conds, test] of checks) {
    for (const cond of conds ?? []) {
      if (test(cond.value) === cond.negate) return `${key}=${cond.negate ? '!' : ''}${cond.value}`;
    }
  }
  return null;
}

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function envHolds(v: string, env: NodeJS.ProcessEnv): boolean {
  const eq = v.indexOf('=');
  return eq < 0 ? env[v] !== undefined : env[v.slice(0, eq)] === v.slice(eq + 1);
}
