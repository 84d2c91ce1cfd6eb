import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { sendNotify } from '../reconciler/notify.js';
import { closeFd, pipe } from '../reconciler/sys.js';
import { stateDir } from '../reconciler/paths.js';
import { formatProblem } from '../specs/errors.js';
import { loadSpec } from '../specs/loader.js';
import { EXIT, fail } from './exit.js';
import type { AgentFlags } from './agent.js';
import { collect } from './style.js';
import { ETCD_HELP, ETCD_OPTIONS } from '../fleet/etcd.js';

const program = new Command('sysmaster');
program
  .description('Run and manage a set of services from one TOML spec.')
  .option('--state-dir <dir>', 'instance state directory (default: $SYSMASTER_STATE_DIR, /run/sysmaster as root, else $XDG_RUNTIME_DIR/sysmaster)')
  .addHelpText(
    'after',
    `
Examples:
  sysmaster up specs/examples/webstack.toml     run a stack in the foreground; Ctrl-C stops it in order
  sysmaster validate spec.toml                  check a spec without running anything
  sysmaster notify READY=1 STATUS="listening"   tell the manager a Type=notify service is ready
  sysmaster calendar "Mon..Fri 02:00"           when a timer's OnCalendar= elapses next

While "up" runs, inspect and drive it from another terminal with sctl (sctl --help).`,
  );

program
  .command('up')
  .description('run the manager in the foreground, apply SPEC, stream states and output; Ctrl-C stops everything')
  .argument('<spec>', 'the spec file (TOML)')
  .option('--no-prefix', 'print service output without "unit |" prefixes')
  .action(async (specPath: string, o: { prefix: boolean }) => {
    // Checked here first: a bad spec is reported and nothing starts.
    const file = path.resolve(specPath);
    await loadSpec(file).catch((err) => fail(err));
    // The same init as PID 1, as a subreaper: a core that dies is replaced and every service keeps running.
    process.env.SYSMASTER_UP = o.prefix ? 'prefix' : 'plain';
    const { main } = await import('../init/main.js');
    await main(['--state-dir', stateDir(program.opts().stateDir), '--spec', file]);
  });

program
  .command('validate')
  .description('check spec files; exit 0 when all are valid')
  .argument('<specs...>')
  .option('--no-exec-check', 'do not check that Exec commands exist and are executable')
  .action(async (files: string[], o: { execCheck: boolean }) => {
    let bad = 0;
    for (const f of files) {
      try {
        const spec = await loadSpec(path.resolve(f), { checkExecutables: o.execCheck });
        process.stdout.write(`${f}: ok (${Object.keys(spec.units).length} units)\n`);
      } catch (err) {
        const problems = (err as { problems?: Parameters<typeof formatProblem>[0][] }).problems;
        if (!problems) fail(err);
        for (const p of problems) process.stderr.write(formatProblem(p) + '\n');
        bad++;
      }
    }
    process.exit(bad ? EXIT.failure : EXIT.ok);
  });

program
  .command('convert')
  .description('convert systemd unit files (and directories of them) into a spec; report what cannot be honoured')
  .argument('<paths...>', 'unit files (foo.service, foo@inst.service) or directories')
  .option('-o, --output <file>', 'write the spec here instead of stdout')
  .option('--strict', 'exit 1 when any directive is unsupported, ignored or converted with a difference')
  .action(async (paths: string[], o: { output?: string; strict?: boolean }) => {
    const { convert, formatReport } = await import('../specs/systemd/convert.js');
    const out = o.output && path.resolve(o.output);
    const result = await convert(paths, out || undefined).catch((err) => fail(err));
    for (const r of result.reports) process.stderr.write(formatReport(r) + '\n');
    if (out) fs.writeFileSync(out, result.toml);
    else process.stdout.write(result.toml);
    const lost = result.reports.filter((r) => r.kind !== 'note').length;
    process.stderr.write(`${result.units.length} units converted, ${lost} directives not converted as written\n`);
    process.exitCode = o.strict && lost ? EXIT.failure : EXIT.ok;
  });

program
  .command('calendar')
  .description('normalise systemd calendar expressions (OnCalendar=) and show when they elapse next, like systemd-analyze calendar')
  .argument('<expressions...>', 'e.g. daily, "Mon..Fri *-*-* 02:00", "*:0/15", "*-*-* 06:00 Europe/Berlin" (docs/calendar.md)')
  .option('--iterations <n>', 'show the next N elapses', '1')
  .option('--base-time <time>', 'count from this time instead of now ("2026-11-27 10:00", "@EPOCH", "+1d")')
  .option('-o, --output <format>', 'text or json', 'text')
  .addHelpText('after', '\nExit status: 0 when every expression is valid, 1 otherwise.')
  .action(async (exprs: string[], o: { iterations: string; baseTime?: string; output: string }) => {
    const { calendarCommand } = await import('./calendar.js');
    try {
      calendarCommand(exprs, o);
    } catch (err) {
      fail(err);
    }
  });

program
  .command('notify')
  .description('send sd_notify assignments (READY=1, STATUS=..., MAINPID=...) to $NOTIFY_SOCKET, like systemd-notify')
  .argument('[assignments...]')
  .option('--ready', 'same as READY=1')
  .option('--status <text>', 'same as STATUS=text')
  .option('--pid <pid>', 'speak for this pid ("parent", the default, is the process that ran us; "self" is us)', 'parent')
  .option('--no-block', 'do not wait until the manager has read the message')
  .action(async (fields: string[], o: { ready?: boolean; status?: string; pid: string; block: boolean }) => {
    const socket = process.env.NOTIFY_SOCKET;
    const lines = [...(o.ready ? ['READY=1'] : []), ...(o.status !== undefined ? [`STATUS=${o.status}`] : []), ...fields];
    if (!lines.length) fail(new Error('nothing to send: give assignments such as READY=1'));
    if (!socket) fail(new Error('NOTIFY_SOCKET is not set: not running under a service manager'));
    const pid = o.pid === 'parent' ? process.ppid : o.pid === 'self' ? process.pid : Number(o.pid);
    try {
      sendNotify(socket, lines.join('\n'), { pid });
      if (o.block) await barrier(socket);
    } catch (err) {
      fail(err);
    }
  });

const agent = program
  .command('agent')
  .description("join a fleet: register this machine in etcd and apply the specs assigned to it through the local core")
  .option('--node <name>', 'this node\'s name in the fleet (default: the short hostname)')
  .option('--label <KEY=VALUE>', 'a label selectors match (repeat, or comma-separate)', collect, [])
  .option('--config <file>', 'TOML: node, labels = { KEY = "VALUE" }, ttl, and the etcd settings below')
  .option('--ttl <seconds>', 'how long the node stays registered after the agent stops renewing its lease', '10')
  .addHelpText(
    'after',
    `
The agent watches the spec assigned to this node (directly, or through a group whose selector matches its labels),
applies each new revision once through the local core (the instance of --state-dir) as a transaction, and writes
the outcome back. Services see SYSMASTER_NODE and SYSMASTER_LABEL_<KEY>. While etcd is away, what runs keeps
running; the agent catches up when it returns.

Example:
  sysmaster agent --node web1 --label role=web --label zone=a --endpoints http://10.0.0.5:2379

${ETCD_HELP}`,
  );
for (const [flags, doc] of ETCD_OPTIONS) agent.option(flags, doc);
agent.action(async (o: AgentFlags) => {
  const { runAgent } = await import('./agent.js');
  await runAgent(o, stateDir(program.opts().stateDir)).catch((err) => fail(err));
});

/**
 * systemd-notify's BARRIER=1: pass the write end of a pipe and wait until the manager closes it, i.e. has read
 * everything sent before — so we (the sender) are still alive while it checks who sent it.
 */
async function barrier(socket: string): Promise<void> {
  const [r, w] = pipe();
  try {
    sendNotify(socket, 'BARRIER=1', { fds: [w] });
  } finally {
    closeFd(w);
  }
  const stream = fs.createReadStream('', { fd: r });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5000);
    stream.on('data', () => {});
    stream.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  stream.destroy();
}

program.parseAsync().catch((err) => fail(err));
