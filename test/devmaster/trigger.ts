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

let kind: 'dummy' | 'bridge' | null | undefined;

/**
 * The kind of network interface tests make: dummy where the kernel has the module, else a bridge (every kernel with
 * bridging has it; these machines lack the dummy module). Null when neither can be made (not root).
 */
export function interfaceKind(): 'dummy' | 'bridge' | null {
  if (kind !== undefined) return kind;
  const probe = `smk${process.pid % 100_000}`;
  kind = null;
  for (const type of ['dummy', 'bridge'] as const) {
    if (spawnSync('ip', ['link', 'add', probe, 'type', type]).status !== 0) continue;
    spawnSync('ip', ['link', 'del', probe]);
    kind = type;
    break;
  }
  return kind;
}

/** A network interface the test owns (a stale one of the same name is deleted first); returns its kind. */
export function addInterface(name: string): 'dummy' | 'bridge' {
  spawnSync('ip', ['link', 'del', name]);
  const type = interfaceKind();
  const r = type ? spawnSync('ip', ['link', 'add', name, 'type', type], { encoding: 'utf8' }) : undefined;
  if (!type || r?.status !== 0) throw new Error(`cannot add a network interface ${name}: ${r?.stderr.trim() ?? 'ip link add makes neither a dummy nor a bridge here'}`);
  return type;
}

export const deleteInterface = (name: string) => void spawnSync('ip', ['link', 'del', name]);
