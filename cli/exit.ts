import { CallError } from '../reconciler/client.js';
import { formatProblem, type SpecProblem } from '../specs/errors.js';

/** Exit codes of every CLI (docs/cli.md). systemctl's where systemctl has one. */
export const EXIT = {
  ok: 0,
  failure: 1,
  changes: 2, // sctl plan: the spec differs from what runs
  notActive: 3, // is-active, status: the unit is not active
  noUnit: 4, // status: no such unit (LSB's "status is unknown")
  notLoaded: 5, // start/stop/...: no such unit (systemctl's EXIT_NOTINSTALLED); kill, cat, ...: 1
  interrupted: 130, // Ctrl-C (128 + SIGINT), as shells report it
} as const;

/** The one place errors become messages and exit codes. */
export function fail(err: unknown, verb?: string): never {
  const e = err as { code?: string; message?: string; data?: unknown; problems?: SpecProblem[] };
  const problems = (e.problems ?? (e.code === 'ESPEC' && Array.isArray(e.data) ? e.data : null)) as SpecProblem[] | null;
  if (problems) {
    for (const p of problems) process.stderr.write(formatProblem(p) + '\n');
    process.stderr.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} found; nothing was changed.\n`);
    process.exit(EXIT.failure);
  }
  process.stderr.write(`${e.message ?? String(err)}\n`);
  if (err instanceof CallError && err.code === 'ENOUNIT') {
    process.exit(verb === 'status' ? EXIT.noUnit : verb === 'job' ? EXIT.notLoaded : EXIT.failure);
  }
  process.exit(EXIT.failure);
}

// A reader that went away (`devctl trigger -v | head`) ends the output, as for any Unix filter: exit quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
});
