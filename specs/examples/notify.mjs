// sd_notify for the example services. Node cannot send AF_UNIX datagrams, so a small sender process does it:
// `systemd-notify` when it is on PATH (native, cheap), otherwise `sysmaster notify` from this checkout.
// Like sd_notify(3), nothing happens when NOTIFY_SOCKET is unset, so every script also runs by hand.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const onPath = (name) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

// The package's own bin: ../../node_modules/.bin would miss it, since npm never links a package into itself.
const sysmaster = fileURLToPath(new URL('../../bin/sysmaster.js', import.meta.url));

function sender() {
  // No --no-block: the BARRIER=1 round trip keeps the sender alive until the manager has read its message, so the
  // manager can still look the sender up in /proc to check NotifyAccess.
  if (onPath('systemd-notify')) return ['systemd-notify', []];
  if (existsSync(sysmaster)) return [process.execPath, [sysmaster, 'notify']];
  console.error(`notify: NOTIFY_SOCKET is set but neither systemd-notify (on PATH) nor ${sysmaster} exists`);
  process.exit(1);
}

/** Sends `KEY=VALUE` fields to the manager; a failed send exits the process with 1 rather than hang its start. */
export async function notify(fields) {
  if (!process.env.NOTIFY_SOCKET) return;
  const [cmd, args] = sender();
  const assignments = Object.entries(fields).map(([k, v]) => `${k}=${v}`);
  const why = await new Promise((done) => {
    const child = spawn(cmd, [...args, ...assignments], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) => done(err.message));
    child.on('exit', (code, signal) => done(code === 0 ? null : `exited with ${signal ?? code}`));
  });
  if (why === null) return;
  console.error(`notify: could not send ${assignments.join(' ')} with ${cmd} ${args.join(' ')}: ${why}`);
  process.exit(1);
}

export const ready = (text) => notify({ READY: 1, STATUS: text });
