// `devctl test`: one event through the rules without its effects, printed as `udevadm test` 252 prints it
// (src/udev/udevadm-test.c): on stdout the banner, then the device's properties after the rules and the RUN list
// (`run: '...'`); on stderr what udevadm logs at debug level (the rules files read, what each applied key did, with
// file:line) and, beyond udevadm, every rule line whose keys all matched. PROGRAM and IMPORT{program} run, as they
// do in udevadm test (60 s for the event); RUN items, node permissions, links and the database are not touched,
// and ATTR{}=/SYSCTL{}= are only shown (udevadm test does write those).
import { DeviceDb } from './db.js';
import { actions, compileRules, Event, type ResolveNames } from './evaluate.js';
import { show } from './rules.js';
import { loadRules } from './rulesfiles.js';
import type { Device } from './sysfs.js';

export const banner =
  'This program is for debugging only, it does not run any program\n' +
  'specified by a RUN key. It may show incorrect results, because\n' +
  'some values may be different, or not available at a simulation run.\n\n';

export interface DryRun {
  device: Device;
  action: string;
  resolveNames: ResolveNames;
  ruleDirs: readonly string[];
  out: (s: string) => void;
  err: (s: string) => void;
  db?: DeviceDb;
}

export function dryRun(r: DryRun): void {
  if (!actions.includes(r.action)) throw new Error(`unknown action '${r.action}': expected one of ${actions.join(', ')}`);
  r.out(banner);
  const loaded = loadRules(r.ruleDirs);
  for (const f of loaded.files) r.err(`Reading rules file: ${f}\n`);
  for (const d of loaded.diagnostics) r.err(`${show(d)}\n`);
  const rules = compileRules(loaded.rules, r.resolveNames);
  for (const d of rules.diagnostics) r.err(`${d}\n`);
  const name = r.device.sysname;
  const event = new Event(rules, r.device, r.action, {
    db: r.db ?? new DeviceDb(),
    timeout: 60,
    log: (m) => r.err(`${name}: ${m}\n`),
    write: (file, value) => r.err(`${name}: dry run: '${value}' not written to ${file}\n`),
  });
  const o = event.run();
  r.out([...o.properties].map(([k, v]) => `${k}=${v}\n`).join(''));
  // udevadm test formats each stored command once more before printing it
  r.out(o.run.map((item) => `run: '${event.format(item.command)}'\n`).join(''));
}
