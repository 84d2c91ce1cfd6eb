// `sctl fleet apply` and `sctl fleet rollback` (docs/fleet.md): a spec rolled out in waves, canaries first. A wave
// proceeds only when each of its nodes committed the spec through its own transaction and the spec's units are
// healthy; a node that rolls back, or the timeout, stops the rollout, and every node it changed gets its previous
// assignment back (again each through its own transaction). The rollout's record is written before any node is
// touched, so a rollout whose operator died can still be rolled back.
import type { Etcd3 } from 'etcd3';
import { keys, matches, parseJson, selectorText, specHash, type Assignment, type Labels, type Rollout, type RolloutNode, type Status } from './keys.js';
import { groups, inForce, nodes, rollouts } from './read.js';

export class FleetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetError';
  }
}

export interface RolloutOptions {
  selector: Labels;
  canary: number;
  maxUnavailable: number;
  timeoutMs: number;
  progress: (line: string) => void;
}

/** Canaries first (one wave of `canary` nodes), then waves of at most `maxUnavailable` nodes, in name order. */
export function waves(nodeNames: string[], canary: number, maxUnavailable: number): string[][] {
  const sorted = [...nodeNames].sort();
  const out: string[][] = [];
  const first = Math.min(canary, sorted.length);
  if (first > 0) out.push(sorted.slice(0, first));
  for (let i = first; i < sorted.length; i += maxUnavailable) out.push(sorted.slice(i, i + maxUnavailable));
  return out;
}

/** The group that records a committed rollout's spec for nodes that join later: its name is the selector. */
const groupKey = (selector: Labels) => keys.group(encodeURIComponent(selectorText(selector)) || '*');

export async function fleetApply(client: Etcd3, spec: string, o: RolloutOptions): Promise<Rollout> {
  return locked(client, async () => {
    const known = await nodes(client);
    const targets = [...known].filter(([, r]) => r.alive && matches(o.selector, r.alive.labels)).map(([n]) => n);
    if (!targets.length) {
      const live = [...known.values()].filter((r) => r.alive).length;
      throw new FleetError(`no live node matches ${selectorText(o.selector) || 'the fleet'} (${live} live node${live === 1 ? '' : 's'}: sctl fleet status)`);
    }
    const all = await groups(client);
    const nodesOf: Record<string, RolloutNode> = {};
    for (const n of targets) {
      const d = inForce(known.get(n)!.desired, all, known.get(n)!.alive!.labels);
      nodesOf[n] = { previous: d && { spec: d.spec, specHash: d.specHash, rollout: d.rollout }, revision: null };
    }
    const group = groupKey(o.selector);
    const r: Rollout = {
      id: await nextId(client),
      kind: 'apply',
      reverts: null,
      selector: o.selector,
      specHash: specHash(spec),
      canary: o.canary,
      maxUnavailable: o.maxUnavailable,
      timeoutMs: o.timeoutMs,
      waves: waves(targets, o.canary, o.maxUnavailable),
      nodes: nodesOf,
      groupBefore: parseJson<Assignment>(await client.get(group).buffer()),
      start: Date.now(),
      end: null,
      result: 'running',
      failed: null,
    };
    await save(client, r);
    o.progress(`rollout ${r.id}: spec ${r.specHash} to ${targets.length} node${targets.length === 1 ? '' : 's'} in ${r.waves.length} wave${r.waves.length === 1 ? '' : 's'}`);
    const deadline = o.timeoutMs > 0 ? r.start + o.timeoutMs : Infinity;
    for (const [i, wave] of r.waves.entries()) {
      const label = `wave ${i + 1}/${r.waves.length}${i === 0 && o.canary > 0 ? ' (canary)' : ''}`;
      o.progress(`${label}: ${wave.join(', ')}`);
      await assign(client, r, wave, { spec, specHash: r.specHash, rollout: r.id });
      const failed = await settle(client, r, wave, deadline, true, (n, s) => o.progress(`  ${n}: ${describe(s)}`));
      if (failed) {
        r.failed = failed;
        o.progress(`${label} failed: ${failed.node ?? 'the rollout'}: ${failed.reason}`);
        o.progress(`rolling back ${changed(r).join(', ')}`);
        const back = await restore(client, r, changed(r), o.progress);
        r.result = back ? 'failed-rollback' : 'rolled-back';
        if (back) r.failed = { ...failed, reason: `${failed.reason}; the rollback failed too: ${back.node}: ${back.reason}` };
        return finish(client, r);
      }
    }
    await client.put(group).value(JSON.stringify({ spec, specHash: r.specHash, rollout: r.id, selector: o.selector } satisfies Assignment));
    r.result = 'committed';
    return finish(client, r);
  });
}

/**
 * Undo rollout `id` (default: the newest committed one not undone yet): each node it changed gets its assignment
 * from before, and the group gets its earlier spec back, as a new rollout of kind `rollback`.
 */
export async function fleetRollback(client: Etcd3, id: number | null, progress: (line: string) => void): Promise<Rollout> {
  return locked(client, async () => {
    const all = await rollouts(client);
    const undone = new Set(all.filter((x) => x.kind === 'rollback' && x.result === 'committed').map((x) => x.reverts));
    const target = id === null ? all.filter((x) => x.kind === 'apply' && x.result === 'committed' && !undone.has(x.id)).pop() : all.find((x) => x.id === id);
    if (!target) throw new FleetError(id === null ? 'no committed rollout to roll back (sctl fleet history lists them)' : `no rollout ${id} (sctl fleet history lists them)`);
    if (target.kind !== 'apply' || !['committed', 'interrupted'].includes(target.result)) {
      throw new FleetError(`rollout ${target.id} is ${target.kind === 'rollback' ? 'a rollback' : target.result}: only a committed or interrupted rollout can be rolled back`);
    }
    const touched = changed(target);
    const r: Rollout = {
      ...target,
      id: await nextId(client),
      kind: 'rollback',
      reverts: target.id,
      waves: [touched],
      nodes: Object.fromEntries(touched.map((n) => [n, { previous: target.nodes[n]!.previous, revision: null }])),
      start: Date.now(),
      end: null,
      result: 'running',
      failed: null,
    };
    await save(client, r);
    progress(`rollback ${r.id} of rollout ${target.id}: ${touched.join(', ') || 'no node was changed'}`);
    const group = groupKey(target.selector);
    if (target.result === 'committed') {
      if (target.groupBefore) await client.put(group).value(JSON.stringify(target.groupBefore));
      else await client.delete().key(group).exec();
    }
    const failed = await restore(client, r, touched, progress);
    r.result = failed ? 'failed-rollback' : 'committed';
    r.failed = failed;
    return finish(client, r);
  });
}

/** Put back the assignments the nodes had before `r`, and wait for each to commit; what failed, if anything. */
async function restore(client: Etcd3, r: Rollout, which: string[], progress: (line: string) => void): Promise<Rollout['failed']> {
  if (!which.length) return null;
  await assign(client, r, which, (n) => ({ ...(r.nodes[n]!.previous ?? { spec: null, specHash: specHash(null) }), rollout: r.id }));
  // A rollback has its own time: the rollout's may be what ran out.
  const deadline = r.timeoutMs > 0 ? Date.now() + r.timeoutMs : Infinity;
  const failed = await settle(client, r, which, deadline, false, (n, s) => progress(`  ${n}: ${describe(s)}`));
  for (const n of which) if (r.nodes[n]!.state === 'committed' && r.kind === 'apply') r.nodes[n]!.state = 'rolled-back';
  return failed;
}

/** Write each node's desired assignment (`a`, or `a(node)`), recording the revisions in the rollout before waiting. */
async function assign(client: Etcd3, r: Rollout, which: string[], a: Assignment | ((node: string) => Assignment)): Promise<void> {
  for (const n of which) {
    const res = await client.put(keys.desired(n)).value(JSON.stringify(typeof a === 'function' ? a(n) : a)).exec();
    r.nodes[n] = { ...r.nodes[n]!, revision: Number(res.header.revision), state: 'applying' };
  }
  await save(client, r);
}

/**
 * Wait until each node reports the revision written for it: null when all committed (and, with `healthy`, none of
 * the spec's units failed); else the first node that did not, and why. Watches the nodes' keys: no polling.
 */
async function settle(
  client: Etcd3,
  r: Rollout,
  which: string[],
  deadline: number,
  healthy: boolean,
  onNode: (node: string, s: Status) => void,
): Promise<Rollout['failed']> {
  const watcher = await client.watch().prefix(keys.nodes).create();
  try {
    return await new Promise<Rollout['failed']>((resolve) => {
      const seen = new Map<string, Status>();
      let done = false;
      const end = (v: Rollout['failed']) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(v);
      };
      const check = () => {
        const waiting: string[] = [];
        for (const n of which) {
          const s = seen.get(n);
          const want = r.nodes[n]!.revision!;
          if (!s || s.revision < want || s.state === 'applying') {
            waiting.push(`${n} (${s && s.revision >= want ? 'applying' : 'not yet seen'})`);
            continue;
          }
          r.nodes[n]!.state = s.state;
          if (s.state !== 'committed') return end({ node: n, reason: `${s.state}${s.error ? `: ${s.error}` : ''}` });
          if (healthy && s.failed.length) return end({ node: n, reason: `committed, but ${s.failed.join(', ')} failed` });
        }
        if (!waiting.length) end(null);
        return waiting;
      };
      const update = (key: string, value: Buffer | string | null) => {
        const m = /^(.*)\/status$/.exec(key.slice(keys.nodes.length));
        const s = m && which.includes(m[1]!) ? parseJson<Status>(value) : null;
        if (!s) return;
        const before = seen.get(s.node);
        seen.set(s.node, s);
        if (s.revision >= r.nodes[s.node]!.revision! && s.state !== 'applying' && (before?.state !== s.state || before.revision !== s.revision)) onNode(s.node, s);
        check();
      };
      const timer = setTimeout(
        () => {
          const waiting = (check() as string[] | undefined) ?? [];
          end({ node: waiting[0]?.split(' ')[0] ?? null, reason: `timed out after ${Math.round(r.timeoutMs / 1000)}s waiting for ${waiting.join(', ')}` });
        },
        Math.min(Math.max(0, deadline - Date.now()), 2 ** 31 - 1),
      );
      watcher.on('put', (kv) => update(kv.key.toString(), kv.value));
      void Promise.all(which.map((n) => client.get(keys.status(n)).buffer())).then((values) => values.forEach((v, i) => update(keys.status(which[i]!), v)));
    });
  } finally {
    await watcher.cancel();
  }
}

/** The nodes a rollout has written an assignment to. */
const changed = (r: Rollout) => Object.keys(r.nodes).filter((n) => r.nodes[n]!.revision !== null);

function describe(s: Status): string {
  const units = Object.keys(s.units).length;
  return `${s.state}${s.transaction === null ? '' : ` (transaction ${s.transaction})`}${s.error ? `: ${s.error}` : ''}${s.failed.length ? `; failed: ${s.failed.join(', ')}` : units ? `; ${units} unit${units === 1 ? '' : 's'} healthy` : ''}`;
}

/**
 * One rollout at a time: the lock is held under a lease, so an operator that dies frees it. A rollout found still
 * running under the lock was left by such an operator: it is marked interrupted (sctl fleet rollback undoes it).
 */
async function locked<T>(client: Etcd3, fn: () => Promise<T>): Promise<T> {
  const lock = client.lock(keys.lock).ttl(15);
  try {
    await lock.acquire();
  } catch (err) {
    if ((err as Error).name === 'EtcdLockFailedError') throw new FleetError('another rollout is running (sctl fleet history): wait for it to finish');
    throw err;
  }
  try {
    for (const r of await rollouts(client)) {
      if (r.result === 'running') await finish(client, { ...r, result: 'interrupted', failed: r.failed ?? { node: null, reason: 'its operator stopped before it finished' } });
    }
    return await fn();
  } finally {
    await lock.release().catch(() => undefined);
  }
}

async function nextId(client: Etcd3): Promise<number> {
  const id = Number((await client.get(keys.counter).string()) ?? '0') + 1;
  await client.put(keys.counter).value(String(id));
  return id;
}

const save = (client: Etcd3, r: Rollout) => client.put(keys.rollout(r.id)).value(JSON.stringify(r)).exec();

async function finish(client: Etcd3, r: Rollout): Promise<Rollout> {
  r.end = Date.now();
  await save(client, r);
  return r;
}
