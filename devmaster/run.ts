// RUN{program} and RUN{builtin} after the event is applied, as udevd's worker runs them: in order, each program
// without a shell, with the device's properties as its whole environment, killed when the event's time is up. A
// failure is reported, never fatal: the event still completes and is broadcast.
import { spawn } from 'node:child_process';
import { builtinTable } from './builtins/index.js';
import type { RunItem } from './outcome.js';
import { programArgv, splitCommand } from './spawn.js';
import { Device } from './sysfs.js';

export async function runAfterEvent(
  items: readonly RunItem[],
  properties: ReadonlyMap<string, string>,
  timeoutSec: number,
  warn: (w: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutSec * 1000;
  const env = Object.fromEntries(properties);
  for (const item of items) {
    const where = `RUN{${item.builtin ? 'builtin' : 'program'}}="${item.command}" (${item.file}:${item.line})`;
    if (item.builtin) {
      const argv = splitCommand(item.command);
      const fn = builtinTable[argv[0]];
      // An unsupported one was reported by the evaluator when the rule added it (outcome.warnings).
      if (fn && fn(Device.fromUevent({ devpath: env.DEVPATH, properties: env }), argv) === null) warn(`${where}: failed`);
      continue;
    }
    const r = await runOne(item.command, env, deadline - Date.now());
    if (r) warn(`${where}: ${r}`);
  }
}

function runOne(command: string, env: Record<string, string>, ms: number): Promise<string | null> {
  const argv = programArgv(command);
  if (!argv) return Promise.resolve('empty command');
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { env, stdio: 'ignore', cwd: '/' });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, Math.max(ms, 1));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve(`cannot execute: ${e.message}`);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve(`timed out, killed`);
      else if (signal) resolve(`terminated by ${signal}`);
      else resolve(code === 0 ? null : `exited with status ${code}`);
    });
  });
}
