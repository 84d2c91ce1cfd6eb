// Reading the fleet's records: shared by the agent (what to apply) and by `sctl fleet` (what a node had before).
import type { Etcd3 } from 'etcd3';
import { keys, matches, parseJson, type Alive, type Assignment, type Desired, type Labels, type Rollout, type Status } from './keys.js';

/** The assignment in force for a node: the newest of its own and its matching groups'. */
export async function desiredFor(client: Etcd3, node: string, labels: Labels, warn: (line: string) => void = () => undefined): Promise<Desired | null> {
  const [own, groups] = await Promise.all([client.get(keys.desired(node)).exec(), client.getAll().prefix(keys.groups).exec()]);
  const found: Desired[] = [];
  for (const kv of [...own.kvs, ...groups.kvs]) {
    const a = parseJson<Assignment>(kv.value);
    const name = kv.key.toString();
    if (!a || (a.spec !== null && typeof a.spec !== 'string')) {
      warn(`ignoring ${name}: not an assignment (docs/fleet.md)`);
      continue;
    }
    const group = name.startsWith(keys.groups);
    if (group && !matches(a.selector ?? {}, labels)) continue;
    found.push({ ...a, source: group ? `group:${decodeURIComponent(name.slice(keys.groups.length))}` : 'node', revision: Number(kv.mod_revision) });
  }
  return found.sort((a, b) => b.revision - a.revision)[0] ?? null;
}

export interface NodeRecords {
  alive: Alive | null;
  desired: (Assignment & { revision: number }) | null;
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
    else if (what === 'desired') {
      const a = parseJson<Assignment>(kv.value);
      r.desired = a && { ...a, revision: Number(kv.mod_revision) };
    }
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
