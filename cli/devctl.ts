// devctl: udevadm's commands for devmaster, with udevadm's options and output formats, so scripts keep working.
import { Command } from 'commander';
import path from 'node:path';
import { DeviceDb, deviceId } from '../devmaster/db.js';
import { formatAttributeWalk, formatRecord } from '../devmaster/info.js';
import { Device } from '../devmaster/sysfs.js';
import { UeventListener, type Uevent } from '../devmaster/uevents.js';
import { fail } from './exit.js';

const program = new Command('devctl');
program.description('Query and drive devmaster, the device manager (udevadm compatible).').addHelpText(
  'after',
  `
Examples:
  devctl monitor --kernel --property                 every kernel uevent, with its properties
  devctl monitor -k -s net                           only network interfaces' events
  devctl info /sys/class/net/lo                      a device's record
  devctl info --attribute-walk /sys/class/net/lo     what rules can match, up the parents`,
);

/** `SUBSYSTEM[/DEVTYPE]` filters as udevadm's --subsystem-match takes them; none: every event. */
function subsystemFilter(matches: string[]): (e: Uevent) => boolean {
  if (!matches.length) return () => true;
  const wanted = matches.map((m) => m.split('/'));
  return (e) => wanted.some(([sub, type]) => e.properties.SUBSYSTEM === sub && (!type || e.properties.DEVTYPE === type));
}

/** CLOCK_MONOTONIC as udevadm prints it, seconds.microseconds (libuv's hrtime is that clock). */
function monotonic(): string {
  const us = process.hrtime.bigint() / 1000n;
  return `${us / 1_000_000n}.${String(us % 1_000_000n).padStart(6, '0')}`;
}

program
  .command('monitor')
  .description('print uevents as they come, like udevadm monitor')
  .option('-k, --kernel', 'kernel uevents')
  .option('-u, --udev', "events after devmaster's rules")
  .option('-p, --property', 'print the properties of each event')
  .option('-s, --subsystem-match <subsystem[/devtype]>', 'only events of this subsystem (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
  .action((o: { kernel?: boolean; udev?: boolean; property?: boolean; subsystemMatch: string[] }) => {
    if (o.udev) {
      fail(new Error('devctl monitor --udev: the devmaster daemon that re-broadcasts processed events is not built yet; use --kernel'));
    }
    const keep = subsystemFilter(o.subsystemMatch);
    const out = (s: string) => process.stdout.write(s);
    let listener: UeventListener;
    try {
      listener = new UeventListener(
        (e) => {
          if (!keep(e)) return;
          out(`KERNEL[${monotonic()}] ${e.action.padEnd(8)} ${e.devpath} (${e.properties.SUBSYSTEM})\n`);
          if (o.property) out(`${Object.entries(e.properties).map(([k, v]) => `${k}=${v}`).join('\n')}\n\n`);
        },
        () => process.stderr.write('devctl monitor: the kernel dropped events (receive buffer full)\n'),
      );
    } catch (err) {
      return fail(err);
    }
    out('monitor will print the received events for:\nKERNEL - the kernel uevent\n\n');
    const stop = () => {
      listener.close();
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

program
  .command('info')
  .description("a device's record, or every attribute up its parents, like udevadm info")
  .argument('<path>', 'the device: a /sys path (/sys/class/net/lo) or a devpath (/devices/...)')
  .option('-q, --query <type>', 'all (the only query so far)', 'all')
  .option('-a, --attribute-walk', 'the device and each parent, with every attribute in the rules key format')
  .action((where: string, o: { query: string; attributeWalk?: boolean }) => {
    if (o.query !== 'all') fail(new Error(`devctl info --query=${o.query}: only --query=all is implemented`));
    let device: Device;
    try {
      device = Device.fromSyspath(where.startsWith('/sys/') ? where : path.join('/sys', where));
    } catch (err) {
      return fail(err);
    }
    process.stdout.write(o.attributeWalk ? formatAttributeWalk(device) : formatRecord(device, new DeviceDb().read(deviceId(device))));
  });

await program.parseAsync(process.argv);
