// Reading the fleet's records: shared by the agent (what to apply) and by `sctl fleet` (what a node had before).
import type { Etcd3 } from 'etcd3';
import { keys, matches, parseJson, type Alive, type Assignment, type Desired, type Labels, type Rollout, type Status } from './keys.js';

type KeyValue = { key: Buffer; value: Buffer; mod_revision: string };

/** A record holding an assignment (a node's own, or a group's), with its source and revision; null when it is not one. */
function assignmentOf(kv: KeyValue, warn: (line: string) => void): Desired | null {
  const a = parseJson<Assignment>(kv.value);
  const name = kv.key.toString();
  if (!a || (a.spec !== null && typeof a.spec !== 'string')) {
    warn(`ignoring ${name}: not an assignment (docs/fleet.md)`);
    return null;
  }
  const group = name.startsWith(keys.groups);
  return { ...a, source: group ? `group:${decodeURIComponent(name.slice(keys.groups.length))}` : 'node', revision: Number(kv.mod_revision) };
}

/** Every group's assignment. */
export async function groups(client: Etcd3, warn: (line: string) => void = () => undefined): Promise<Desired[]> {
  const all = await client.getAll().prefix(keys.groups).exec();
  return all.kvs.map((kv) => assignmentOf(kv, warn)).filter((d): d is Desired => d !== null);
}

/** The assignment in force, of a node's own (`own`) and the groups': the newest that applies to its labels. */
export function inForce(own: Desired | null, all: Desired[], labels: Labels): Desired | null {
  const found = [...(own ? [own] : []), ...all.filter((g) => matches(g.selector ?? {}, labels))];
  return found.sort((a, b) => b.revision - a.revision)[0] ?? null;
}

/** The assignment in force for a node, read from etcd. */
export async function desiredFor(client: Etcd3, node: string, labels: Labels, warn: (line: string) => void = () => undefined): Promise<Desired | null> {
  const [own, all] = await Promise.all([client.get(keys.desired(node)).exec(), groups(client, warn)]);
  return inForce(own.kvs[0] ? assignmentOf(own.kvs[0], warn) : null, all, labels);
}

export interface NodeRecords {
  alive: Alive | null;
  desired: Desired | null;
  status: Status | null;
}

/** Every node the fleet knows of (registered now, or with a record left), by name. */
export async function nodes(client: Etcd3): Promise<Map<string, NodeRecords>> {
  const all = await client.getAll().prefix(keys.nodes).exec();
  const out = new Map<string, NodeRecords>();
  for (const kv of all.kvs) {
    const rest = kv.key.toString().slice(keys.nodes.length);
    const slash = rest.lastIndexOf('/');
    const [node, what] = [rest.slice(0, slash), rest.slice(slash + 1)];
    const r = out.get(node) ?? { alive: null, desired: null, status: null };
    if (what === 'alive') r.alive = parseJson<Alive>(kv.value);
    else if (what === 'status') r.status = parseJson<Status>(kv.value);
    else if (what === 'desired') r.desired = assignmentOf(kv, () => undefined);
    out.set(node, r);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

export async function rollouts(client: Etcd3): Promise<Rollout[]> {
  const all = await client.getAll().prefix(keys.rollouts).strings();
  return Object.keys(all)
    .sort()
    .map((k) => parseJson<Rollout>(all[k]))
    .filter((r): r is Rollout => r !== null);
}
