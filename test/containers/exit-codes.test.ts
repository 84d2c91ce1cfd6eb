// Exit-code fidelity of the main command, tini's matrix: `docker run sysmaster:dev -- sh -c 'exit N'` ends with N,
// and `-- sh -c 'kill -SIG $$'` with 128 + the signal's number. One container per value, a few at a time.
//
// Size knobs: CT_EXIT_CODES=all runs every code 0–255; CT_EXIT_CODES=N spreads N codes over 0–255 on top of the usual
// ones (default 24). CT_JOBS containers run at once (default 3).
import { constants } from 'node:os';
import t, { type Test } from 'tap';
import { containersUnavailable, start, type StartOptions } from './harness.js';

const why = containersUnavailable();
const opts = { skip: why ?? false };

function knob(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: not a count`);
  return n;
}

/** The codes the usual shells, tini and Docker give a meaning to, plus a spread over the rest. */
function exitCodes(): number[] {
  if (process.env.CT_EXIT_CODES === 'all') return Array.from({ length: 256 }, (_, i) => i);
  const usual = [0, 1, 2, 3, 42, 64, 125, 126, 127, 128, 129, 130, 137, 143, 200, 254, 255];
  const n = knob('CT_EXIT_CODES', 24);
  const spread = Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * 256) / n));
  return [...new Set([...usual, ...spread])].sort((a, b) => a - b);
}

/** Deaths by signal: the default action of each is to end the process (SIGKILL cannot be caught anyway). */
const signals = ['HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'XCPU', 'SYS'];
const signalled = (sig: string) => 128 + constants.signals[`SIG${sig}` as keyof typeof constants.signals];

const jobs = Math.max(1, knob('CT_JOBS', 3));
const codes = exitCodes();
// A container start and end takes about 0.6–1.2 s on 2 vCPUs; a full sweep needs more than tap's 120 s.
t.setTimeout(Math.max(120_000, (codes.length + signals.length) * 2_000));

interface Case {
  what: string;
  want: number;
  o: StartOptions;
  /** What the container's log must also show. */
  log?: RegExp;
}

/** No spec (the file given does not exist): the container runs the main command alone, which starts fastest. */
const alone = (script: string): StartOptions => ({ args: ['--spec', '/none', '--', 'sh', '-c', script] });

/** Runs every case in its own container, `jobs` at a time; one assertion per case, with the log when it fails. */
async function matrix(t: Test, cases: Case[]): Promise<void> {
  const t0 = Date.now();
  const queue = [...cases];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const box = await start(t, c.o);
      const code = await box.ended();
      t.equal(code, c.want, c.what, code === c.want ? {} : { log: box.output });
      if (c.log) t.match(box.output, c.log, `${c.what}: the log shows ${c.log}`);
      await box.remove();
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  t.comment(`${cases.length} containers in ${Date.now() - t0} ms, ${jobs} at a time`);
}

t.test(`exit N gives N (${codes.length} codes)`, opts, (t) =>
  matrix(
    t,
    codes.map((n) => ({ what: `exit ${n}`, want: n, o: alone(`exit ${n}`) })),
  ),
);

/** The main command that kills itself with `sig`. `$$` reaches sh as written: sysmaster does not expand it. */
function suicide(sig: string): { what: string; o: StartOptions } {
  // sh (busybox's ash, like bash) always catches SIGQUIT; node leaves it at the default action.
  if (sig === 'QUIT') return { what: 'node: process.kill(process.pid, SIGQUIT)', o: { args: ['--spec', '/none', '--', 'node', '-e', "process.kill(process.pid, 'SIGQUIT')"] } };
  return { what: `sh -c 'kill -${sig} $$'`, o: alone(`kill -${sig} $$`) };
}

t.test(`death by signal n gives 128+n (${signals.length} signals)`, opts, (t) =>
  matrix(
    t,
    signals.map((sig) => {
      const { what, o } = suicide(sig);
      return { what: `${what} gives ${signalled(sig)}`, want: signalled(sig), o };
    }),
  ),
);

// With the example spec, the units are stopped after the main command ends, and its status still wins.
const webStopped = /web\.service +\| deactivating → inactive \(dead\)/;
t.test('with the example spec running, the main command still sets the exit code', opts, (t) =>
  matrix(
    t,
    (
      [
        ['exit 0', 0],
        ['exit 77', 77],
        ['kill -SEGV $$', signalled('SEGV')],
      ] as const
    ).map(([script, want]) => ({ what: script, want, o: { args: ['--', 'sh', '-c', script] }, log: webStopped })),
  ),
);
