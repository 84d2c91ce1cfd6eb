import { constants } from 'node:os';
import path from 'node:path';
import readline from 'node:readline/promises';
import { randomUUID } from 'node:crypto';
import type { Savepoint, Tx, TxSummary } from '../reconciler/journal.js';
import { Command, Option } from 'commander';
import { call, CallError } from '../reconciler/client.js';
import { parseDuration } from '../specs/duration.js';
import { statePaths, stateDir } from '../reconciler/paths.js';
import type { Plan } from '../reconciler/plan.js';
import type { ApplyProgress, ApplyResult } from '../reconciler/apply.js';
import type { LogRecord } from '../logger/store.js';
import { formatValue, type ResourceSample, type SocketInfo, type TimerInfo, type UnitInfo, type UnitStatus } from '../reconciler/view.js';
import { localZone } from '../specs/zone.js';
import { isGlob, mangleUnitName, matchesAny } from '../specs/names.js';
import { EXIT, fail } from './exit.js';
import { formatExitStatus } from '../specs/exit-status.js';
import { formatBytes, ORDERS, orderRows, renderTop, topRows, type Order } from './top.js';
import { ago, collect, colours, stateDot, stateWord, table as renderTable } from './style.js';
import { fleetCommand } from './fleet.js';
import { formatTimestamp, parsePriority, parseTime, parseTimeout, relative } from './time.js';

const c = colours();
const program = new Command('sctl');

program
  .description('Control a sysmaster manager, like systemctl controls systemd.')
  .option('--state-dir <dir>', 'the instance to talk to (default: $SYSMASTER_STATE_DIR, /run/sysmaster as root, else $XDG_RUNTIME_DIR/sysmaster)')
  .addOption(
    new Option('-o, --output <format>', 'output format: text or json for every query; short or cat for logs')
      .choices(['text', 'json', 'short', 'cat'])
      .default('text'),
  )
  .showHelpAfterError('(run sctl --help for usage)')
  // -o and --state-dir apply to every command: its own --help must say so
  .configureHelp({ showGlobalOptions: true })
  .addHelpText(
    'after',
    `
Examples:
  sctl list-units --state=failed        units that failed
  sctl status web                       state, main PID and last log lines of web.service
  sctl restart api worker               restart two services (waits for the jobs)
  sctl logs -f web                      follow web.service's output
  sctl plan spec.toml                   what apply would change (exit 0: nothing, 2: changes)
  sctl apply spec.toml --yes            make the running system match the spec

Units: web means web.service, worker@1 worker@1.service, /srv/data srv-data.mount; status, start, stop, kill,
is-active and the like also take glob patterns of loaded units ('web-*'), list-units patterns of names.
There is no enable step (units run when the spec says), so enable, disable, mask and their --now do not exist.

Exit codes (systemctl's): 0 success; 1 failure, or not failed (is-failed); 2 plan found changes; 3 not active
(is-active, status); 4 no such unit (status); 5 no such unit (start, stop, ...).
See docs/cli.md.`,
  );

const sock = () => statePaths(stateDir(program.opts().stateDir)).control;
const json = () => program.opts().output === 'json';
const out = (s: string): void => void process.stdout.write(s + '\n');
const rpc = (method: string, params: object = {}, onEvent?: (e: unknown) => void) =>
  call(sock(), method, params, { onEvent }).catch((err) => fail(err, method));

program
  .command('list-units')
  .description('list loaded units with their states (those whose names match a PATTERN, when given)')
  .argument('[patterns...]', "glob patterns of unit names, as systemctl takes them ('web*')")
  .option('--state <states>', 'only units in these states (comma-separated: active,failed,running,...)')
  .option('-t, --type <types>', 'only units of these types (service,target)')
  .action(async (patterns: string[], o: { state?: string; type?: string }) => {
    const all = (await rpc('list-units', { states: csv(o.state), types: csv(o.type) })) as UnitInfo[];
    const units = patterns.length ? all.filter((u) => matchesAny(patterns, u.name)) : all;
    if (json()) return out(JSON.stringify(units, null, 2));
    const w = Math.max(4, ...units.map((u) => u.name.length));
    out(c.bold(`  ${'UNIT'.padEnd(w)} LOAD   ACTIVE       SUB          DESCRIPTION`));
    for (const u of units) {
      out(`${stateDot(u.active, c)} ${u.name.padEnd(w)} ${u.load.padEnd(6)} ${pad(stateWord(u.active, c), u.active, 12)} ${u.sub.padEnd(12)} ${u.description}`);
    }
    out(`\n${units.length} loaded units listed.`);
  });

/** Rows as systemctl prints its lists: columns padded to the widest cell, the header bold. */
const table = (rows: string[][]) => renderTable(rows, c, out);

program
  .command('list-timers')
  .description('list timers, the next to elapse first: when, how long until, their last trigger, the unit they start')
  .option('-a, --all', 'inactive timers too')
  .action(async (o: { all?: boolean }) => {
    const timers = (await rpc('list-timers', { all: Boolean(o.all) })) as TimerInfo[];
    if (json()) return out(JSON.stringify(timers, null, 2));
    const zone = localZone();
    const now = Date.now();
    const at = (iso: string | null) => (iso ? formatTimestamp(Date.parse(iso), zone) : '-');
    const from = (iso: string | null) => (iso ? relative(Date.parse(iso), now) : '-');
    const rows = [
      ['NEXT', 'LEFT', 'LAST', 'PASSED', 'UNIT', 'ACTIVATES'],
      ...timers.map((t) => [at(t.next), from(t.next), at(t.last), from(t.last), t.unit, t.activates]),
    ];
    table(rows);
    out(`\n${timers.length} timers listed.`);
    if (!o.all) out('Pass --all to see loaded but inactive timers, too.');
  });

program
  .command('list-sockets')
  .description('list listening addresses of sockets: where, the socket unit, the service it starts')
  .option('-a, --all', 'inactive sockets too')
  .option('--show-types', 'show the socket type of each address')
  .action(async (o: { all?: boolean; showTypes?: boolean }) => {
    const sockets = (await rpc('list-sockets', { all: Boolean(o.all) })) as SocketInfo[];
    if (json()) return out(JSON.stringify(sockets, null, 2));
    const rows = [
      ['LISTEN', ...(o.showTypes ? ['TYPE'] : []), 'UNIT', 'ACTIVATES'],
      ...sockets.map((s) => [s.listen, ...(o.showTypes ? [s.type] : []), s.unit, s.activates]),
    ];
    table(rows);
    out(`\n${sockets.length} sockets listed.`);
    if (!o.all) out('Pass --all to see loaded but inactive sockets, too.');
  });

program
  .command('status')
  .description('show runtime status of units (all units when none given)')
  .argument('[units...]')
  .option('-n, --lines <n>', 'log lines to show', '10')
  .action(async (args: string[], o: { lines: string }) => {
    const lines = Number(o.lines);
    if (!args.length) {
      const all = (await rpc('status', { units: [], lines })) as UnitStatus[];
      return json() ? out(JSON.stringify(all, null, 2)) : all.forEach((s, i) => out((i ? '\n' : '') + renderStatus(s)));
    }
    // systemctl's exit code is that of the first unit, in order, that is missing (4) or not active (3).
    const { names, known, unknown } = await expand(args);
    const list = known.length ? ((await rpc('status', { units: known, lines })) as UnitStatus[]) : [];
    for (const n of unknown) process.stderr.write(`Unit ${n} could not be found.\n`);
    if (json()) out(JSON.stringify(list, null, 2));
    else list.forEach((s, i) => out((i ? '\n' : '') + renderStatus(s)));
    const code = (n: string) => (unknown.includes(n) ? EXIT.noUnit : isActive(list.find((s) => s.name === n)?.active ?? 'inactive') ? EXIT.ok : EXIT.notActive);
    process.exit(names.map(code).find((x) => x !== EXIT.ok) ?? EXIT.ok);
  });

program
  .command('show')
  .description('show properties of a unit as Key=Value lines')
  .argument('<unit>')
  .option('-p, --property <props>', 'only these properties (comma-separated; may repeat)', collect, [])
  .option('--value', 'print only the values')
  .action(async (unit: string, o: { property: string[]; value?: boolean }) => {
    const name = mangle(unit, false);
    // Like systemctl, a unit that does not exist is shown as such, exit 0.
    const props = (await call(sock(), 'show', { unit: name }).catch((err) =>
      err instanceof CallError && err.code === 'ENOUNIT' ? notFound(name) : fail(err, 'show'),
    )) as Record<string, string>;
    const want = o.property.flatMap((p) => p.split(',')).filter(Boolean);
    const keys = want.length ? want : Object.keys(props);
    if (json()) return out(JSON.stringify(Object.fromEntries(keys.map((k) => [k, props[k] ?? ''])), null, 2));
    for (const k of keys) out(o.value ? (props[k] ?? '') : `${k}=${props[k] ?? ''}`);
  });

program
  .command('cat')
  .description("print a unit's definition from its spec file")
  .argument('<unit>')
  .action(async (unit: string) => {
    const r = (await rpc('cat', { unit })) as { text: string };
    process.stdout.write(json() ? JSON.stringify(r) + '\n' : r.text);
  });

for (const [verb, what] of [
  ['start', 'start units'],
  ['stop', 'stop units'],
  ['restart', 'stop then start units'],
  ['reload', 'reload units (ExecReload)'],
  ['try-restart', 'restart units that are running'],
  ['reload-or-restart', 'reload units that support it, restart the others'],
] as const) {
  program
    .command(verb)
    .description(what)
    .argument('<units...>')
    .option('--no-block', 'do not wait for the jobs to finish')
    .addOption(new Option('--job-mode <mode>', 'how to treat conflicting queued jobs').choices(['replace', 'fail', 'isolate']).default('replace'))
    .action(async (args: string[], o: { block: boolean; jobMode: string }) => {
      // systemctl queues each unit on its own: one that does not exist fails (5) without holding the others back.
      const { known, unknown } = await expand(args);
      if (known.length) {
        // The key lets a retry after a core's death find this request instead of running it twice.
        const r = (await rpc('job', { units: known, type: verb, mode: o.jobMode, wait: o.block, key: randomUUID() })) as {
          transaction: number;
          results: { unit: string; type: string; result: string }[] | null;
        };
        if (json()) return out(JSON.stringify(r, null, 2));
        const failed = (r.results ?? []).filter((x) => x.result !== 'done' && known.includes(x.unit));
        for (const f of failed) {
          process.stderr.write(`Job for ${f.unit} ${f.result === 'dependency' ? 'failed because a dependency failed' : 'failed'}.\nSee "sctl status ${f.unit}" and "sctl logs ${f.unit}" for details.\n`);
        }
        if (failed.length) process.exit(EXIT.failure);
      }
      missing(unknown, (n) => `Failed to ${verb} ${n}: Unit ${n} ${verb === 'stop' ? 'not loaded' : 'not found'}.`, EXIT.notLoaded);
    });
}

// systemctl 252's exit codes (Debian 12's, and the public contract): 0 when any unit is in the state, else 3
// (is-active) or 1 (is-failed). A unit that does not exist prints as inactive and counts as such (253 and later
// exit 4 when none exists).
for (const [verb, what, good, no] of [
  ['is-active', 'exit 0 when any unit is active, else 3; prints each state', isActive, EXIT.notActive],
  ['is-failed', 'exit 0 when any unit is failed, else 1; prints each state', (s: string) => s === 'failed', EXIT.failure],
] as const) {
  program
    .command(verb)
    .description(what)
    .argument('<units...>')
    .option('-q, --quiet', 'print nothing')
    .action(async (args: string[], o: { quiet?: boolean }) => {
      const { names, loaded } = await expand(args);
      const states = names.map((n) => loaded.find((u) => u.name === n)?.active ?? 'inactive');
      if (!o.quiet) for (const s of states) out(s);
      process.exit(states.some(good) ? EXIT.ok : no);
    });
}

program
  .command('list-jobs')
  .description('list queued and running jobs')
  .action(async () => {
    const jobs = (await rpc('list-jobs')) as { id: number; unit: string; type: string; state: string }[];
    if (json()) return out(JSON.stringify(jobs, null, 2));
    if (!jobs.length) return out('No jobs running.');
    out(c.bold('JOB  UNIT                           TYPE         STATE'));
    for (const j of jobs) out(`${String(j.id).padEnd(4)} ${j.unit.padEnd(30)} ${j.type.padEnd(12)} ${j.state}`);
    out(`\n${jobs.length} jobs listed.`);
  });

program
  .command('reset-failed')
  .description('reset the failed state of units (all when none given)')
  .argument('[units...]')
  .action(async (args: string[]) => {
    if (!args.length) return void (await rpc('reset-failed', { units: [] }));
    const { known, unknown } = await expand(args);
    if (known.length) await rpc('reset-failed', { units: known });
    missing(unknown, (n) => `Failed to reset failed state of unit ${n}: Unit ${n} not loaded.`, EXIT.failure);
  });

program
  .command('kill')
  .description("send a signal to units' processes")
  .argument('<units...>')
  .option('-s, --signal <signal>', 'signal to send', 'SIGTERM')
  .addOption(new Option('--kill-whom <who>', 'which processes').choices(['all', 'main', 'control']).default('all'))
  .action(async (args: string[], o: { signal: string; killWhom: string }) => {
    const signal = /^\d+$/.test(o.signal) ? Number(o.signal) : o.signal.toUpperCase().replace(/^(?!SIG)/, 'SIG');
    const { known, unknown } = await expand(args);
    for (const unit of known) await rpc('kill', { unit, signal: typeof signal === 'number' ? signalName(signal) : signal, who: o.killWhom });
    missing(unknown, (n) => `Failed to kill unit ${n}: Unit ${n} not loaded.`, EXIT.failure);
  });

program
  .command('logs')
  .description("show captured output of units (all when none given; `sysmaster`: the manager's own messages)")
  .argument('[units...]')
  .option('-n, --lines <n>', 'how many recent lines', '100')
  .option('-f, --follow', 'keep printing new lines')
  .option('-S, --since <time>', 'only records at or after TIME ("2026-11-27 10:00", "10:00", "today", "-5min")')
  .option('-U, --until <time>', 'only records at or before TIME')
  .option('-p, --priority <level>', 'only records this urgent or more (emerg..debug, or 0-7)')
  .action(async (units: string[], o: { lines: string; follow?: boolean; since?: string; until?: string; priority?: string }) => {
    let filter: { since?: number; until?: number; priority?: number };
    try {
      filter = {
        since: o.since ? parseTime(o.since) : undefined,
        until: o.until ? parseTime(o.until) : undefined,
        priority: o.priority ? parsePriority(o.priority) : undefined,
      };
    } catch (err) {
      fail(err);
    }
    const format = program.opts().output as string;
    const print = (e: unknown) => {
      const r = e as LogRecord;
      if (format === 'json') return out(JSON.stringify(r));
      if (format === 'cat') return out(r.message);
      // short (the default)
      out(`${c.dim(new Date(r.time).toISOString())} ${c.cyan(r.unit)}[${r.pid ?? '-'}]: ${r.message}`);
    };
    // Patterns that match no unit select no records (no units at all would mean every unit's).
    const rest = units.filter((u) => u !== 'sysmaster');
    const names = [...units.filter((u) => u === 'sysmaster'), ...(rest.length ? (await expand(rest)).names : [])];
    if (units.length && !names.length) return;
    await rpc('logs', { units: names, lines: Number(o.lines), follow: Boolean(o.follow), ...filter }, print);
  });

program
  .command('daemon-reload')
  .description('re-read the applied spec files and reconcile')
  .action(async () => {
    const r = (await rpc('daemon-reload', {}, progress)) as ApplyResult;
    finishApply(r);
  });

program
  .command('plan')
  .description('show what applying SPEC would change; exit 0 = no change, 2 = changes, 1 = error')
  .argument('<spec>')
  .action(async (spec: string) => {
    const p = (await rpc('plan', { spec: path.resolve(spec) })) as Plan;
    if (json()) out(JSON.stringify(p, null, 2));
    else out(renderPlan(p));
    if (p.error) process.exit(EXIT.failure);
    process.exit(changes(p) ? EXIT.changes : EXIT.ok);
  });

program
  .command('apply')
  .description('make the running system match SPEC: shows the plan, asks, then runs it as one transaction')
  .argument('<spec>')
  .option('-y, --yes', 'do not ask')
  .option('--timeout <duration>', 'fail (and roll back) if the jobs are not done by then: 90s, 5min, infinity', '5min')
  .option('--strict', 'a failed Wants= dependency fails the transaction too')
  .option('--no-rollback', 'on failure, leave the system as the failed transaction left it')
  .option('--wait', 'when another apply is running, queue behind it instead of being refused')
  .addHelpText(
    'after',
    `
The transaction commits when every job is done. It fails when a required job fails, when it runs past --timeout,
or on Ctrl-C; then it is rolled back: units it started are stopped, changed units get their old definitions, units
it stopped or removed come back (docs/transactions.md). A second Ctrl-C leaves the rollback running in the manager.

Examples:
  sctl plan spec.toml; sctl apply spec.toml            see the jobs (plan exits 2), then run exactly those
  sctl apply spec.toml --yes --timeout 2min --strict   no prompt; any failure within 2 minutes rolls back
  sctl history                                         what each apply came to
  sctl rollback                                        undo the last apply, as a new transaction

Exit: 0 committed (or nothing to do); 1 failed (rolled back, or left as it was with --no-rollback); 130 interrupted.`,
  )
  .action(async (spec: string, o: { yes?: boolean; rollback: boolean; wait?: boolean; strict?: boolean; timeout: string }) => {
    const file = path.resolve(spec);
    const timeout = parseTimeout(o.timeout);
    const p = (await rpc('plan', { spec: file })) as Plan;
    if (!json()) out(renderPlan(p));
    if (p.error) process.exit(EXIT.failure);
    if (!changes(p)) return json() ? out(JSON.stringify({ plan: p, transaction: null, results: [], ok: true })) : undefined;
    if (!o.yes && process.stdin.isTTY && process.stdout.isTTY) {
      const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
      const answer = await rl.question('Apply these changes? [y/N] ');
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        out('Nothing changed.');
        process.exit(EXIT.failure);
      }
    }
    // The key lets a retry after a core's death find this transaction instead of applying twice, and Ctrl-C name it.
    const key = randomUUID();
    let interrupted = false;
    process.on('SIGINT', () => {
      if (interrupted) process.exit(EXIT.interrupted);
      interrupted = true;
      process.stderr.write('\nInterrupted: rolling back (Ctrl-C again to leave it to the manager)...\n');
      call(sock(), 'abort', { key }).catch((err: Error) => process.stderr.write(`${err.message}\n`));
    });
    const params = { spec: file, rollback: o.rollback, wait: Boolean(o.wait), strict: Boolean(o.strict), timeout, key };
    const r = (await rpc('apply', params, json() ? undefined : progress)) as ApplyResult;
    if (json()) out(JSON.stringify(r, null, 2));
    finishApply(r, interrupted ? EXIT.interrupted : EXIT.failure);
  });

program
  .command('history')
  .description('list the transactions (applies) in the journal: id, start, duration, spec, result, jobs')
  .action(async () => {
    const list = (await rpc('history')) as TxSummary[];
    if (json()) return out(JSON.stringify(list, null, 2));
    if (!list.length) return out('No transactions.');
    out(['ID', 'START', 'DURATION', 'RESULT', 'JOBS (done/failed/planned)', 'SPEC'].join('  '));
    for (const t of list) {
      const duration = t.duration === null ? '-' : `${(t.duration / 1000).toFixed(1)}s`;
      const jobs = `${t.jobs.done}/${t.jobs.failed}/${t.jobs.planned}`;
      out([t.id, new Date(t.start).toISOString(), duration, t.result, jobs, `${t.specFile ?? '-'} (${t.specHash})`].join('  '));
    }
  });

program
  .command('rollback')
  .description('revert a committed transaction (default: the newest apply not yet reverted; reverting a rollback redoes its apply) as a new transaction')
  .argument('[id]', 'the transaction to revert (sctl history lists them)')
  .action(async (id?: string) => {
    const r = (await rpc('rollback', id === undefined ? {} : { id: Number(id) })) as ApplyResult;
    if (json()) return out(JSON.stringify(r, null, 2));
    out(r.ok ? `Reverted as transaction ${r.transaction}.` : `Revert failed: see sctl show-transaction ${r.transaction}.`);
    if (r.rolledBack !== undefined) out(r.rolledBack ? 'The revert was rolled back: the system is as it was.' : 'Its rollback failed too.');
    if (!r.ok) process.exit(EXIT.failure);
  });

program
  .command('show-transaction')
  .description('one transaction: what it changed, its jobs, savepoints and errors')
  .argument('<id>')
  .action(async (id: string) => {
    const tx = (await rpc('show-transaction', { id: Number(id) })) as Tx & { savepoints: Savepoint[]; errors: { time: number; message: string }[] };
    if (json()) return out(JSON.stringify(tx, null, 2));
    out(`Transaction ${tx.id} (${tx.kind}): ${tx.result}, started ${new Date(tx.start).toISOString()}`);
    out(`  Spec: ${tx.specFile ?? '-'} (${tx.specHash}), before: ${tx.specBefore ?? '-'}`);
    out(`  Units: ${Object.keys(tx.after).map((u) => `${u} (${tx.before[u] === null ? 'added' : tx.after[u] === null ? 'removed' : 'changed'})`).join(', ')}`);
    out(`  Jobs planned: ${tx.jobs.map((j) => `${j.type} ${j.unit}`).join(', ')}`);
    for (const s of tx.savepoints) out(`  savepoint ${s.seq} [${s.phase}] ${s.type} ${s.unit}: ${s.result} at ${new Date(s.time).toISOString()}`);
    for (const e of tx.errors) out(`  error: ${e.message}`);
  });

program
  .command('top')
  .description("a live table of the units' cgroups: tasks, %CPU, memory, like systemd-cgtop")
  .addOption(new Option('--order <column>', 'sort by: cpu, memory, tasks (largest first) or path (the unit name)').choices(ORDERS).default('cpu'))
  .option('-d, --delay <seconds>', 'time between refreshes: seconds, or a time span such as 500ms', '1')
  .option('-n, --iterations <n>', 'stop after N refreshes (default: until Ctrl-C)')
  .option('-b, --batch', 'print each table after the last, without clearing the screen (always so when stdout is not a terminal)')
  .addHelpText(
    'after',
    `
Each refresh reads every unit's cgroup once (one call to the manager). %CPU is the CPU time the unit used since the
previous refresh over the time elapsed, in percent of one CPU (two busy CPUs: 200); the first table compares with a
sample taken a moment before it (at most 100ms). Tasks and Memory are now; "-" where the machine does not count it.
Only services with a cgroup are listed: the manager must run as root (docs/cgroups.md).

With -o json, each refresh is one line holding a JSON array of {unit, tasks, cpuPercent, memoryBytes, cpuNs}
(tasks, bytes, percent, nanoseconds of CPU so far; null where unknown), in the --order.

Examples:
  sctl top                              the table, refreshed every second, heaviest CPU user first
  sctl top --order=memory -d 5          by memory, every 5 seconds
  sctl top -b -n 3 -d 500ms             three tables, one after the other (for scripts and logs)
  sctl top -o json -n 1                 one JSON array

Exit: 0 (also on Ctrl-C); 1 when the manager cannot be reached or has no cgroups.`,
  )
  .action(async (o: { order: Order; delay: string; iterations?: string; batch?: boolean }) => {
    let delay: number;
    try {
      delay = parseDuration(o.delay);
    } catch {
      delay = NaN;
    }
    if (!(delay > 0 && Number.isFinite(delay))) fail(new Error(`--delay: cannot read "${o.delay}" as a time span greater than 0: use 1, 2.5, 500ms`));
    const n = o.iterations === undefined ? Infinity : Number(o.iterations);
    if (!(Number.isInteger(n) && n > 0) && n !== Infinity) fail(new Error(`--iterations: "${o.iterations}" is not a whole number above 0`));
    const live = !o.batch && !json() && Boolean(process.stdout.isTTY);
    process.on('SIGINT', () => process.exit(EXIT.ok));
    const sample = async () => (await rpc('resources')) as ResourceSample;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let prev = await sample();
    await sleep(Math.min(delay, 100));
    for (let i = 0; i < n; i++) {
      if (i) await sleep(delay);
      const cur = await sample();
      const rows = orderRows(topRows(prev, cur), o.order);
      prev = cur;
      if (json()) out(JSON.stringify(rows));
      else {
        if (live) process.stdout.write('\x1b[H\x1b[2J');
        else if (i) out('');
        for (const line of renderTop(rows, c.bold)) out(line);
      }
    }
  });

program
  .command('daemon-reexec')
  .description('hand over to a fresh manager process (new code on disk is used); services are not touched')
  .action(async () => void (await rpc('daemon-reexec')));

for (const [verb, what] of [
  ['poweroff', 'stop every unit, then power off (a host PID 1) or exit 0 (a container, sysmaster up)'],
  ['reboot', 'stop every unit, then reboot (a host PID 1) or exit 0'],
  ['halt', 'stop every unit, then halt (a host PID 1) or exit 0'],
] as const) {
  program
    .command(verb)
    .description(what)
    .action(async () => void (await rpc(verb)));
}

program
  .command('exit')
  .description('stop every unit and make the manager exit with CODE (default 0)')
  .argument('[code]', 'exit code', '0')
  .action(async (code: string) => void (await rpc('exit', { code: Number(code) })));

program.addCommand(fleetCommand(json));

program.parseAsync().catch((err) => fail(err));

/** systemd's format_timespan to the millisecond, as systemctl status shows CPU: "12ms", "1.234s", "2min 3.456s". */
function cpuTime(ns: number): string {
  const ms = Math.floor(ns / 1e6);
  if (ms < 1000) return `${ms}ms`;
  const min = Math.floor(ms / 60_000);
  const sec = ((ms % 60_000) / 1000).toFixed(3).replace(/\.?0+$/, '');
  return min ? `${min}min ${sec}s` : `${sec}s`;
}

function renderStatus(s: UnitStatus): string {
  const lines = [
    `${stateDot(s.active, c)} ${s.name} - ${s.description}`,
    `     Loaded: loaded (${s.file}:${s.line})`,
    `     Active: ${stateWord(s.active, c)} (${s.sub})${s.result !== 'success' ? ` (Result: ${s.result})` : ''} since ${formatTimestamp(Date.parse(s.since), localZone())}; ${ago(s.since)}`,
  ];
  if (s.trigger !== undefined) {
    lines.push(`    Trigger: ${s.trigger ? `${formatTimestamp(Date.parse(s.trigger), localZone())}; ${relative(Date.parse(s.trigger))}` : 'n/a'}`);
  }
  if (s.triggers?.length) lines.push(`   Triggers: ${s.triggers.join(', ')}`);
  if (s.sysfs) lines.push(`     Device: ${s.sysfs}`);
  s.listen?.forEach((l, i) => lines.push(`${i ? '           ' : '     Listen: '}${l}`));
  if (s.accepted !== undefined) lines.push(`   Accepted: ${s.accepted}; Connected: ${s.connected}`);
  if (s.mainPid) lines.push(`   Main PID: ${s.mainPid}`);
  else if (s.exitCode !== null || s.exitSignal) {
    lines.push(`   Main PID: (${s.exitSignal ? `code=killed, signal=${s.exitSignal.replace(/^SIG/, '')}` : `code=exited, status=${formatExitStatus(s.exitCode!)}`})`);
  }
  if (s.statusText) lines.push(`     Status: "${s.statusText}"`);
  const r = s.resources;
  if (r?.tasksCurrent != null) lines.push(`      Tasks: ${r.tasksCurrent}${r.tasksMax !== null ? ` (limit: ${r.tasksMax})` : ''}`);
  if (r?.memoryCurrent != null) lines.push(`     Memory: ${formatBytes(r.memoryCurrent)}${r.memoryPeak != null ? ` (peak: ${formatBytes(r.memoryPeak)})` : ''}`);
  if (r?.cpuUsageNs != null) lines.push(`        CPU: ${cpuTime(r.cpuUsageNs)}`);
  if (s.restarts) lines.push(`   Restarts: ${s.restarts}`);
  // journald says "Suppressed N messages"; ours are records the disk would not take, counted since the log process started.
  if (s.logsLost) lines.push(`       Logs: ${c.red(`${s.logsLost} records lost`)} (see sctl logs sysmaster)`);
  if (s.logs.length) {
    lines.push('');
    for (const r of s.logs) lines.push(`${c.dim(new Date(r.time).toISOString())} ${r.unit}[${r.pid ?? '-'}]: ${r.message}`);
  }
  return lines.join('\n');
}

function renderPlan(p: Plan): string {
  if (p.error) return c.red(`Cannot apply: ${p.error.message}`);
  if (!changes(p)) return 'No changes: the running system matches the spec.';
  const lines: string[] = [];
  for (const u of p.added) lines.push(c.green(`  + ${u}`));
  for (const u of p.removed) lines.push(c.red(`  - ${u}`));
  for (const d of p.changed) {
    lines.push(c.yellow(`  ~ ${d.unit}${d.restart ? ' (restart)' : ''}`));
    for (const f of d.fields) lines.push(`      ${f.key}: ${shown(f.from)} → ${shown(f.to)}`);
  }
  if (p.manager.length) lines.push(c.yellow('  ~ [manager] (for processes started from now on)'));
  for (const f of p.manager) lines.push(`      ${f.key}: ${shown(f.from)} → ${shown(f.to)}`);
  lines.push(`Jobs (${p.jobs.length}):`);
  for (const j of p.jobs) lines.push(`  ${j.type.padEnd(8)} ${j.unit}`);
  return lines.join('\n');
}

/** Live progress on stderr: on a terminal one line, rewritten (failures stay); elsewhere a line per job. */
function progress(e: unknown): void {
  const p = e as ApplyProgress;
  const tty = process.stderr.isTTY;
  const mark = p.result === 'done' ? c.green('✓') : c.red('✗');
  const phase = p.phase === 'rollback' ? `${c.yellow('rollback')} ` : '';
  const line = `${phase}[${p.done}/${p.total}] ${mark} ${p.type} ${p.unit}${p.result === 'done' ? '' : ` (${p.result})`}`;
  const now = p.running.length ? c.dim(`  running: ${p.running.join(', ')}`) : '';
  if (!tty) return void process.stderr.write(line + '\n');
  // Failures and the last job stay on screen; the rest is rewritten in place.
  const final = p.result !== 'done' || p.done === p.total;
  process.stderr.write(`\r\x1b[K${line}${final ? '\n' : now}`);
}

/** The summary, and the exit code: 0 committed, else `failure`. */
function finishApply(r: ApplyResult, failure: number = EXIT.failure): void {
  if (!json()) {
    const failed = r.results.filter((x) => x.result !== 'done');
    const what = [r.reason, ...failed.map((f) => `${f.type} ${f.unit} (${f.result})`)].filter(Boolean);
    out(r.ok ? `Applied: ${r.results.length} jobs done.` : `Apply failed: ${what.join(', ')}`);
    if (r.rolledBack !== undefined) {
      const undone = (r.rollback ?? []).map((j) => `${j.type} ${j.unit}${j.result === 'done' ? '' : ` (${j.result})`}`);
      out(r.rolledBack ? `Rolled back: transaction ${r.transaction} undone, the system is as it was.` : `Rollback failed: see sctl show-transaction ${r.transaction}.`);
      if (undone.length) out(`  Rollback jobs: ${undone.join(', ')}`);
    }
  }
  if (!r.ok) process.exit(failure);
}

function changes(p: Plan): boolean {
  return Boolean(p.added.length || p.removed.length || p.changed.length || p.manager.length || p.jobs.length);
}

/** A unit name as typed, the way systemctl reads it (specs/names.ts). */
function mangle(name: string, glob: boolean): string {
  try {
    return mangleUnitName(name, glob);
  } catch (err) {
    fail(err);
  }
}

/**
 * systemctl's expand_unit_names(): every argument mangled, each glob pattern replaced by the loaded units it
 * matches; `known` and `unknown` split the names by whether such a unit exists.
 */
async function expand(args: string[]) {
  const loaded = (await rpc('list-units')) as UnitInfo[];
  const mangled = args.map((a) => mangle(a, true));
  const patterns = mangled.filter(isGlob);
  const matched = loaded.map((u) => u.name).filter((n) => patterns.length && matchesAny(patterns, n));
  const names = [...new Set([...mangled.filter((n) => !isGlob(n)), ...matched])];
  const exists = new Set(loaded.map((u) => u.name));
  return { names, loaded, known: names.filter((n) => exists.has(n)), unknown: names.filter((n) => !exists.has(n)) };
}

/** systemctl's complaint about each unit that does not exist, then its exit code when there was one. */
function missing(unknown: string[], message: (name: string) => string, code: number): void {
  for (const n of unknown) process.stderr.write(message(n) + '\n');
  if (unknown.length) process.exit(code);
}

function isActive(state: string): boolean {
  return state === 'active' || state === 'reloading';
}

/** What systemctl show prints for a unit that does not exist. */
function notFound(name: string): Record<string, string> {
  return {
    Id: name,
    Names: name,
    Description: name,
    LoadState: 'not-found',
    ActiveState: 'inactive',
    SubState: 'dead',
    Result: 'success',
    MainPID: '0',
    ControlPID: '0',
    NRestarts: '0',
    LoadError: `org.freedesktop.systemd1.NoSuchUnit "Unit ${name} not found."`,
  };
}

/** A spec value as systemctl show prints it, in full: a shortened value can hide the very change it shows. */
function shown(v: unknown): string {
  if (v === undefined) return '(unset)';
  const text = formatValue(v);
  return text === '' ? '(empty)' : text;
}

function csv(v?: string): string[] | undefined {
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

function pad(coloured: string, plain: string, width: number): string {
  return coloured + ' '.repeat(Math.max(0, width - plain.length));
}

function signalName(n: number): string {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `SIG${n}`;
}
