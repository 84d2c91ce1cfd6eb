// The fleet's key layout in etcd (docs/fleet.md), versioned: a layout that changes gets a new prefix, so old agents
// and new operators never misread each other's records. Every value is JSON.
import { createHash } from 'node:crypto';

export const ROOT = '/sysmaster/v1';

export const keys = {
  nodes: `${ROOT}/nodes/`,
  /** Held under the agent's lease: present while the agent lives. */
  alive: (node: string) => `${ROOT}/nodes/${node}/alive`,
  /** A spec assigned to this node directly (sctl fleet apply writes these). */
  desired: (node: string) => `${ROOT}/nodes/${node}/desired`,
  /** What the agent last did and what runs (the agent writes it). */
  status: (node: string) => `${ROOT}/nodes/${node}/status`,
  groups: `${ROOT}/groups/`,
  group: (name: string) => `${ROOT}/groups/${name}`,
  rollouts: `${ROOT}/rollouts/`,
  rollout: (id: number) => `${ROOT}/rollouts/${String(id).padStart(10, '0')}`,
  /** The next rollout's id. */
  counter: `${ROOT}/rollout-id`,
  /** Held by the one rollout (or fleet rollback) that runs. */
  lock: `${ROOT}/lock`,
};

export type Labels = Record<string, string>;

/** A node's record under its lease. */
export interface Alive {
  node: string;
  labels: Labels;
  host: string;
  pid: number;
  since: number;
}

/**
 * A spec assigned to a node (desired) or to the nodes a selector matches (a group). `spec: null` means the spec the
 * node ran before the fleet managed it: what a rollback restores on a node that had no assignment.
 */
export interface Assignment {
  spec: string | null;
  specHash: string;
  /** The rollout that wrote it. */
  rollout: number | null;
  /** Groups only: the labels a node must have. */
  selector?: Labels;
}

/** Where a node's desired state came from, and at which etcd revision it was written. */
export interface Desired extends Assignment {
  source: string;
  revision: number;
}

export type NodeState = 'applying' | 'committed' | 'rolled-back' | 'failed' | 'failed-rollback' | 'refused';

export interface Status {
  node: string;
  /** The revision of the assignment applied (or being applied). */
  revision: number;
  source: string;
  rollout: number | null;
  specHash: string;
  state: NodeState;
  /** The local core's transaction; null when the spec changed nothing. */
  transaction: number | null;
  error: string | null;
  /** The spec's units, `active/sub`. */
  units: Record<string, string>;
  failed: string[];
  /** A newer assignment the agent would not take (older than the applied one): its revision. */
  ignored?: number;
  time: number;
}

export type RolloutResult = 'running' | 'committed' | 'rolled-back' | 'failed-rollback' | 'interrupted';

export interface RolloutNode {
  /** The node's assignment before the rollout: what a rollback puts back. */
  previous: Assignment | null;
  /** The revision of the assignment the rollout wrote; null before its wave. */
  revision: number | null;
  state?: NodeState | 'rolled-back';
}

export interface Rollout {
  id: number;
  kind: 'apply' | 'rollback';
  /** A rollback: the rollout it undoes. */
  reverts: number | null;
  selector: Labels;
  specHash: string;
  canary: number;
  maxUnavailable: number;
  timeoutMs: number;
  waves: string[][];
  nodes: Record<string, RolloutNode>;
  /** The group assignment the rollout replaced (null: there was none), restored by a fleet rollback. */
  groupBefore: Assignment | null;
  start: number;
  end: number | null;
  result: RolloutResult;
  /** The node that failed, and why; or why the rollout stopped. */
  failed: { node: string | null; reason: string } | null;
}

export const specHash = (text: string | null): string => (text === null ? 'base' : createHash('sha256').update(text).digest('hex').slice(0, 12));

export function matches(selector: Labels, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** `k=v,k2=v2`, sorted: a group's name in etcd and in messages. */
export function selectorText(selector: Labels): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');
}

/** `KEY=VALUE` items (repeated flags, each possibly comma-separated) as labels; a malformed one is an error. */
export function parseLabels(items: string[], what: string): Labels {
  const labels: Labels = {};
  for (const item of items.flatMap((i) => i.split(','))) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._/-]*)=([A-Za-z0-9._-]*)$/.exec(item.trim());
    if (!m) throw new Error(`${what} ${JSON.stringify(item)}: expected KEY=VALUE (letters, digits, . _ - and / in the key)`);
    labels[m[1]!] = m[2]!;
  }
  return labels;
}

export function parseJson<T>(value: Buffer | string | null | undefined): T | null {
  if (value === null || value === undefined) return null;
  try {
    return JSON.parse(value.toString()) as T;
  } catch {
    return null;
  }
}
