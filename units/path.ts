// The path row of the unit-type registry, and its effects: inotify watches on each path (or, while it is missing, on
// its nearest existing parent, as systemd sets them), the looks at the paths that decide a trigger, and the start
// of Unit=. The machine (machines/path.ts) decides; this reports what the paths do.
import fs from 'node:fs';
import { PATH_ACTIVE, pathMachine, type PathState, type Stamps, type WatchParams } from '../machines/path.js';
import { IN, Inotify, type InotifyEvent } from '../reconciler/inotify.js';
import { expandGlob } from '../specs/glob.js';
import { pathKeys } from '../specs/keys/path.js';
import { PATH_SETTINGS } from '../specs/rules/path.js';
import type { PathConfig } from '../specs/types.js';
import type { TypeEffects, UnitRuntime } from './runtime.js';
import { flatStates } from './states.js';
import type { UnitType } from './types.js';

export const path: UnitType = {
  name: 'path',
  keys: pathKeys,
  machine: pathMachine,
  ...flatStates(PATH_ACTIVE),
  canReload: () => false,
  liveKeys: ['Description'],
  effects: pathEffects,
};

type Setting = (typeof PATH_SETTINGS)[number];

interface Spec {
  setting: Setting;
  path: string;
}

/** One spec's inotify instance (one each, as systemd has: a mask is per inode and instance) and its watches. */
interface Watch {
  spec: Spec;
  ino: Inotify;
  /** Watch descriptors by path, and the one on the path itself while it exists. */
  wds: Map<string, number>;
  primary: number | null;
}

// systemd's path_spec_watch() masks: what the path itself reports, and what each parent on the way reports.
const SELF = IN.DELETE_SELF | IN.MOVE_SELF | IN.ATTRIB;
const CHANGES = SELF | IN.CLOSE_WRITE | IN.CREATE | IN.DELETE | IN.MOVED_FROM | IN.MOVED_TO;
const MASKS: Record<Setting, number> = {
  PathExists: SELF,
  PathExistsGlob: SELF,
  PathChanged: CHANGES,
  PathModified: CHANGES | IN.MODIFY,
  DirectoryNotEmpty: SELF | IN.CREATE | IN.MOVED_TO,
};
const PARENT = IN.MOVE_SELF | IN.DELETE_SELF | IN.CREATE | IN.MOVED_TO;

const edge = (s: Setting) => s === 'PathChanged' || s === 'PathModified';
const UP = new Set(['active', 'activating', 'reloading', 'deactivating']);

function specsOf(c: PathConfig): Spec[] {
  return PATH_SETTINGS.flatMap((setting) => c[setting].map((p) => ({ setting, path: p })));
}

/** What a change to the path looks like from outside: mtime, ctime and inode, or null while it is missing. */
function stampOf(p: string): string | null {
  try {
    const st = fs.statSync(p, { bigint: true });
    return `${st.mtimeNs}:${st.ctimeNs}:${st.ino}`;
  } catch {
    return null;
  }
}

const exists = (p: string) => fs.existsSync(p);

/** systemd's hidden_or_backup_file(), the common part: dot files and `~` backups do not make a directory non-empty. */
const counts = (name: string) => !name.startsWith('.') && !name.endsWith('~');

/** Whether a condition that holds while true (PathExists=, PathExistsGlob=, DirectoryNotEmpty=) holds now. */
function holds(s: Spec): boolean {
  switch (s.setting) {
    case 'PathExists':
      return exists(s.path);
    case 'PathExistsGlob':
      return expandGlob(s.path, '/', exists).some(exists);
    case 'DirectoryNotEmpty':
      try {
        return fs.readdirSync(s.path).some(counts);
      } catch {
        return false;
      }
    default:
      return false;
  }
}

/**
 * Watches on `p` and on each existing parent on the way to it (systemd's path_spec_watch()): a parent reports the
 * creation of the next component; once that exists, the parent only reports being moved. Returns the watch
 * descriptors by path, and the one on `p` itself, if it exists.
 */
function place(ino: Inotify, p: string, mask: number): { wds: Map<string, number>; primary: number | null } {
  const parts = p.split('/').filter(Boolean);
  const wds = new Map<string, number>();
  let previous: string | null = null;
  for (let i = 0; i <= parts.length; i++) {
    const at = `/${parts.slice(0, i).join('/')}`;
    const last = i === parts.length;
    const wd = ino.add(at, last ? mask : PARENT);
    if (wd === null) break;
    wds.set(at, wd);
    if (previous !== null) ino.add(previous, IN.MOVE_SELF);
    previous = at;
    if (last) return { wds, primary: wd };
  }
  return { wds, primary: null };
}

function pathEffects(rt: UnitRuntime): TypeEffects {
  const watching = new Map<string, Watch[]>();
  /** The changed paths as the machine last heard of them (its context's stamps). */
  const seen = new Map<string, Stamps>();
  const config = (name: string) => rt.config(name) as PathConfig;
  /** A deferred effect runs once its state is saved: by then a STOP may have come (and its unwatch gone before). */
  const still = (name: string, ...states: PathState[]) => states.includes(rt.state(name)?.sub as PathState);

  const unwatch = (name: string) => {
    for (const w of watching.get(name) ?? []) w.ino.close();
    watching.delete(name);
  };

  /** (Re)place one spec's watches, dropping those on paths no longer on the way. */
  const rewatch = (w: Watch) => {
    const next = place(w.ino, w.spec.path, MASKS[w.spec.setting]);
    const kept = new Set(next.wds.values());
    for (const wd of w.wds.values()) if (!kept.has(wd)) w.ino.remove(wd);
    w.wds = next.wds;
    w.primary = next.primary;
  };

  /** The changed paths now; the machine hears of them when they differ from what it has. */
  const look = (name: string): Stamps => {
    const stamps: Stamps = {};
    for (const s of specsOf(config(name))) if (edge(s.setting)) stamps[s.path] = stampOf(s.path);
    const before = seen.get(name);
    if (!before || Object.keys(stamps).some((p) => stamps[p] !== before[p])) rt.send(name, { type: 'SEEN', stamps });
    seen.set(name, stamps);
    return stamps;
  };

  /** The first condition that holds now, or with `before`, the first changed path that appeared or vanished since. */
  const check = (name: string, before: Stamps | null, now: Stamps): { path: string; edge: boolean } | null => {
    for (const s of specsOf(config(name))) {
      if (!edge(s.setting) && holds(s)) return { path: s.path, edge: false };
      const was = before?.[s.path];
      if (edge(s.setting) && was !== undefined && (was === null) !== (now[s.path] === null)) return { path: s.path, edge: true };
    }
    return null;
  };

  const fire = (name: string, hit: { path: string; edge: boolean } | null) => {
    if (hit) rt.send(name, { type: 'FIRED', path: hit.path, edge: hit.edge });
  };

  /** Something happened on the way to one spec's path (systemd's path_dispatch_io()). */
  const happened = (name: string, w: Watch, events: InotifyEvent[]) => {
    if (watching.get(name)?.includes(w) !== true) return;
    const own = events.some((e) => e.wd === w.primary || e.mask & IN.Q_OVERFLOW);
    try {
      rewatch(w);
    } catch (err) {
      return failed(name, err);
    }
    const before = seen.get(name) ?? null;
    const now = look(name);
    fire(name, edge(w.spec.setting) && own ? { path: w.spec.path, edge: true } : check(name, before, now));
  };

  const failed = (name: string, err: unknown) => {
    rt.note(`${name}: cannot watch: ${(err as Error).message}`);
    unwatch(name);
    rt.send(name, { type: 'WATCH_FAILED', error: (err as Error).message });
  };

  /** Watches for every spec of the unit (kept when they exist: a re-check only looks again). */
  const watch = (name: string): boolean => {
    if (watching.has(name)) return true;
    const list: Watch[] = [];
    watching.set(name, list);
    try {
      for (const spec of specsOf(config(name))) {
        const w: Watch = { spec, ino: new Inotify((events) => happened(name, w, events)), wds: new Map(), primary: null };
        list.push(w);
        rewatch(w);
      }
    } catch (err) {
      failed(name, err);
      return false;
    }
    return true;
  };

  /** MakeDirectory=: the directories of the specs that watch one (systemd's path_spec_mkdir()). */
  const makeDirectories = (name: string) => {
    const c = config(name);
    if (!c.MakeDirectory) return;
    for (const s of specsOf(c)) {
      if (s.setting === 'PathExists' || s.setting === 'PathExistsGlob') continue;
      try {
        fs.mkdirSync(s.path, { recursive: true, mode: c.DirectoryMode });
      } catch (err) {
        rt.note(`${name}: cannot create ${s.path}: ${(err as Error).message}`);
      }
    }
  };

  // Unit= going up or down, whoever started or stopped it, moves the path units that start it.
  rt.onChange((unit, active) => {
    for (const name of watching.keys()) if (config(name).Unit === unit) rt.send(name, { type: UP.has(active) ? 'UNIT_UP' : 'UNIT_DOWN' });
  });

  return {
    actions: {
      watch: ({ self }, params: WatchParams) => {
        const name = rt.nameOf(self);
        rt.defer(() => {
          if (!still(name, 'waiting')) return;
          if (params.initial) makeDirectories(name);
          // The watches come first: what changes after this look is reported by them.
          if (!watch(name)) return;
          fire(name, check(name, null, look(name)));
        });
      },
      unwatch: ({ self }) => {
        const name = rt.nameOf(self);
        unwatch(name);
        seen.delete(name);
      },
      trigger: ({ self }) => {
        const name = rt.nameOf(self);
        const unit = config(name).Unit;
        rt.defer(() => {
          // systemd's path_enter_running(): no start for a path unit on its way down.
          if (!still(name, 'running')) return;
          rt.trigger(name, unit, () => {
            // A start that ended with the unit down (it failed, a condition skipped it, it ran to completion)
            // may have moved nothing the onChange above sees.
            if (!UP.has(rt.state(unit)?.active ?? 'inactive')) rt.send(name, { type: 'UNIT_DOWN' });
          });
        });
      },
    },
    // A core took over: the watches are new, so what happened meanwhile is found by looking. A path that exists
    // now is seen by the check; a change to a PathChanged=/PathModified= path shows in its mtime, ctime or inode
    // against the context's stamps (for a directory: an entry added, removed or renamed, not a write to a file in it).
    adopt(name, context) {
      if (!still(name, 'waiting', 'running')) return;
      const before = context.stamps as Stamps;
      seen.set(name, before);
      if (!watch(name)) return;
      // Unit= as it is now first (it may have stopped meanwhile): what is found next then triggers it, once.
      const up = UP.has(rt.state(config(name).Unit)?.active ?? 'inactive');
      if (up !== still(name, 'running')) rt.send(name, { type: up ? 'UNIT_UP' : 'UNIT_DOWN' });
      const now = look(name);
      const changed = Object.keys(now).find((p) => p in before && now[p] !== before[p]);
      fire(name, changed !== undefined ? { path: changed, edge: true } : check(name, null, now));
    },
    release(name) {
      unwatch(name);
      seen.delete(name);
    },
  };
}
