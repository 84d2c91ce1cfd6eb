// Programs as udev runs them (src/udev/udev-event.c udev_event_spawn): the command split with udev's quoting rules
// (strv_split_full with EXTRACT_UNQUOTE|EXTRACT_RELAX|EXTRACT_RETAIN_ESCAPE), no shell, a bare name looked up in
// udev's program directory, the device's properties as the whole environment, stdout captured, a timeout.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** udev's UDEV_LINE_SIZE: commands and a program's captured stdout (with its NUL) fit in it. */
export const LINE_SIZE = 16384;

export const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

/** strv_split_full(EXTRACT_UNQUOTE|EXTRACT_RELAX|EXTRACT_RETAIN_ESCAPE): words at whitespace, quotes group and go, backslashes stay. */
export function splitCommand(cmd: string): string[] {
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (i < cmd.length && isSpace(cmd[i])) i++;
    if (i >= cmd.length) return words;
    let word = '';
    let quote = '';
    for (; i < cmd.length; i++) {
      const c = cmd[i];
      if (quote) {
        if (c === quote) quote = '';
        else word += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (isSpace(c)) break;
      else word += c;
    }
    words.push(word);
  }
}

export interface ProgramResult {
  /** The exit status, or null when the program did not exit by itself. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** Why it did not run or finish: cannot execute, killed by a signal, timed out. */
  error?: string;
}

/** udev's UDEVLIBEXECDIR: where a program named without a path lives. */
export const programDirs: readonly string[] = ['/lib/udev'];

/** The command's argv, argv[0] without a slash looked up in `dirs`; null for an empty command. */
export function programArgv(cmd: string, dirs: readonly string[] = programDirs): string[] | null {
  const argv = splitCommand(cmd);
  if (!argv.length || argv[0] === '') return null;
  if (!path.isAbsolute(argv[0])) {
    const found = dirs.map((d) => path.join(d, argv[0])).find((p) => fs.existsSync(p));
    argv[0] = found ?? path.join(dirs[0] ?? programDirs[0], argv[0]);
  }
  return argv;
}

/**
 * Runs a command as udev_event_spawn does: split with udev's quoting rules, no shell, argv[0] without a slash looked
 * up in `dirs` (udev: UDEVLIBEXECDIR), `env` as the whole environment, stdin /dev/null, SIGKILL at the timeout.
 * stdout is kept up to udev's result buffer (16 KiB less its NUL).
 */
export function runProgram(cmd: string, env: Record<string, string>, dirs: readonly string[], timeoutMs: number): ProgramResult {
  const argv = programArgv(cmd, dirs);
  if (!argv) return { status: null, stdout: '', stderr: '', error: `invalid command '${cmd}'` };
  const r = spawnSync(argv[0], argv.slice(1), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: Math.max(1, Math.round(timeoutMs)),
    killSignal: 'SIGKILL',
    // udev stops reading past its buffer and the pipe holds 64 KiB more: a program writing beyond that blocks until the timeout
    maxBuffer: LINE_SIZE + 65536,
  });
  const out = r.stdout ?? Buffer.alloc(0);
  const stdout = out.subarray(0, LINE_SIZE - 1).toString('utf8');
  const stderr = (r.stderr ?? Buffer.alloc(0)).toString('utf8');
  const code = (r.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ETIMEDOUT') return { status: null, stdout, stderr, error: `timed out after ${+(timeoutMs / 1000).toFixed(3)} s, killed` };
  if (code === 'ENOBUFS') return { status: null, stdout, stderr, error: `wrote more than ${LINE_SIZE + 65536} bytes, killed` };
  if (r.error) return { status: null, stdout, stderr, error: `cannot execute ${argv[0]}: ${r.error.message}` };
  if (r.signal) return { status: null, stdout, stderr, error: `terminated by signal ${r.signal}` };
  return { status: r.status, stdout, stderr };
}
