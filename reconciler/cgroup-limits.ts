// systemd's resource-control values (MemoryMax=, CPUQuota=, ...) parsed, and turned into the cgroup files that
// carry them on v2 or v1. Pure: which hierarchy holds a controller, and the machine's memory and task ceilings,
// come in as arguments, so the spec loader can validate with parseLimit and tests can check every write.

import { parseBytes } from '../specs/bytes.js';

export const LIMIT_KEYS = ['MemoryMax', 'MemoryHigh', 'CPUWeight', 'CPUQuota', 'TasksMax', 'IOWeight'] as const;
export type LimitKey = (typeof LIMIT_KEYS)[number];

/** A fraction of something the machine has, in 1/10000 (systemd's permyriad): "50%" is 5000. */
export interface Share {
  permyriad: number;
}
export type Amount = number | Share | 'infinity';

export interface Limits {
  MemoryMax?: Amount;
  MemoryHigh?: Amount;
  CPUWeight?: number | 'idle';
  /** Percent of one CPU; may exceed 100. */
  CPUQuota?: number;
  TasksMax?: Amount;
  IOWeight?: number;
}

/** A value systemd would refuse; the message says what was expected. The loader adds file:line. */
export class LimitError extends Error {
  constructor(
    readonly key: LimitKey,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'LimitError';
  }
}

/** "50%", "5‰", "5‱" → permyriad; undefined when not a percentage. */
function share(s: string): Share | undefined {
  const m = /^(\d+(?:\.\d+)?)(%|‰|‱)$/.exec(s);
  if (!m) return undefined;
  return { permyriad: Math.round(Number(m[1]) * { '%': 100, '‰': 10, '‱': 1 }[m[2] as '%']) };
}

const BYTES = 'bytes with an optional K, M, G, T, P or E suffix (base 1024), a percentage of physical memory, or "infinity"';
const WEIGHT = 'a number from 1 to 10000';

function amount(key: LimitKey, v: string | number, what: string, integer: (s: string) => number | undefined): Amount {
  const s = String(v).trim();
  if (s === 'infinity') return s;
  const p = share(s);
  if (p) {
    if (p.permyriad <= 0 || p.permyriad > 10000) throw new LimitError(key, `${JSON.stringify(v)}: a percentage must be above 0% and at most 100%`);
    return p;
  }
  const n = integer(s);
  if (n === undefined || !Number.isSafeInteger(n)) throw new LimitError(key, `${JSON.stringify(v)}: expected ${what}`);
  return n;
}

const bytes = (s: string): number | undefined => parseBytes(s) ?? undefined;

function weight(key: LimitKey, v: string | number): number {
  const s = String(v).trim();
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= 10000)) throw new LimitError(key, `${JSON.stringify(v)}: expected ${WEIGHT}${key === 'CPUWeight' ? ' or "idle"' : ''}`);
  return n;
}

/** One key's value, as systemd writes it (a TOML number is taken as that number of the key's unit). */
export function parseLimit<K extends LimitKey>(key: K, v: string | number): NonNullable<Limits[K]>;
export function parseLimit(key: LimitKey, v: string | number): Limits[LimitKey] {
  switch (key) {
    case 'MemoryMax':
    case 'MemoryHigh':
      return amount(key, v, BYTES, bytes);
    case 'TasksMax': {
      const n = amount(key, v, 'a number of tasks, a percentage of the system\'s maximum, or "infinity"', (s) => (/^\d+$/.test(s) ? Number(s) : undefined));
      if (n === 0) throw new LimitError(key, '0: expected at least 1 (or "infinity")');
      return n;
    }
    case 'CPUWeight':
      return String(v).trim() === 'idle' ? 'idle' : weight(key, v);
    case 'IOWeight':
      return weight(key, v);
    case 'CPUQuota': {
      const p = share(String(v).trim());
      if (!p || p.permyriad <= 0) throw new LimitError(key, `${JSON.stringify(v)}: expected a percentage of one CPU above 0%, such as "20%" or "150%"`);
      return p.permyriad / 100;
    }
  }
}

/** Where a controller is: its hierarchy's version and the unit's directory there; null when the machine lacks it. */
export type Locate = (controller: 'memory' | 'cpu' | 'pids' | 'io') => { version: 1 | 2; dir: string } | null;

/** What percentages are of: physical memory (bytes) and the system's task ceiling. */
export interface Machine {
  memory: number;
  tasks: number;
}

export interface Write {
  key: LimitKey;
  file: string;
  value: string;
}

/** systemd's CPUQuotaPeriodSec= default. */
export const CPU_PERIOD_US = 100_000;
const PAGE = 4096;

const CONTROLLER: Record<LimitKey, 'memory' | 'cpu' | 'pids' | 'io'> = {
  MemoryMax: 'memory',
  MemoryHigh: 'memory',
  CPUWeight: 'cpu',
  CPUQuota: 'cpu',
  TasksMax: 'pids',
  IOWeight: 'io',
};

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

function resolve(a: Amount, whole: number, round: number): number | 'infinity' {
  if (typeof a !== 'object') return a;
  return Math.floor((whole * a.permyriad) / 10000 / round) * round;
}

/**
 * The files to write for `limits`, in order. Throws LimitError naming the key, the controller and what the machine
 * has when a controller is missing: nothing is written then, and nothing is ever silently dropped.
 * `v1blkio` is the v1 weight file the kernel offers (blkio.weight with CFQ, blkio.bfq.weight with BFQ), if any.
 */
export function limitWrites(limits: Limits, locate: Locate, machine: Machine, have: string, v1blkio?: string): Write[] {
  const out: Write[] = [];
  for (const key of LIMIT_KEYS) {
    const v = limits[key];
    if (v === undefined) continue;
    const c = CONTROLLER[key];
    const at = locate(c);
    if (!at || (c === 'io' && at.version === 1 && !v1blkio)) {
      const why = at ? `the blkio hierarchy offers no weight file (no CFQ or BFQ scheduler)` : `the ${c} controller is not available to us`;
      throw new LimitError(key, `cannot be honoured: ${why} (this machine: ${have}); remove ${key} or run where the ${c === 'io' ? 'io/blkio' : c} controller is delegated`);
    }
    const w = (file: string, value: string | number) => out.push({ key, file: `${at.dir}/${file}`, value: String(value) });
    const v1 = at.version === 1;
    switch (key) {
      case 'MemoryMax':
      case 'MemoryHigh': {
        const b = resolve(v as Amount, machine.memory, PAGE);
        const file = v1 ? (key === 'MemoryMax' ? 'memory.limit_in_bytes' : 'memory.soft_limit_in_bytes') : key === 'MemoryMax' ? 'memory.max' : 'memory.high';
        w(file, b === 'infinity' ? (v1 ? -1 : 'max') : b);
        break;
      }
      case 'TasksMax': {
        const n = resolve(v as Amount, machine.tasks, 1);
        w('pids.max', n === 'infinity' ? 'max' : Math.max(1, n));
        break;
      }
      case 'CPUWeight':
        // systemd: shares = weight × 1024 / 100 within [2, 262144]; idle is the least there is on v1.
        if (v1) w('cpu.shares', v === 'idle' ? 2 : clamp(Math.floor(((v as number) * 1024) / 100), 2, 262144));
        else if (v === 'idle') w('cpu.idle', 1);
        else w('cpu.weight', v as number);
        break;
      case 'CPUQuota': {
        // As systemd: the quota per period, at least 1 ms.
        const quota = Math.max(1000, Math.round(((v as number) / 100) * CPU_PERIOD_US));
        if (v1) {
          w('cpu.cfs_period_us', CPU_PERIOD_US);
          w('cpu.cfs_quota_us', quota);
        } else w('cpu.max', `${quota} ${CPU_PERIOD_US}`);
        break;
      }
      case 'IOWeight':
        // systemd: blkio weight = io weight × 500 / 100 within [10, 1000].
        if (v1) w(v1blkio!, clamp(Math.floor(((v as number) * 500) / 100), 10, 1000));
        else w('io.weight', `default ${v as number}`);
        break;
    }
  }
  return out;
}
