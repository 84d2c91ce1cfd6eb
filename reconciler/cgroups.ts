// Each unit's own cgroup, below `<our cgroup>/sysmaster-<instance>/` on every hierarchy we use (docs/cgroups.md):
// finding the layout, making and removing the cgroups, moving processes in, listing and killing everything in one
// (escaped daemons included), limits and accounting. The cgroup tree is the kernel's; we keep no copy of it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LimitError, limitWrites, type Limits, type Machine } from './cgroup-limits.js';
import { signalProcess, type Signal } from './kill.js';

export type Layout = 'unified' | 'hybrid' | 'legacy' | 'none';

export interface Hierarchy {
  version: 1 | 2;
  mount: string;
  /** v1: the mount's controllers ('name=systemd' for a named one); v2: what our cgroup can give its children. */
  controllers: string[];
  /** Our cgroup as /proc/self/cgroup names it. */
  path: string;
  /** Our cgroup's directory. */
  own: string;
}

/** The controllers we use; `io` is v1's blkio. On v2 freezing and CPU time are core files, not controllers. */
export type Controller = 'memory' | 'cpu' | 'cpuacct' | 'pids' | 'io' | 'freezer';

export interface CgroupLayout {
  layout: Layout;
  root: string;
  hierarchies: Hierarchy[];
  /** Where a unit's processes are listed and killed: the cgroup2 tree if any (as systemd's hybrid mode), else name=systemd. */
  tracking: Hierarchy | null;
  controllers: Partial<Record<Controller, Hierarchy>>;
  /** Our cgroup is not the root of some hierarchy: we run in a container (or another manager's unit). */
  container: boolean;
  /** We may make cgroups below ours and move processes into them, on every hierarchy we use. */
  delegated: boolean;
}

/** A cgroup operation failed. `code` is the errno name, or ENOCONTROLLER for a limit the machine cannot honour. */
export class CgroupError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CgroupError';
  }
}

function fsError(err: unknown, what: string): CgroupError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  return new CgroupError(code, `${what}: ${code}`, { cause: err });
}

const read = (file: string): string | null => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

function write(file: string, value: string | number): void {
  try {
    fs.writeFileSync(file, String(value));
  } catch (err) {
    throw fsError(err, `writing ${value} to ${file}`);
  }
}

const writable = (p: string) => {
  try {
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
};

/** Mount lines of type cgroup/cgroup2: mount point, the mounted subtree, and the super options (v1 controllers). */
function cgroupMounts(mountinfo: string) {
  const unoctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: { at: string; subtree: string; v2: boolean; options: string[] }[] = [];
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0 || !['cgroup', 'cgroup2'].includes(f[dash + 1])) continue;
    out.push({ at: unoctal(f[4]), subtree: unoctal(f[3]), v2: f[dash + 1] === 'cgroup2', options: (f[dash + 3] ?? '').split(',') });
  }
  return out;
}

/**
 * The cgroup layout below `root`: 'unified' when root itself is a cgroup2, 'hybrid' when v1 controllers sit beside a
 * cgroup2 (at root/unified), 'legacy' with v1 only. `v2: false` ignores cgroup2 mounts (a legacy view of a hybrid).
 */
export function detect(opts: { root?: string; v2?: boolean; proc?: string } = {}): CgroupLayout {
  const root = path.resolve(opts.root ?? '/sys/fs/cgroup');
  const proc = opts.proc ?? '/proc/self';
  const mounts = cgroupMounts(read(`${proc}/mountinfo`) ?? '').filter((m) => (m.at === root || path.dirname(m.at) === root) && (m.v2 ? opts.v2 !== false : true));
  const unified = mounts.find((m) => m.v2 && m.at === root);
  const hierarchies: Hierarchy[] = [];
  for (const line of (read(`${proc}/cgroup`) ?? '').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const names = m[1] ? m[1].split(',') : [];
    const v2 = names.length === 0;
    const mount = v2 ? (unified ?? mounts.find((x) => x.v2)) : unified ? undefined : mounts.find((x) => !x.v2 && names.every((n) => x.options.includes(n)));
    if (!mount) continue;
    // A mount of a subtree (a container without a cgroup namespace) shows our cgroup relative to that subtree.
    const rel = path.relative(mount.subtree, m[2]);
    if (rel.startsWith('..')) continue;
    const own = path.join(mount.at, rel);
    const controllers = v2 ? (read(`${own}/cgroup.controllers`) ?? '').split(/\s+/).filter(Boolean) : names;
    hierarchies.push({ version: v2 ? 2 : 1, mount: mount.at, controllers, path: m[2], own });
  }
  const v2 = hierarchies.find((h) => h.version === 2);
  const v1 = (c: string) => hierarchies.find((h) => h.version === 1 && h.controllers.includes(c));
  const controllers: CgroupLayout['controllers'] = {};
  for (const c of ['memory', 'cpu', 'pids', 'io'] as const) {
    const h = v2?.controllers.includes(c) ? v2 : v1(c === 'io' ? 'blkio' : c);
    if (h) controllers[c] = h;
  }
  // Without a cgroup2: CPU time from cpuacct, freezing through the v1 freezer (cgroup2 has both as core files).
  for (const c of v2 ? [] : (['cpuacct', 'freezer'] as const)) {
    const h = v1(c);
    if (h) controllers[c] = h;
  }
  const tracking = v2 ?? v1('name=systemd') ?? controllers.freezer ?? controllers.pids ?? controllers.memory ?? null;
  const used = usedHierarchies(tracking, controllers);
  return {
    layout: unified ? 'unified' : hierarchies.some((h) => h.version === 1) ? (v2 ? 'hybrid' : 'legacy') : v2 ? 'unified' : 'none',
    root,
    hierarchies,
    tracking,
    controllers,
    container: used.some((h) => h.path !== '/'),
    delegated: used.length > 0 && used.every((h) => writable(h.own) && writable(`${h.own}/cgroup.procs`)),
  };
}

function usedHierarchies(tracking: Hierarchy | null, controllers: CgroupLayout['controllers']): Hierarchy[] {
  return [...new Set([...Object.values(controllers), ...(tracking ? [tracking] : [])])];
}

/** One line for status and error messages: what the machine has. */
export function describe(l: CgroupLayout): string {
  const where = Object.entries(l.controllers).map(([c, h]) => `${c} on v${h.version}`);
  const v2 = l.hierarchies.find((h) => h.version === 2);
  return [
    `${l.layout} cgroups at ${l.root}`,
    v2 ? `cgroup2 at ${v2.mount} with controllers [${v2.controllers.join(' ')}]` : 'no cgroup2',
    `usable: ${where.join(', ') || 'none'}`,
    l.tracking ? `processes tracked on ${l.tracking.mount}` : 'no tracking hierarchy',
    l.container ? `in a container (${l.hierarchies.filter((h) => h.path !== '/').map((h) => `${h.controllers.join(',') || 'v2'}:${h.path}`).join(' ')})` : 'at the root',
    l.delegated ? 'delegated' : 'not delegated (read-only or not ours)',
  ].join('; ');
}

const CONTROLLERS = 'cpu cpuacct cpuset io blkio memory devices pids freezer hugetlb net_cls net_prio perf_event rdma misc'.split(' ');

/** systemd's cg_escape(): a leading `_` keeps a unit name from clashing with a kernel file name. */
export function escapeUnit(name: string): string {
  const clash =
    name[0] === '_' ||
    name[0] === '.' ||
    ['notify_on_release', 'release_agent', 'tasks'].includes(name) ||
    name.startsWith('cgroup.') ||
    CONTROLLERS.some((c) => name.startsWith(`${c}.`));
  return clash ? `_${name}` : name;
}

/** systemd's EXIT_CGROUP: the process could not be put into its cgroup. */
export const EXIT_CGROUP = 219;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Shell commands that move the shell itself into each `cgroup.procs` file, exiting 219 if it cannot: put before
 * `exec "$0" "$@"`, the command is in its cgroup before it runs, so before it can fork.
 */
export function enterScript(procsFiles: string[]): string {
  return procsFiles.map((f) => `echo $$ > ${quote(f)} || exit ${EXIT_CGROUP}; `).join('');
}

/** argv running `file args` inside the cgroups: `/bin/sh -c '<enterScript>exec "$0" "$@"' file args...`. */
export function enterArgv(procsFiles: string[], file: string, args: string[]): string[] {
  return ['/bin/sh', '-c', `${enterScript(procsFiles)}exec "$0" "$@"`, file, ...args];
}

export interface Usage {
  /** Bytes, or null without the memory controller. */
  memory: number | null;
  memoryPeak: number | null;
  /** pids.current, or null without the pids controller. */
  tasks: number | null;
  /** Nanoseconds of CPU time, or null without cpu accounting. */
  cpuNs: number | null;
}

const statField = (text: string | null, key: string): number | null => {
  const m = text && new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
};
const num = (text: string | null): number | null => (text === null || !/^\d+\s*$/.test(text) ? null : Number(text));
const mkdir = (dir: string): void => {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw fsError(err, `making ${dir}`);
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Units' cgroups for one manager instance: `<own>/sysmaster-<instance>/<unit>` on each hierarchy in use. */
export class Cgroups {
  readonly name: string;
  private readonly used: Hierarchy[];
  /** Hierarchies (with the controllers enabled) whose parent cgroups create() has made: a unit then costs one mkdir each. */
  private readonly parentsMade = new Set<string>();

  constructor(
    readonly layout: CgroupLayout,
    instance: string,
  ) {
    if (!layout.tracking) throw new CgroupError('ENOENT', `no cgroup hierarchy to track processes on (${describe(layout)})`);
    this.name = `sysmaster-${instance}`;
    this.used = usedHierarchies(layout.tracking, layout.controllers);
  }

  /** The unit's directory on hierarchy `h`. */
  dir(unit: string, h: Hierarchy = this.layout.tracking!): string {
    return path.join(h.own, this.name, escapeUnit(unit));
  }

  /** Whether the unit has a cgroup now. */
  has(unit: string): boolean {
    return fs.existsSync(this.dir(unit));
  }

  /** Every cgroup.procs file a process of the unit (in its sub-cgroup `sub`) must be written to: for enterArgv, or attach. */
  procsFiles(unit: string, sub: string | null = null): string[] {
    return this.used.map((h) => path.join(this.dir(unit, h), sub ?? '', 'cgroup.procs'));
  }

  /**
   * Makes the unit's cgroups (idempotent), and its sub-cgroup `sub` when given; on a cgroup2 with controllers,
   * enables them down to the unit, plus `delegated` (cgroup2 names) so that they are the unit's to enable below it.
   */
  create(unit: string, opts: { delegated?: string[]; sub?: string | null } = {}): void {
    for (const h of this.used) {
      const ours = (['memory', 'cpu', 'pids', 'io'] as string[]).filter((c) => this.layout.controllers[c as Controller] === h);
      const wanted = h.version === 2 ? [...new Set([...ours, ...(opts.delegated ?? [])])].filter((c) => h.controllers.includes(c)) : [];
      const dir = path.join(this.dir(unit, h), opts.sub ?? '');
      const parents = `${h.mount} ${wanted.join(' ')}`;
      if (!this.parentsMade.has(parents)) this.makeParents(h, wanted);
      try {
        mkdir(dir);
      } catch (err) {
        if ((err as CgroupError).code !== 'ENOENT') throw err;
        this.makeParents(h, wanted); // removed under us
        mkdir(dir);
      }
      this.parentsMade.add(parents);
    }
  }

  /** Our cgroup and the instance's, with `wanted` enabled in both for the units below. */
  private makeParents(h: Hierarchy, wanted: string[]): void {
    for (const dir of [h.own, path.join(h.own, this.name)]) {
      mkdir(dir);
      const on = (read(`${dir}/cgroup.subtree_control`) ?? '').split(/\s+/);
      const missing = wanted.filter((c) => !on.includes(c));
      if (!missing.length) continue;
      try {
        fs.writeFileSync(`${dir}/cgroup.subtree_control`, missing.map((c) => `+${c}`).join(' '));
      } catch (err) {
        const e = fsError(err, `enabling ${missing.join(', ')} in ${dir}/cgroup.subtree_control`);
        if (e.code === 'EBUSY') e.message += `: ${dir} holds processes (cgroup2 allows controllers only above empty cgroups); start the manager in a leaf cgroup of its own`;
        throw e;
      }
    }
  }

  /**
   * Hands the unit's cgroup to uid/gid, as systemd does for Delegate= with User=: the directory (so the service may
   * make sub-cgroups) and the files that move processes and enable controllers. Only on the tracking hierarchy (the
   * cgroup2, or name=systemd): like systemd, never a v1 controller hierarchy, where delegation is not safe.
   */
  chown(unit: string, uid: number, gid: number): void {
    const dir = this.dir(unit);
    const [required, optional] =
      this.layout.tracking!.version === 2
        ? [['cgroup.procs', 'cgroup.subtree_control'], ['cgroup.threads', 'memory.oom.group', 'memory.reclaim']]
        : [['cgroup.procs'], ['tasks', 'cgroup.clone_children']];
    for (const f of [dir, ...required.map((x) => `${dir}/${x}`)]) {
      try {
        fs.chownSync(f, uid, gid);
      } catch (err) {
        throw fsError(err, `handing ${f} to ${uid}:${gid} (Delegate=)`);
      }
    }
    for (const f of optional) {
      try {
        fs.chownSync(`${dir}/${f}`, uid, gid);
      } catch {
        // not on this kernel
      }
    }
  }

  /** Removes the unit's cgroups once empty (sub-cgroups first). EBUSY, naming the pids, while processes remain. */
  remove(unit: string): void {
    const rm = (dir: string) => {
      let subs: fs.Dirent[];
      try {
        subs = fs.readdirSync(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw fsError(err, `reading ${dir}`);
      }
      for (const d of subs) if (d.isDirectory()) rm(path.join(dir, d.name));
      try {
        fs.rmdirSync(dir);
      } catch (err) {
        const e = fsError(err, `removing ${dir}`);
        if (e.code === 'EBUSY') e.message += ` (processes ${this.pids(unit).join(' ') || 'exiting'} are still in it)`;
        if (e.code !== 'ENOENT') throw e;
      }
    };
    for (const h of this.used) rm(this.dir(unit, h));
  }

  /** Removes `sysmaster-<instance>` on each hierarchy, if empty; a cgroup still in it is left alone. */
  close(): void {
    for (const h of this.used) {
      try {
        fs.rmdirSync(path.join(h.own, this.name));
      } catch {
        // in use, or gone
      }
    }
  }

  /** Moves `pid` (with its threads) into the unit's cgroups. The race-free way for new processes is enterArgv. */
  attach(unit: string, pid: number): void {
    for (const f of this.procsFiles(unit)) write(f, pid);
  }

  /** Every process in the unit's cgroup and below, whatever its session or parent. */
  pids(unit: string): number[] {
    const out = new Set<number>();
    const walk = (dir: string) => {
      for (const p of (read(`${dir}/cgroup.procs`) ?? '').split('\n')) if (p) out.add(Number(p));
      let subs: fs.Dirent[] = [];
      try {
        subs = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        // gone meanwhile
      }
      for (const d of subs) if (d.isDirectory()) walk(path.join(dir, d.name));
    };
    walk(this.dir(unit));
    return [...out].sort((a, b) => a - b);
  }

  /**
   * Signals every process of the unit, including those that left its process group or session; returns the pids
   * signalled. SIGKILL on a cgroup2 with cgroup.kill is one atomic write; otherwise the cgroup is frozen (cgroup2's
   * cgroup.freeze, or v1's freezer) so nothing forks meanwhile, and cgroup.procs is read and signalled until a
   * pass finds no new pid, as systemd's cg_kill_recursive does.
   */
  async killAll(unit: string, signal: Signal): Promise<number[]> {
    const dir = this.dir(unit);
    if ((signal === 'SIGKILL' || signal === 9) && this.layout.tracking!.version === 2 && fs.existsSync(`${dir}/cgroup.kill`)) {
      const pids = this.pids(unit);
      write(`${dir}/cgroup.kill`, 1);
      return pids;
    }
    const thaw = await this.freeze(unit);
    const seen = new Set<number>();
    try {
      for (let fresh = true; fresh; ) {
        fresh = false;
        for (const pid of this.pids(unit)) {
          if (seen.has(pid)) continue;
          seen.add(pid);
          fresh = true;
          signalProcess(pid, signal);
        }
      }
    } finally {
      thaw?.();
    }
    return [...seen];
  }

  /** Freezes the unit if the machine can, waiting up to 1 s for it to settle; returns the thaw, or null. */
  private async freeze(unit: string): Promise<(() => void) | null> {
    const t = this.layout.tracking!;
    const v2 = t.version === 2 && fs.existsSync(`${this.dir(unit)}/cgroup.freeze`);
    const f = this.layout.controllers.freezer;
    if (!v2 && !f) return null;
    const dir = v2 ? this.dir(unit) : this.dir(unit, f);
    const [file, on, off] = v2 ? ['cgroup.freeze', '1', '0'] : ['freezer.state', 'FROZEN', 'THAWED'];
    const frozen = () => (v2 ? statField(read(`${dir}/cgroup.events`), 'frozen') === 1 : read(`${dir}/freezer.state`)?.trim() === 'FROZEN');
    write(`${dir}/${file}`, on);
    // A task in uninterruptible sleep delays freezing: then the kill loop still catches forks, just not atomically.
    for (let i = 0; i < 200 && !frozen(); i++) await sleep(5);
    return () => write(`${dir}/${file}`, off);
  }

  /** Writes `limits` to the unit's cgroups; a LimitError (nothing written) when a controller is missing. */
  setLimits(unit: string, limits: Limits, machine: Machine = machineCeilings(this.layout)): void {
    const locate = (c: 'memory' | 'cpu' | 'pids' | 'io') => {
      const h = this.layout.controllers[c];
      return h ? { version: h.version, dir: this.dir(unit, h) } : null;
    };
    const blkio = this.layout.controllers.io;
    const v1blkio = blkio && ['blkio.weight', 'blkio.bfq.weight'].find((f) => fs.existsSync(`${this.dir(unit, blkio)}/${f}`));
    for (const w of limitWrites(limits, locate, machine, describe(this.layout), v1blkio)) {
      try {
        fs.writeFileSync(w.file, w.value);
      } catch (err) {
        throw new LimitError(w.key, `writing ${w.value} to ${w.file}: ${(err as NodeJS.ErrnoException).code}`);
      }
    }
  }

  /** Memory (current, peak), tasks and CPU time, as systemctl status shows them. */
  usage(unit: string): Usage {
    const { memory, pids, cpuacct } = this.layout.controllers;
    const m = memory && this.dir(unit, memory);
    const v1 = memory?.version === 1;
    const cpuStat = read(`${this.dir(unit)}/cpu.stat`);
    const usec = this.layout.tracking!.version === 2 ? statField(cpuStat, 'usage_usec') : null;
    return {
      memory: m ? num(read(`${m}/${v1 ? 'memory.usage_in_bytes' : 'memory.current'}`)) : null,
      memoryPeak: m ? num(read(`${m}/${v1 ? 'memory.max_usage_in_bytes' : 'memory.peak'}`)) : null,
      tasks: pids ? num(read(`${this.dir(unit, pids)}/pids.current`)) : null,
      cpuNs: usec !== null ? usec * 1000 : cpuacct ? num(read(`${this.dir(unit, cpuacct)}/cpuacct.usage`)) : null,
    };
  }

  /** How many processes the kernel's OOM killer killed in the unit: compare before and after. Null without memory. */
  oomKills(unit: string): number | null {
    const m = this.layout.controllers.memory;
    if (!m) return null;
    return statField(read(`${this.dir(unit, m)}/${m.version === 1 ? 'memory.oom_control' : 'memory.events'}`), 'oom_kill');
  }
}

/**
 * What systemd's percentages are of: physical memory (capped by our own cgroup's limit, as systemd's
 * physical_memory()) and the kernel's task ceiling (pid_max, threads-max).
 */
export function machineCeilings(l: CgroupLayout): Machine {
  const m = l.controllers.memory;
  const cap = m ? num(read(`${m.own}/${m.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'}`)) : null;
  const pidMax = num(read('/proc/sys/kernel/pid_max')) ?? 32768;
  const threads = num(read('/proc/sys/kernel/threads-max')) ?? pidMax;
  return { memory: Math.min(os.totalmem(), cap ?? Infinity), tasks: Math.min(pidMax - 1, threads) };
}
