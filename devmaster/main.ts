// `devmaster`: the device manager daemon, systemd-udevd's counterpart (its options where they mean the same).
import { Command, Option } from 'commander';
import os from 'node:os';
import { fail } from '../cli/exit.js';
import { sendDatagram, unixDgramSocket, closeFd } from '../reconciler/sys.js';
import { Devmaster } from './daemon.js';
import { runDir } from './db.js';
import { ruleDirs } from './rulesfiles.js';

const program = new Command('devmaster');
program
  .description('Process kernel device events with udev rules: /dev nodes and links, the device database, events for the core.')
  .addOption(new Option('-c, --children-max <n>', 'worker threads running rules at once').default(Math.max(2, os.availableParallelism() * 2), '2 × CPUs').argParser(Number))
  .addOption(new Option('-t, --event-timeout <seconds>', "how long an event's programs may run before they are killed").default(180).argParser(Number))
  .option('-D, --debug', 'log every processed event')
  .addHelpText(
    'after',
    `
Environment:
  DEVMASTER_RUN_DIR     database, links and control socket (default /run/devmaster; /run/udev/data and
                        /run/udev/tags then point at its database, so libudev and udevadm read it)
  DEVMASTER_DEV_DIR     where device nodes are and symlinks are made (default /dev)
  DEVMASTER_RULES_DIRS  rules directories, colon-separated, highest priority first (default:
                        ${ruleDirs.join(':')})

Signals: SIGTERM/SIGINT finish the queued events and exit; SIGHUP reloads the rules.
Drive it with devctl: devctl monitor --udev, devctl trigger, devctl settle, devctl control --reload|--exit.`,
  )
  .action(async (o: { childrenMax: number; eventTimeout: number; debug?: boolean }) => {
    if (!(o.childrenMax >= 1)) fail(new Error(`--children-max=${o.childrenMax}: expected a whole number of at least 1`));
    if (!(o.eventTimeout > 0)) fail(new Error(`--event-timeout=${o.eventTimeout}: expected seconds above 0`));
    const env = process.env;
    const daemon = new Devmaster({
      runDir: runDir(env),
      devDir: env.DEVMASTER_DEV_DIR || '/dev',
      rulesDirs: env.DEVMASTER_RULES_DIRS ? env.DEVMASTER_RULES_DIRS.split(':').filter(Boolean) : ruleDirs,
      childrenMax: o.childrenMax,
      eventTimeout: o.eventTimeout,
      debug: !!o.debug,
      onExit: () => process.exit(0),
    });
    try {
      await daemon.start();
    } catch (e) {
      fail(e);
    }
    process.on('SIGHUP', () => daemon.reload());
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => void daemon.exit().then(() => process.exit(0)));
    // Type=notify, as systemd-udevd is.
    if (env.NOTIFY_SOCKET) {
      const fd = unixDgramSocket(false);
      try {
        sendDatagram(fd, env.NOTIFY_SOCKET, Buffer.from('READY=1\nSTATUS=Processing with rules\n'));
      } finally {
        closeFd(fd);
      }
    }
  });

program.parseAsync();
