// A directory tree a test lays out by hand, a fake /sys: files and symlinks under a fresh temp root, their parent
// directories made as needed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function fileTree(prefix: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const at = (rel: string) => {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    return p;
  };
  return {
    root,
    put: (rel: string, data: string | Buffer, mode?: number) => fs.writeFileSync(at(rel), data, mode === undefined ? undefined : { mode }),
    /** `target` as the symlink holds it (relative to the link's directory, or absolute). */
    link: (rel: string, target: string) => fs.symlinkSync(target, at(rel)),
  };
}
