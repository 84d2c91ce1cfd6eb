// `sysmaster-logger STATE_DIR`: the log process the core starts beside itself (docs/logs.md, "The log process").
// It serves STATE_DIR/logger.sock; it outlives a core that dies, and the core starts a new one when it dies.
import { Command, Option } from 'commander';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';
import { Logger } from './logger.js';
import { loggerSocket, type LoggerReply, type LoggerRequest } from './protocol.js';
import { matches } from './store.js';
import { syslogSender } from './syslog.js';

process.title = 'sysmaster-logger';
const program = new Command('sysmaster-logger');
program
  .description("Read every unit's output FIFOs and store it as records; the core starts it (docs/logs.md).")
  .argument('<state-dir>', "the manager's state directory: io/ holds the FIFOs, logs/ the records")
  .addOption(new Option('--console <mode>', 'service lines on stdout: `unit | line`, the bare line, or none').choices(['prefix', 'plain', 'off']).default('off'))
  .addHelpText('after', '\nEnvironment:\n  SYSMASTER_SYSLOG_SOCKET  where ForwardToSyslog sends (default /dev/log)')
  .action((dir: string, o: { console: 'prefix' | 'plain' | 'off' }) => serve(dir, o.console === 'off' ? null : o.console));
program.parse();

function serve(dir: string, mode: 'prefix' | 'plain' | null): void {
  // Our stdout is the console of `up` or of a container: when it goes, the records still go to the files.
  for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
  const logger = new Logger({ stateDir: dir, console: mode, syslog: syslogSender(process.env.SYSMASTER_SYSLOG_SOCKET || '/dev/log') });
  const sock = loggerSocket(dir);
  fs.rmSync(sock, { force: true });
  const server = net.createServer((c) => connection(c, logger, () => stop()));
  const stop = () => {
    server.close();
    logger.close();
    process.exit(0);
  };
  server.listen(sock, () => fs.chmodSync(sock, 0o600));
  process.on('SIGTERM', stop);
  process.on('SIGHUP', () => {});
}

function connection(c: net.Socket, logger: Logger, exit: () => void): void {
  const reply = (r: LoggerReply) => c.writable && c.write(JSON.stringify(r) + '\n');
  c.on('error', () => {});
  let unfollow: (() => void) | null = null;
  c.on('close', () => unfollow?.());
  readline.createInterface({ input: c, crlfDelay: Infinity }).on('line', (text) => {
    let q: LoggerRequest;
    try {
      q = JSON.parse(text) as LoggerRequest;
    } catch {
      return reply({ error: `not a JSON request: ${text.slice(0, 80)}` });
    }
    try {
      switch (q.op) {
        case 'config':
          return logger.configure(q);
        case 'watch':
          return logger.watch(q.unit, q.streams);
        case 'main':
          return logger.main(q.unit, q.pid, q.spawning);
        case 'end':
          return logger.end(q.unit);
        case 'forget':
          return logger.forget(q.unit);
        case 'note':
          return logger.note(q.pid, q.message, q.time);
        case 'tail':
          logger.sync();
          for (const record of logger.store.tail(q.filter, q.lines)) reply({ record });
          if (!q.follow) return reply({ done: true });
          unfollow = logger.store.subscribe((record) => matches(record, q.filter) && reply({ record }));
          return;
        case 'stats':
          return reply({ lost: logger.lostCounts() });
        case 'exit':
          logger.sync();
          reply({ done: true });
          return c.end(exit);
        default:
          return reply({ error: `unknown op ${JSON.stringify((q as { op: unknown }).op)}` });
      }
    } catch (err) {
      reply({ error: (err as Error).message });
    }
  });
}
