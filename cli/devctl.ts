// devctl: udevadm's commands for devmaster, with udevadm's options and output formats, so scripts keep working.
import { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DeviceDb, deviceId, runDir } from '../devmaster/db.js';
import { dryRun } from '../devmaster/dryrun.js';
import { actions, type ResolveNames } from '../devmaster/evaluate.js';
import { formatAttributeWalk, formatRecord } from '../devmaster/info.js';
import { ruleDirs } from '../devmaster/rulesfiles.js';
import { Device } from '../devmaster/sysfs.js';
import { UeventListener } from '../devmaster/uevents.js';
import { MonitorListener } from '../devmaster/monitor.js';
import { enumerate, requestEvent } from '../devmaster/enumerate.js';
import { call } from '../reconciler/client.js';
import { fail } from './exit.js';

const program = new Command('devctl');
program.description('Query and drive devmaster, the device manager (udevadm compatible).').addHelpText(
  'after',
  `
Examples:
  devctl monitor --kernel --property                 every kernel uevent, with its properties
  devctl monitor -k -s net                           only network interfaces' events
  devctl monitor --udev --property                   what devmaster broadcast after the rules
  devctl trigger --action=add --settle               coldplug: every device again, then wait until done
  devctl trigger -s block -v --dry-run               which devices a trigger would reach
  devctl settle --timeout=30                         wait for devmaster's queue to empty
  devctl info /sys/class/net/lo                      a device's record
  devctl info --attribute-walk /sys/class/net/lo     what rules can match, up the parents
  devctl test --action=change /sys/class/net/lo      what the rules would do on a change event`,
);

/** `SUBSYSTEM[/DEVTYPE]` filters as udevadm's --subsystem-match takes them; none: every event. */
function subsystemFilter(matches: string[]): (p: Record<string, string>) => boolean {
  if (!matches.length) return () => true;
  const wanted = matches.map((m) => m.split('/'));
  return (p) => wanted.some(([sub, type]) => p.SUBSYSTEM === sub && (!type || p.DEVTYPE === type));
}

const controlPath = () => path.join(runDir(), 'control');

/** CLOCK_MONOTONIC as udevadm prints it, seconds.microseconds (libuv's hrtime is that clock). */
function monotonic(): string {
  const us = process.hrtime.bigint() / 1000n;
  return `${us / 1_000_000n}.${String(us % 1_000_000n).padStart(6, '0')}`;
}

program
  .command('monitor')
  .description('print uevents as they come, like udevadm monitor (both kinds unless one is chosen)')
  .option('-k, --kernel', 'kernel uevents')
  .option('-u, --udev', "events after devmaster's rules")
  .option('-p, --property', 'print the properties of each event')
  .option('-s, --subsystem-match <subsystem[/devtype]>', 'only events of this subsystem (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
  .option('-t, --tag-match <tag>', 'only processed events carrying this tag (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
  .action((o: { kernel?: boolean; udev?: boolean; property?: boolean; subsystemMatch: string[]; tagMatch: string[] }) => {
    const both = !o.kernel && !o.udev;
    const keep = subsystemFilter(o.subsystemMatch);
    const tagged = (p: Record<string, string>) => !o.tagMatch.length || o.tagMatch.some((t) => (p.TAGS ?? '').includes(`:${t}:`));
    const out = (s: string) => process.stdout.write(s);
    const print = (source: string, p: Record<string, string>) => {
      out(`${source}[${monotonic()}] ${p.ACTION.padEnd(8)} ${p.DEVPATH} (${p.SUBSYSTEM})\n`);
      if (o.property) out(`${Object.entries(p).map(([k, v]) => `${k}=${v}`).join('\n')}\n\n`);
    };
    const closers: (() => void)[] = [];
    try {
      if (o.kernel || both) {
        const l = new UeventListener(
          (e) => keep(e.properties) && !o.tagMatch.length && print('KERNEL', e.properties),
          () => process.stderr.write('devctl monitor: the kernel dropped events (receive buffer full)\n'),
        );
        closers.push(() => l.close());
      }
      if (o.udev || both) {
        const l = new MonitorListener((m) => {
          const p = Object.fromEntries(m);
          if (keep(p) && tagged(p)) print('UDEV  ', p);
        });
        closers.push(() => l.close());
      }
    } catch (err) {
      return fail(err);
    }
    out('monitor will print the received events for:\n');
    if (o.udev || both) out('UDEV - the event which udev sends out after rule processing\n');
    if (o.kernel || both) out('KERNEL - the kernel uevent\n');
    out('\n');
    const stop = () => {
      closers.forEach((c) => c());
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

program
  .command('trigger')
  .description('ask the kernel to send events for devices already there (coldplug, or replay after a rules change), like udevadm trigger')
  .option('-c, --action <action>', `the action of the events: ${actions.join(', ')}`, 'change')
  .option('-t, --type <type>', 'devices, or subsystems (the buses and classes themselves) ', 'devices')
  .option('-s, --subsystem-match <subsystem>', 'only devices of this subsystem; a glob (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
  .option('-S, --subsystem-nomatch <subsystem>', 'leave out devices of this subsystem (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
  .option('-y, --sysname-match <name>', 'only devices with this kernel name; a glob (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
  .option('-n, --dry-run', 'do not send events, only list what would get one (with --verbose)')
  .option('-v, --verbose', 'print the path of each device')
  .option('-w, --settle', 'wait until devmaster has processed every event this sent')
  .action(async (o: { action: string; type: string; subsystemMatch: string[]; subsystemNomatch: string[]; sysnameMatch: string[]; dryRun?: boolean; verbose?: boolean; settle?: boolean }) => {
    if (!actions.includes(o.action)) fail(new Error(`devctl trigger --action=${o.action}: expected one of ${actions.join(', ')}`));
    if (o.type !== 'devices' && o.type !== 'subsystems') fail(new Error(`devctl trigger --type=${o.type}: expected devices or subsystems`));
    const devices = enumerate(o.type, { subsystem: o.subsystemMatch, subsystemNot: o.subsystemNomatch, sysname: o.sysnameMatch });
    if (o.settle && !o.dryRun && !fs.existsSync(controlPath())) fail(new Error(`devctl trigger --settle: devmaster is not running (no ${controlPath()}); start devmaster first`));
    // --settle: each event carries a SYNTH_UUID, and devmaster's broadcast of it says it is done (udevadm's way).
    const pending = new Set<string>();
    let done: () => void = () => {};
    const settled = new Promise<void>((r) => (done = r));
    const listener = o.settle && !o.dryRun ? new MonitorListener((m) => pending.delete(m.get('SYNTH_UUID') ?? '') && pending.size === 0 && done()) : undefined;
    let failed = false;
    for (const d of devices) {
      if (o.verbose) process.stdout.write(`${d.syspath}\n`);
      if (o.dryRun) continue;
      const uuid = o.settle ? randomUUID() : undefined;
      if (uuid) pending.add(uuid);
      const asked = requestEvent(d, o.action, uuid);
      if (typeof asked === 'string') {
        process.stderr.write(`devctl trigger: ${asked}\n`);
        failed = true;
      }
      if (uuid && asked !== true) pending.delete(uuid); // no event will carry it
    }
    if (listener) {
      if (pending.size) await settled;
      listener.close();
    }
    process.exit(failed ? 1 : 0);
  });

program
  .command('settle')
  .description('wait until devmaster has processed every event it received, like udevadm settle')
  .option('-t, --timeout <seconds>', 'give up after this long (exit 1); 0 only checks', (v: string) => Number(v), 120)
  .action(async (o: { timeout: number }) => {
    if (!(o.timeout >= 0)) fail(new Error('devctl settle --timeout: expected seconds, 0 or more'));
    // No devmaster: nothing is queued, as udevadm settle says without udevd.
    if (!fs.existsSync(controlPath())) process.exit(0);
    const timer = AbortSignal.timeout(Math.max(1, o.timeout * 1000));
    const r = await call(controlPath(), o.timeout === 0 ? 'ping' : 'settle', {}, { signal: timer }).catch(fail);
    if (o.timeout === 0 ? (r as { queued: number }).queued > 0 : r === null) {
      process.stderr.write(`devctl settle: timed out after ${o.timeout} s with events still queued\n`);
      process.exit(1);
    }
  });

program
  .command('control')
  .description('tell the running devmaster to reload its rules or to exit, like udevadm control')
  .option('-R, --reload', 'reload the rules files')
  .option('-e, --exit', 'finish the queued events and exit')
  .option('--ping', 'check that devmaster answers')
  .action(async (o: { reload?: boolean; exit?: boolean; ping?: boolean }) => {
    const method = o.reload ? 'reload' : o.exit ? 'exit' : o.ping ? 'ping' : undefined;
    if (!method) fail(new Error('devctl control: say what to do: --reload, --exit or --ping'));
    if (!fs.existsSync(controlPath())) fail(new Error(`devctl control: devmaster is not running (no ${controlPath()})`));
    await call(controlPath(), method!).catch(fail);
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
    process.stdout.write(o.attributeWalk ? formatAttributeWalk(device) : formatRecord(device, new DeviceDb(runDir()).read(deviceId(device))));
  });

program
  .command('test')
  .description('dry-run the rules on one device and print every rule that matched and the result, like udevadm test')
  .argument('<path>', 'the device: a /sys path (/sys/class/net/lo) or a devpath (/devices/...)')
  .option('-a, --action <action>', `the event's action: ${actions.join(', ')} (help: list them)`, 'add')
  .option('-N, --resolve-names <when>', 'when OWNER=/GROUP= names are resolved: early, late or never', 'early')
  .addHelpText('after', '\nRules are read from $DEVMASTER_RULES_DIRS (colon-separated), else from ' + ruleDirs.join(', ') + '.')
  .action((where: string, o: { action: string; resolveNames: string }) => {
    if (o.action === 'help') {
      process.stdout.write(`Possible actions:\n${actions.map((a) => `  ${a}\n`).join('')}`);
      return;
    }
    if (!['early', 'late', 'never'].includes(o.resolveNames)) fail(new Error(`devctl test --resolve-names=${o.resolveNames}: expected early, late or never`));
    try {
      dryRun({
        device: Device.fromSyspath(where.startsWith('/sys/') ? where : path.join('/sys', where)),
        action: o.action,
        resolveNames: o.resolveNames as ResolveNames,
        ruleDirs: process.env.DEVMASTER_RULES_DIRS ? process.env.DEVMASTER_RULES_DIRS.split(':').filter(Boolean) : ruleDirs,
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
      });
    } catch (err) {
      fail(err);
    }
  });

await program.parseAsync(process.argv);
