// sysmaster-init: PID 1, or a subreaper below it. It reaps, forwards exits and signals to the core, keeps a core
// running, and at the end kills what is left and exits (or powers a host off). Everything else is the core's job.
import { setTimeout as sleep } from 'node:timers/promises';
import { Reaper } from '../reconciler/reaper.js';
import { setChildSubreaper } from '../reconciler/sys.js';
import { Supervisor, coreEnv } from './core.js';
import { statePaths } from '../reconciler/paths.js';
import { Ledger, type Observed } from './ledger.js';
import { FdStore } from './fdstore.js';
import { NotifySocket } from '../reconciler/notify.js';
import { killAll } from './killall.js';
import { log } from './log.js';
import { USAGE, UsageError, parseOptions, type Options } from './options.js';
import { FORWARDED, type ForwardedEvent, type ShutdownReason } from './protocol.js';
import { BusyError, openSockets, type InitSockets } from './sockets.js';
import { cloexecFrom3, disableCtrlAltDel, onRealtime, reboot, SIGRTMIN_3, sync, type RebootAction } from './sys.js';

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', ...FORWARDED] as const;
type Handled = (typeof SIGNALS)[number] | 'SIGRTMIN+3';

/** A core that said 'exit' only has to exit; it gets this long before it is killed with the rest. */
const CORE_EXIT_MS = 1000;

/** Exit codes of init itself, besides the code a core asks for. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Starts reaping and the first core; returns what to do on a signal. */
function run(o: Options, sockets: InitSockets): (sig: Handled) => void {
  const reaper = new Reaper();
  const ledger = new Ledger();
  const store: FdStore = new FdStore(statePaths(o.stateDir).fdstore, (): number | null => sup.pid);
  const sup = new Supervisor({
    script: o.core,
    env: coreEnv(o),
    sockets,
    stored: () => store.contents(),
    watchdogMs: o.watchdogMs,
    maxFailedStarts: o.maxFailedStarts,
  });
  const host = o.pid1 && !o.container;
  let stopping: { reason: ShutdownReason; deadline: number; timer: NodeJS.Timeout } | null = null;
  let finishing = false;

  // Events of one turn of the loop (a reaping pass, a burst of READY=1) go to the core as one message.
  let batch: ForwardedEvent[] = [];
  const flush = () => {
    const events = batch;
    batch = [];
    if (events.length && sup.isReady) sup.send({ type: 'events', events });
  };
  const forward = (observed: Observed) => {
    const { event, dropped } = ledger.add(observed);
    if (dropped) log(`the core acknowledges nothing: forgot the ${dropped} oldest events`);
    if (!sup.isReady) return;
    if (!batch.length) setImmediate(flush);
    batch.push(event);
  };
  reaper.on('exit', (info) => forward({ kind: 'exit', ...info }));
  // init reads the notify socket, not the core: a datagram is acknowledged only once its effect is saved.
  const notify = NotifySocket.fromFd(sockets.notify);
  notify.on('message', (m) => forward({ kind: 'notify', ...m }));
  sup.on('ready', () => {
    batch = [];
    sup.send({ type: 'events', events: ledger.pending() });
  });
  sup.on('ack', (seq) => ledger.ack(seq));
  sup.on('spawn', () => {
    if (!stopping) return;
    sup.send({ type: 'shutdown', reason: stopping.reason, grace: Math.max(0, stopping.deadline - Date.now()) });
  });
  sup.on('exit', (code, action) => {
    void finish(code, `the core asked to exit with code ${code}`, action, CORE_EXIT_MS);
  });
  sup.on('giveUp', (why) => void finish(EXIT.failed, why));

  async function finish(code: number, why: string, action?: RebootAction, waitMs = 0): Promise<void> {
    if (finishing) return;
    finishing = true;
    if (stopping) clearTimeout(stopping.timer);
    log(`${why}: killing what is left`);
    await Promise.race([sup.stop(), sleep(waitMs)]);
    const left = await killAll(o.pid1, () => reaper.reapAll());
    store.close();
    if (left.length) log(`still there after SIGKILL, given up on: ${left.join(' ')}`);
    if (host) {
      sync();
      try {
        reboot(action ?? 'poweroff');
      } catch (err) {
        log((err as Error).message);
      }
    }
    log(`exiting with code ${code}`);
    process.exit(code);
  }

  function shutdown(reason: ShutdownReason): void {
    // Ctrl-C twice at a terminal: the user will not wait for the orderly stop (128 + SIGINT, as a shell reports it).
    if (stopping && reason === 'SIGINT' && !finishing) return void finish(130, 'SIGINT again');
    if (stopping || finishing) return log(`${reason}: already stopping`);
    if (!sup.running) return void finish(EXIT.ok, `${reason} and no core runs`);
    log(`${reason}: asking the core to stop everything within ${o.graceMs} ms`);
    const timer = setTimeout(() => void finish(EXIT.ok, `the grace period of ${o.graceMs} ms is over`), o.graceMs);
    stopping = { reason, deadline: Date.now() + o.graceMs, timer };
    sup.send({ type: 'shutdown', reason, grace: o.graceMs });
  }

  function onSignal(sig: Handled): void {
    switch (sig) {
      case 'SIGTERM':
      case 'SIGRTMIN+3': // systemd's "halt" signal, which some container tools send
        return shutdown(sig);
      case 'SIGINT':
        // Ctrl-Alt-Del on a host's console: the core decides what it means; PID 1 never exits for it.
        if (!host) return shutdown(sig);
        return sup.running ? sup.send({ type: 'ctrl-alt-del' }) : log('SIGINT: no core runs');
      case 'SIGHUP':
        return sup.running ? sup.send({ type: 'reload' }) : log('SIGHUP: no core runs to reload');
      default:
        // Handled so that Node does not open its inspector on SIGUSR1; passed on to a main command, as tini does.
        if (!o.main) return log(`${sig} ignored: there is no main command to pass it to`);
        return sup.running ? sup.send({ type: 'forward', signal: sig }) : log(`${sig}: no core runs to pass it on`);
    }
  }

  reaper.start();
  sup.start();
  return (sig) => {
    if (!finishing) onSignal(sig);
  };
}

export async function main(argv: string[]): Promise<void> {
  // Signals first: as PID 1 a signal without a handler is ignored, and SIGUSR1 would open the inspector. Those that
  // come before we are set up are replayed.
  let deliver: ((sig: Handled) => void) | null = null;
  const early: Handled[] = [];
  const on = (sig: Handled) => (deliver ? deliver(sig) : early.push(sig));
  for (const sig of SIGNALS) process.on(sig, () => on(sig));
  try {
    onRealtime(SIGRTMIN_3, () => on('SIGRTMIN+3'));
  } catch (err) {
    log(`${(err as Error).message}: SIGRTMIN+3 will not stop us (SIGTERM does)`);
  }
  // A console nobody reads any more (the terminal closed, `| head` ended) must not matter: writes to it are dropped.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  // PID 1 must not die of a bug: on a host that is a kernel panic. Say it loudly and carry on.
  process.on('uncaughtException', (err) => log(`BUG: ${err.stack ?? err}`));
  try {
    cloexecFrom3();
  } catch (err) {
    log(`${(err as Error).message}: inherited descriptors may leak into services`);
  }

  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(`${USAGE}\n\nSee docs/init.md.\n`);
    process.exit(EXIT.ok);
  }
  let o: Options;
  try {
    o = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`sysmaster-init: ${err.message}\n${USAGE}\n`);
    process.exit(EXIT.usage);
  }
  try {
    if (!o.pid1) setChildSubreaper();
  } catch (err) {
    log(`${(err as Error).message}: orphans would escape us`);
    process.exit(EXIT.failed);
  }
  if (o.pid1 && !o.container) {
    try {
      disableCtrlAltDel();
    } catch (err) {
      log(`${(err as Error).message}: Ctrl-Alt-Del reboots at once`);
    }
  }

  let sockets: InitSockets;
  try {
    sockets = await openSockets(o.stateDir);
  } catch (err) {
    const why = err instanceof BusyError ? err.message : `cannot create the sockets in ${o.stateDir}: ${err}`;
    log(why);
    process.exit(EXIT.failed);
  }
  // process.on('SIGCHLD') does not keep the loop alive, and between cores nothing else may: PID 1 must not return.
  setInterval(() => {}, 1 << 30);
  deliver = run(o, sockets);
  for (const sig of early) deliver(sig);
}
