// The UnitRuntime (units/runtime.ts) that unit types other than service get their effects from: the daemon's
// units, jobs and state, and init's fd store.
import { depositFds, removeFds, storedFds } from '../init/protocol.js';
import type { UnitRuntime } from '../units/runtime.js';
import { bootTime, startedAfterBoot } from './clock.js';
import type { Daemon } from './daemon.js';
import { closeFd } from './sys.js';

export function unitRuntime(d: Daemon): UnitRuntime {
  // What init handed this core from its store, each name taken once by the unit that owns it.
  const stored = storedFds(d.env);
  const fdProviders: ((service: string) => { fd: number; name: string }[])[] = [];
  // The core's parent is its sysmaster-init, which started with the manager (a core started on its own: itself).
  const started = startedAfterBoot(process.ppid) ?? startedAfterBoot(process.pid) ?? 0;
  d.effects.passedFds = (service) => fdProviders.flatMap((p) => p(service));
  return {
    nameOf: (self) => d.unitOf(self).name,
    config: (name) => d.units.get(name)?.spec.config,
    spec: (name) => d.units.get(name)?.spec,
    state(name) {
      const u = d.units.get(name);
      return u && { active: u.active, sub: u.sub, since: u.since };
    },
    context(name) {
      const u = d.units.get(name);
      return u && d.context(u);
    },
    send(name, event) {
      const u = d.units.get(name);
      if (u) d.send(u, event);
    },
    defer: (fn) => d.defer(fn),
    trigger(by, name, done) {
      try {
        const tx = d.enqueueChecked([{ unit: name, type: 'start' }], 'replace');
        void d.engine.wait(tx.id).then((r) => done?.(r.results.find((j) => j.unit === name)?.result === 'done'));
      } catch (err) {
        d.note(`${by}: cannot start ${name}: ${(err as Error).message}`);
        done?.(false);
      }
    },
    onChange: (fn) => d.onChange((u) => fn(u.name, u.active)),
    addTransient: (spec) => d.addTransient(spec),
    removeTransient: (name) => d.removeTransient(name),
    fds: {
      take(name) {
        const fds = stored.get(name);
        stored.delete(name);
        return fds;
      },
      keep(name, fds) {
        try {
          depositFds(d.paths.fdstore, name, fds);
        } catch (err) {
          // No init holds a store (a core started on its own): the fds then live as long as this core.
          d.note(`cannot keep the fds of ${name} in init's store: ${(err as Error).message}`);
        }
      },
      drop(name) {
        stored.get(name)?.forEach(closeFd);
        stored.delete(name);
        try {
          removeFds(d.paths.fdstore, name);
        } catch {
          // no store: nothing was kept
        }
      },
    },
    passFds: (provider) => void fdProviders.push(provider),
    note: (message) => d.note(message),
    now: () => d.now(),
    clocks() {
      const boot = bootTime(d.now());
      return { boot, startup: boot + started };
    },
    env: d.env,
    stateDir: d.paths.dir,
  };
}
