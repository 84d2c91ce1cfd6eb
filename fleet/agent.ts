// `sysmaster agent`: one node of a fleet (docs/fleet.md). It registers the node under a lease, watches the specs
// assigned to it, applies the newest through the local core as one transaction, and writes back what came of it.
// Level-triggered: every watch event, reconnect or re-registration just asks for a sync, which reads what is desired
// now and compares it with what was applied; so a missed event or an etcd outage only delays convergence.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { call, CallError } from '../reconciler/client.js';
import type { ApplyResult } from '../reconciler/apply.js';
import { statePaths } from '../reconciler/paths.js';
import { writeAtomic } from '../reconciler/state.js';
import type { UnitInfo, UnitStatus } from '../reconciler/view.js';
import { formatProblem, type SpecProblem } from '../specs/errors.js';
import { loadSpec } from '../specs/loader.js';
import { connect, type EtcdFlags } from './etcd.js';
import { keys, parseJson, type Alive, type Desired, type Labels, type Status } from './keys.js';
import { desiredFor } from './read.js';

export interface AgentOptions {
  node: string;
  labels: Labels;
  /** The local core's state directory. */
  stateDir: string;
  etcd: EtcdFlags;
  /** Seconds the node stays registered after the agent stops renewing its lease. */
  ttl: number;
  log: (line: string) => void;
}

/** What became of one revision: the status without the units' health. */
type Applied = Pick<Status, 'revision' | 'source' | 'rollout' | 'specHash' | 'state' | 'transaction' | 'error'>;

/** What the agent keeps on disk ($STATE/fleet/agent.json): enough to never apply a revision twice. */
interface AgentState {
  /** This boot's id: a reboot loses what was applied, so revisions are applied again after one. */
  boot: string;
  /** The spec the core ran before the fleet's first apply (null: none): a `spec: null` assignment restores it. */
  base?: string | null;
  applied: (Applied & { file: string }) | null;
  /** An apply sent to the core and not yet answered: a restarted agent asks again, with the same key. */
  pending: Desired | null;
}

/** Local checks of the units' health: the core is on this machine, so this costs etcd nothing. */
const HEALTH_MS = 5000;
const BACKOFF_MS = [250, 500, 1000, 2000, 5000, 10_000];
/** Transient: the core is restarting, or busy. Anything else the core says about an apply is its answer. */
const TRANSIENT = new Set(['ENOCORE', 'EEOF', 'ECONNRESET', 'EPIPE', 'EBUSY']);

export class Agent {
  private readonly dir: string;
  private readonly control: string;
  private state: AgentState;
  private lease: Lease | null = null;
  private watchers: Watcher[] = [];
  private syncing: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  private retry: NodeJS.Timeout | null = null;
  private health: NodeJS.Timeout | null = null;
  /** The status to publish, and the JSON etcd has (null: unknown, write it). */
  private status: Status | null = null;
  private published: string | null = null;
  private unitsOf = new Map<string, string[]>();
  private stopped = false;

  static async create(o: AgentOptions): Promise<Agent> {
    return new Agent(o, await connect(o.etcd));
  }

  private constructor(
    private readonly o: AgentOptions,
    private readonly client: Etcd3,
  ) {
    this.dir = path.join(o.stateDir, 'fleet');
    this.control = statePaths(o.stateDir).control;
    fs.mkdirSync(path.join(this.dir, 'specs'), { recursive: true, mode: 0o700 });
    this.state = this.load();
  }

  async start(): Promise<void> {
    this.o.log(`node ${this.o.node} (${Object.entries(this.o.labels).map(([k, v]) => `${k}=${v}`).join(',') || 'no labels'}): core ${this.control}`);
    const pending = this.state.pending;
    if (pending) this.o.log(`an apply of revision ${pending.revision} was unanswered when the agent stopped: asking the core again`);
    void this.register();
    this.watch();
    this.kick();
    this.health = setInterval(() => void this.checkHealth(), HEALTH_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.health) clearInterval(this.health);
    if (this.retry) clearTimeout(this.retry);
    await Promise.all(this.watchers.map((w) => w.cancel().catch(() => undefined)));
    // Revoked, not left to expire: the operator sees the node go at once.
    await this.lease?.revoke().catch(() => undefined);
    this.client.close();
  }

  /** The node's record under a lease; a lost lease (etcd was away longer than the TTL) is replaced. */
  private async register(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      const lease = this.client.lease(this.o.ttl);
      try {
        const alive: Alive = { node: this.o.node, labels: this.o.labels, host: os.hostname(), pid: process.pid, since: Date.now() };
        await lease.put(keys.alive(this.o.node)).value(JSON.stringify(alive));
        lease.on('lost', (err) => {
          if (this.stopped || this.lease !== lease) return;
          this.o.log(`lease lost (${err.message}): registering again`);
          this.lease = null;
          void this.register();
        });
        this.lease = lease;
        this.o.log(`registered in etcd with a ${this.o.ttl}s lease`);
        // etcd may have lost or missed what happened meanwhile: publish again and look again.
        this.published = null;
        this.kick();
        return;
      } catch (err) {
        lease.release();
        if (attempt === 0 || attempt % 10 === 0) this.o.log(`cannot register in etcd: ${(err as Error).message}; retrying`);
        await sleep(BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!);
      }
    }
  }

  /** Watches on the node's own assignment and on the groups; the client resumes them after an outage. */
  private watch(): void {
    const on = (w: Watcher) => {
      this.watchers.push(w);
      w.on('put', () => this.kick());
      w.on('delete', () => this.kick());
      w.on('connected', () => this.kick());
      w.on('error', (err) => this.o.log(`watch: ${err.message}`));
    };
    void this.client
      .watch()
      .key(keys.desired(this.o.node))
      .create()
      .then((w) => {
        w.on('put', (kv) => this.supersede(Number(kv.mod_revision)));
        on(w);
      });
    void this.client.watch().prefix(keys.groups).create().then(on);
  }

  /**
   * A newer assignment for this node while an apply runs (the rollout timed out and puts the previous spec back):
   * the running apply is cut short, so the core rolls it back now instead of finishing what nobody wants.
   */
  private supersede(revision: number): void {
    const pending = this.state.pending;
    if (!pending || revision <= pending.revision) return;
    this.o.log(`revision ${revision} supersedes revision ${pending.revision}: asking the core to abort that apply`);
    call(this.control, 'abort', { key: this.key(pending), reason: `superseded by revision ${revision}` }).catch(() => undefined);
  }

  private key(d: Desired): string {
    return `fleet:${this.o.node}:${this.state.boot}:${d.revision}`;
  }

  /** Ask for a sync: one runs at a time; asks during one make it run again. */
  private kick(): void {
    if (this.stopped) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        try {
          await this.sync();
          this.failures = 0;
        } catch (err) {
          const wait = BACKOFF_MS[Math.min(this.failures++, BACKOFF_MS.length - 1)]!;
          if (this.failures === 1 || this.failures % 10 === 0) this.o.log(`${(err as Error).message}; retrying in ${wait} ms`);
          if (this.retry) clearTimeout(this.retry);
          this.retry = setTimeout(() => this.kick(), wait);
        }
      } while (this.again && !this.stopped);
      this.syncing = null;
    })();
  }

  private async sync(): Promise<void> {
    const desired = await desiredFor(this.client, this.o.node, this.o.labels, this.o.log);
    const applied = this.state.applied;
    if (desired && (!applied || desired.revision > applied.revision)) await this.apply(desired);
    else if (desired && applied && desired.revision < applied.revision && this.status?.ignored !== desired.revision) {
      // Someone removed the newer assignment: an older one is never put back over it.
      this.o.log(`not applying revision ${desired.revision} (${desired.source}): revision ${applied.revision} is newer`);
      if (this.status) this.status = { ...this.status, ignored: desired.revision };
    }
    if (!this.status && applied) this.status = { ...this.statusOf(applied), units: {}, failed: [] };
    await this.checkHealth();
  }

  private async apply(d: Desired): Promise<void> {
    const file = await this.specFile(d);
    const key = this.key(d);
    this.state.pending = d;
    this.save();
    this.status = { ...this.statusOf({ ...d, state: 'applying', transaction: null, error: null }), units: this.status?.units ?? {}, failed: this.status?.failed ?? [] };
    await this.publish();
    this.o.log(`applying revision ${d.revision} (${d.source}, spec ${d.specHash}${d.rollout === null ? '' : `, rollout ${d.rollout}`})`);
    let outcome: Pick<Status, 'state' | 'transaction' | 'error'>;
    try {
      const r = (await call(this.control, 'apply', { spec: file, key, wait: true }, { retries: 10 })) as ApplyResult;
      outcome = {
        state: r.ok ? 'committed' : r.rolledBack === true ? 'rolled-back' : r.rolledBack === false ? 'failed-rollback' : 'failed',
        transaction: r.transaction,
        error: r.ok ? null : await this.why(r),
      };
    } catch (err) {
      if (err instanceof CallError && !TRANSIENT.has(err.code)) outcome = { state: 'refused', transaction: null, error: refusal(err) };
      else throw new Error(`cannot reach the core at ${this.control} to apply revision ${d.revision}: ${(err as Error).message}`);
    }
    this.state.applied = { revision: d.revision, source: d.source, rollout: d.rollout, specHash: d.specHash, file, ...outcome };
    this.state.pending = null;
    this.save();
    this.prune();
    this.o.log(`revision ${d.revision}: ${outcome.state}${outcome.transaction === null ? '' : ` (transaction ${outcome.transaction})`}${outcome.error ? `: ${outcome.error}` : ''}`);
    this.status = { ...this.statusOf(this.state.applied), units: {}, failed: [] };
  }

  /** Why an apply failed: its reason, and each failed job with its unit's result. */
  private async why(r: ApplyResult): Promise<string> {
    const bad = r.results.filter((j) => j.result !== 'done' && j.result !== 'skipped');
    const parts: string[] = r.reason ? [r.reason] : [];
    for (const j of bad) {
      const s = (await call(this.control, 'status', { units: [j.unit], lines: 0 }).catch(() => null)) as UnitStatus[] | null;
      const u = s?.[0];
      const detail = u && u.result !== 'success' ? ` (${u.result}${u.exitCode === null ? '' : `, status ${u.exitCode}`}${u.exitSignal ? `, signal ${u.exitSignal}` : ''})` : '';
      parts.push(`${j.type} ${j.unit}: ${j.result}${detail}`);
    }
    return parts.join('; ') || 'failed';
  }

  /** The file the core applies: the assignment's text, with the node's name and labels as DefaultEnvironment. */
  private async specFile(d: Desired): Promise<string> {
    const specs = path.join(this.dir, 'specs');
    if (this.state.base === undefined) await this.recordBase();
    const file = (name: string, text: string) => {
      writeAtomic(path.join(specs, name), text);
      return path.join(specs, name);
    };
    if (d.spec === null) return this.state.base ?? file('empty.toml', '');
    const env: Record<string, string> = { SYSMASTER_NODE: this.o.node };
    for (const [k, v] of Object.entries(this.o.labels)) env[`SYSMASTER_LABEL_${k.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = v;
    const table = Object.entries(env).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
    file(`${d.revision}.toml`, d.spec);
    file(`${d.revision}.node.toml`, `# Written by sysmaster agent: this node's identity for the services.\n[manager]\nDefaultEnvironment = { ${table} }\n`);
    return file(`${d.revision}.main.toml`, `include = ["${d.revision}.toml", "${d.revision}.node.toml"]\n`);
  }

  private async recordBase(): Promise<void> {
    const ping = (await call(this.control, 'ping')) as { specFile: string | null };
    this.state.base = ping.specFile;
    this.save();
  }

  /** The spec's units and their states, from the local core; published when they change. */
  private async checkHealth(): Promise<void> {
    const applied = this.state.applied;
    if (!this.status || !applied || this.state.pending) return this.publish();
    try {
      const names = await this.unitNames(applied.file);
      const list = (await call(this.control, 'list-units', {}, { retries: 0 })) as UnitInfo[];
      const by = new Map(list.map((u) => [u.name, u]));
      const units: Record<string, string> = {};
      for (const n of names) units[n] = by.has(n) ? `${by.get(n)!.active}/${by.get(n)!.sub}` : 'not-loaded';
      const failed = names.filter((n) => by.get(n)?.active === 'failed');
      this.status = { ...this.status, units, failed };
    } catch {
      // No core for a moment (it is being restarted): the last states stand.
    }
    await this.publish();
  }

  private async unitNames(file: string): Promise<string[]> {
    let names = this.unitsOf.get(file);
    if (!names) {
      names = await loadSpec(file, { checkExecutables: false }).then(
        (s) => Object.keys(s.units).sort(),
        () => [],
      );
      this.unitsOf.set(file, names);
    }
    return names;
  }

  /** Write the status when it differs from what etcd has; a failed write is retried by the next check. */
  private async publish(): Promise<void> {
    if (!this.status) return;
    const { time: _t, ...content } = this.status;
    const text = JSON.stringify(content);
    if (text === this.published) return;
    try {
      await this.client.put(keys.status(this.o.node)).value(JSON.stringify({ ...this.status, time: Date.now() }));
      this.published = text;
    } catch {
      this.published = null;
    }
  }

  private statusOf(a: Applied): Omit<Status, 'units' | 'failed'> {
    const { revision, source, rollout, specHash, state, transaction, error } = a;
    return { node: this.o.node, revision, source, rollout, specHash, state, transaction, error, time: Date.now() };
  }

  private load(): AgentState {
    const boot = bootId();
    const fresh: AgentState = { boot, applied: null, pending: null };
    const saved = parseJson<AgentState>(readOr(path.join(this.dir, 'agent.json')));
    // After a reboot the core runs its own spec again: what was applied before is applied again.
    return saved && saved.boot === boot ? saved : fresh;
  }

  private save(): void {
    writeAtomic(path.join(this.dir, 'agent.json'), JSON.stringify(this.state, null, 2));
  }

  /** Spec files of old revisions go; the applied one stays (daemon-reload reads it again). */
  private prune(): void {
    const specs = path.join(this.dir, 'specs');
    const keep = new Set([this.state.applied?.revision, this.state.pending?.revision]);
    const revisions = [...new Set(fs.readdirSync(specs).map((f) => Number(f.split('.')[0])).filter((n) => Number.isInteger(n)))].sort((a, b) => b - a);
    for (const rev of revisions.slice(5)) {
      if (keep.has(rev)) continue;
      for (const f of [`${rev}.toml`, `${rev}.node.toml`, `${rev}.main.toml`]) fs.rmSync(path.join(specs, f), { force: true });
    }
  }
}

/** The core's refusal, with a spec's problems one per line. */
function refusal(err: CallError): string {
  const problems = err.code === 'ESPEC' && Array.isArray(err.data) ? (err.data as SpecProblem[]) : [];
  return [err.message, ...problems.map(formatProblem)].join('\n');
}

function readOr(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function bootId(): string {
  return readOr('/proc/sys/kernel/random/boot_id')?.trim() ?? 'unknown';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
