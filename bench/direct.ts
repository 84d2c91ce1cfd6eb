// The baseline payload runner: spawns the DAG's payloads directly (no ordering, no manager), prints "ready" when
// every one has sent READY=1, and on SIGTERM kills them all and exits once every one is gone.
// Args: SOCKET UNITS PAYLOAD
import { spawn } from 'node:child_process';
import { NotifySocket } from '../reconciler/notify.js';

const [sock, count, payload] = process.argv.slice(2);
const units = Number(count);
const notify = NotifySocket.open(sock);
let ready = 0;
notify.on('message', (m) => {
  if (m.fields.READY === '1' && ++ready === units) process.stdout.write('ready\n');
});
const children = Array.from({ length: units }, () =>
  spawn('/bin/sh', ['-c', payload], { env: { PATH: process.env.PATH, NOTIFY_SOCKET: sock }, stdio: 'ignore', detached: true }),
);
process.on('SIGTERM', async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.on('exit', () => resolve());
          process.kill(-c.pid!, 'SIGTERM');
        }),
    ),
  );
  notify.close();
  process.exit(0);
});
