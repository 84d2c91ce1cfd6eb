import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A fresh state directory on tmpfs, where a host keeps its runtime state (/run, $XDG_RUNTIME_DIR): the core writes
 * its state file and output FIFOs there, and on a disk each rename waits for the journal.
 */
export function stateTmp(): { dir: string; tmpfs: boolean } {
  const shm = '/dev/shm';
  const tmpfs = fs.existsSync(shm) && isWritable(shm);
  return { dir: fs.mkdtempSync(path.join(tmpfs ? shm : os.tmpdir(), 'sm-bench-')), tmpfs };
}

function isWritable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
