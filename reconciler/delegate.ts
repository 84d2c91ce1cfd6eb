// systemd's Delegate= (systemd.resource-control(5), docs/CGROUP_DELEGATION.md): the value's syntax, and which of a
// service's commands go to the `.control` sub-cgroup once its own cgroup is the service's to divide. Pure.

/** The controller names Delegate= takes, as systemd's cgroup_controller_from_string() knows them (BPF ones aside). */
export const DELEGATE_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'io', 'blkio', 'memory', 'devices', 'pids'] as const;

/** false: not delegated; true: every controller the machine offers; a list (maybe empty): delegated, with those. */
export type Delegate = boolean | string[];

export class DelegateError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'DelegateError';
  }
}

const BOOLS: Record<string, boolean> = { yes: true, y: true, true: true, t: true, on: true, '1': true, no: false, n: false, false: false, f: false, off: false, '0': false };

/**
 * A Delegate= value: a TOML boolean, one of systemd's boolean words, or controller names (a space-separated string or
 * an array). An empty string or list turns delegation on with no controllers, as systemd's `Delegate=` does.
 */
export function parseDelegate(raw: unknown): Delegate {
  if (typeof raw === 'boolean') return raw;
  const words = typeof raw === 'string' ? raw.split(/\s+/).filter(Boolean) : raw;
  if (!Array.isArray(words) || words.some((w) => typeof w !== 'string')) {
    throw new DelegateError('expected true, false, or controller names', `write Delegate = true, or a list such as ["memory", "pids"]`);
  }
  if (typeof raw === 'string' && words.length === 1 && words[0].toLowerCase() in BOOLS) return BOOLS[words[0].toLowerCase()];
  const unknown = (words as string[]).filter((w) => !(DELEGATE_CONTROLLERS as readonly string[]).includes(w));
  if (unknown.length) {
    throw new DelegateError(`unknown controller ${unknown.map((w) => JSON.stringify(w)).join(', ')}`, `Delegate= takes ${DELEGATE_CONTROLLERS.join(', ')}`);
  }
  return [...new Set(words as string[])];
}

/**
 * The cgroup2 controllers to make available in a delegated cgroup: those asked for (all systemd knows for `true`),
 * v1 names mapped to v2's (blkio is io, cpuacct is cpu), that the machine's cgroup2 offers.
 */
export function delegatedControllers(d: Delegate, offered: readonly string[]): string[] {
  if (d === false) return [];
  const asked = d === true ? DELEGATE_CONTROLLERS : d;
  const v2 = asked.map((c) => (c === 'blkio' ? 'io' : c === 'cpuacct' ? 'cpu' : c));
  return [...new Set(v2)].filter((c) => offered.includes(c));
}

/**
 * systemd runs these in `<unit>/.control` when the unit is delegated: by then the service may have divided its cgroup
 * (cgroup2 allows no processes beside sub-cgroups with controllers). ExecStartPre= and ExecStart= run before that.
 */
export const CONTROL_SUBCGROUP_PHASES = ['ExecStartPost', 'ExecReload', 'ExecStop', 'ExecStopPost'];
export const CONTROL_SUBCGROUP = '.control';

/** The sub-cgroup a command of `phase` runs in: `.control` for the phases above when delegated, else none. */
export function subcgroupOf(d: Delegate, phase: string): string | null {
  return d !== false && CONTROL_SUBCGROUP_PHASES.includes(phase) ? CONTROL_SUBCGROUP : null;
}
