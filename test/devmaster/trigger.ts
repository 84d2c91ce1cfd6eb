// Writing a device's uevent file makes the kernel send an event for it: the devmaster tests' way to cause real ones.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export const LO = '/sys/class/net/lo/uevent';

/** Why events cannot be caused here, or false when they can. */
export const cannotTrigger: string | false = (() => {
  try {
    fs.accessSync(LO, fs.constants.W_OK);
    return false;
  } catch (e) {
    return `cannot write ${LO}: ${(e as Error).message}`;
  }
})();

/**
 * A network interface the test owns: a dummy one where the kernel has the module, else a bridge (every kernel with
 * bridging has it; these machines lack the dummy module). Returns the type used, or throws with ip's message.
 */
export function addInterface(name: string): 'dummy' | 'bridge' {
  spawnSync('ip', ['link', 'del', name]);
  for (const type of ['dummy', 'bridge'] as const) {
    if (spawnSync('ip', ['link', 'add', name, 'type', type]).status === 0) return type;
  }
  const r = spawnSync('ip', ['link', 'add', name, 'type', 'bridge'], { encoding: 'utf8' });
  throw new Error(`cannot add a network interface: ${r.stderr.trim()}`);
}

export const deleteInterface = (name: string) => void spawnSync('ip', ['link', 'del', name]);
