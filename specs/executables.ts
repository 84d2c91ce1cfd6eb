// Whether an Exec command's program can be run: found, a regular file, executable by us (fs.accessSync X_OK).
import fs from 'node:fs';
import path from 'node:path';

/** The search path when neither Environment.PATH nor the manager's PATH is set (the runtime's, reconciler/spawn.ts). */
export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

type Verdict = 'ok' | 'missing' | 'denied' | 'directory';

function verdict(file: string): Verdict {
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EACCES' ? 'denied' : 'missing';
  }
  return fs.statSync(file).isDirectory() ? 'directory' : 'ok';
}

/** What is wrong with running `program` (absolute, or a bare name looked up in `searchPath`); undefined when fine. */
export function programProblem(program: string, searchPath: string): { message: string; hint: string } | undefined {
  const dirs = searchPath.split(':').filter((d) => d.startsWith('/')); // as the runtime searches it
  const candidates = program.startsWith('/') ? [program] : dirs.map((d) => path.join(d, program));
  const verdicts = candidates.map(verdict);
  if (verdicts.includes('ok')) return undefined;
  const denied = candidates[verdicts.indexOf('denied')];
  if (denied !== undefined)
    return { message: `"${denied}" is not executable (permission denied)`, hint: `chmod +x ${denied}` };
  const directory = candidates[verdicts.indexOf('directory')];
  if (directory !== undefined)
    return { message: `"${directory}" is a directory, not a program`, hint: 'name the program inside it' };
  if (program.startsWith('/')) {
    return {
      message: `"${program}" not found`,
      hint: 'fix the path, or prefix the command with "-" if it may be missing',
    };
  }
  return {
    message: `"${program}" not found in PATH (${searchPath})`,
    hint: 'write the absolute path, or set Environment.PATH',
  };
}
