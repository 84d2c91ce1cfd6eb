// A real fleet on one machine: a real etcd (Debian's etcd-server) on loopback ports in a temp directory, and nodes
// that are each a `sysmaster up` core with its own state directory plus a `sysmaster agent` beside it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import type { Test } from 'tap';
import { bin, cli, scratch, sleep, Up, writeSpec, type Run } from '../integration/harness.js';
import { keys, type Status } from '../../fleet/keys.js';

/** Why the fleet tests cannot run here, or null. */
export function missingEtcd(): string | null {
  return spawnSync('etcd', ['--version']).status === 0 ? null : 'no etcd binary on PATH (Debian: apt-get install etcd-server; .ci/run installs it)';
}

/** A fleet for one test file, stopped and removed at its end; null (the file reports itself skipped) without etcd. */
export function fleetFor(t: Test, tls = false): Fleet | null {
  const missing = missingEtcd();
  if (missing) {
    t.plan(0, `fleet tests: ${missing}`);
    return null;
  }
  const dir = scratch('sm-fleet-');
  const fleet = new Fleet(dir, 3, tls ? certificates(dir) : null);
  t.teardown(async () => {
    await fleet.stop();
    fs.rmSync(fleet.dir, { recursive: true, force: true });
  });
  return fleet;
}

export interface Certificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in `dir`. */
export function certificates(dir: string): Certificates {
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  fs.writeFileSync(f('san.cnf'), 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = serverAuth, clientAuth\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=fleet-test-ca', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  for (const who of ['server', 'client']) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who === 'client' ? 'fleet-client' : '127.0.0.1'}`, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`));
    ssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('san.cnf'), '-out', f(`${who}.pem`));
  }
  return { ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export class Etcd {
  child: ChildProcess | null = null;
  log = '';
  endpoint = '';
  private ports: [number, number] = [0, 0];

  /** `tls`: clients must come over TLS with a certificate of this CA (certificates()). */
  constructor(
    readonly dir: string,
    readonly tls: Certificates | null = null,
  ) {}

  async start(): Promise<void> {
    if (!this.ports[0]) this.ports = [await freePort(), await freePort()];
    const [client, peer] = this.ports;
    this.endpoint = `${this.tls ? 'https' : 'http'}://127.0.0.1:${client}`;
    const p = `http://127.0.0.1:${peer}`;
    const tls = this.tls ? ['--cert-file', this.tls.serverCert, '--key-file', this.tls.serverKey, '--trusted-ca-file', this.tls.ca, '--client-cert-auth'] : [];
    this.child = spawn(
      'etcd',
      ['--data-dir', path.join(this.dir, 'etcd'), '--listen-client-urls', this.endpoint, '--advertise-client-urls', this.endpoint, '--listen-peer-urls', p, '--initial-advertise-peer-urls', p, '--initial-cluster', `default=${p}`, ...tls],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout!.on('data', (d) => (this.log += d));
    this.child.stderr!.on('data', (d) => (this.log += d));
    const client3 = this.client();
    try {
      for (let i = 0; ; i++) {
        try {
          await client3.get('/ping').string();
          return;
        } catch (err) {
          if (i > 100 || this.child.exitCode !== null) throw new Error(`etcd did not start: ${(err as Error).message}\n${this.log.slice(-2000)}`);
          await sleep(100);
        }
      }
    } finally {
      client3.close();
    }
  }

  /** Stopped hard (SIGKILL): what a crashed or partitioned etcd looks like to the agents. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }

  version(): string {
    return /etcd Version: (\S+)/.exec(spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
  }

  client(auth?: { username: string; password: string }): Etcd3 {
    const t = this.tls;
    const credentials = t ? { rootCertificate: fs.readFileSync(t.ca), certChain: fs.readFileSync(t.clientCert), privateKey: fs.readFileSync(t.clientKey) } : undefined;
    return new Etcd3({ hosts: this.endpoint, dialTimeout: 2000, credentials, auth });
  }
}

export class Node {
  up: Up;
  agent: ChildProcess | null = null;
  agentLog = '';
  readonly stateDir: string;

  constructor(
    readonly name: string,
    readonly labels: string[],
    readonly dir: string,
    private readonly etcd: Etcd,
    baseSpec: string,
    private readonly ttl: number,
    private readonly etcdFlags: string[],
  ) {
    this.stateDir = path.join(dir, name);
    fs.mkdirSync(this.stateDir, { recursive: true });
    this.up = new Up(writeSpec(this.stateDir, baseSpec, 'base.toml'), this.stateDir, [], { init: true });
  }

  startAgent(): void {
    const args = [bin('sysmaster'), '--state-dir', this.stateDir, 'agent', '--node', this.name, '--endpoints', this.etcd.endpoint, '--ttl', String(this.ttl), ...this.etcdFlags];
    for (const l of this.labels) args.push('--label', l);
    this.agent = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.agent.stdout!.on('data', (d) => (this.agentLog += d));
    this.agent.stderr!.on('data', (d) => (this.agentLog += d));
  }

  async killAgent(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const a = this.agent;
    if (!a || a.exitCode !== null || a.signalCode !== null) return;
    const gone = new Promise((r) => a.once('exit', r));
    a.kill(signal);
    await gone;
  }

  async stop(): Promise<void> {
    await this.killAgent('SIGTERM');
    await this.up.stop();
  }
}

export class Fleet {
  readonly etcd: Etcd;
  readonly nodes: Node[] = [];

  /** The etcd user the harness's own reads use, once auth is on. */
  auth: { username: string; password: string } | null = null;

  /** Flags every agent and every `sctl fleet` gets besides --endpoints (TLS, auth). */
  etcdFlags: string[] = [];

  /** `ttl`: the agents' lease, short by default so a test sees a dead agent's node go quickly. */
  constructor(
    readonly dir: string,
    readonly ttl = 3,
    tls: Certificates | null = null,
  ) {
    this.etcd = new Etcd(dir, tls);
  }

  async add(name: string, labels: string[], baseSpec = ''): Promise<Node> {
    const n = new Node(name, labels, this.dir, this.etcd, baseSpec, this.ttl, this.etcdFlags);
    this.nodes.push(n);
    await waitFor(`${name}'s core`, () => n.up.call('ping').then(() => true, () => false));
    n.startAgent();
    return n;
  }

  node(name: string): Node {
    return this.nodes.find((n) => n.name === name)!;
  }

  sctl(...args: string[]): Promise<Run> {
    return cli('sctl', ['fleet', ...args, '--endpoints', this.etcd.endpoint, ...this.etcdFlags]);
  }

  async status(): Promise<Record<string, { alive: boolean; revision: number | null; state: Status['state'] | null; specHash: string | null; failed: string[]; transaction: number | null; error: string | null; units: Record<string, string> }>> {
    const r = await cli('sctl', ['-o', 'json', 'fleet', 'status', '--endpoints', this.etcd.endpoint, ...this.etcdFlags]);
    if (r.code !== 0) throw new Error(`sctl fleet status exited ${r.code}: ${r.stderr}`);
    return Object.fromEntries((JSON.parse(r.stdout) as { node: string }[]).map((x) => [x.node, x])) as never;
  }

  /** The agents' status records, read from etcd directly: cheap enough to poll (the CLI is tested on its own). */
  async records(): Promise<Record<string, Status & { alive: boolean }>> {
    const client = this.etcd.client(this.auth ?? undefined);
    try {
      const all = await client.getAll().prefix(keys.nodes).strings();
      const out: Record<string, Status & { alive: boolean }> = {};
      for (const [k, v] of Object.entries(all)) {
        const [node, what] = k.slice(keys.nodes.length).split('/') as [string, string];
        out[node] ??= { alive: false } as Status & { alive: boolean };
        if (what === 'alive') out[node]!.alive = true;
        if (what === 'status') Object.assign(out[node]!, JSON.parse(v));
      }
      return out;
    } finally {
      client.close();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => undefined)));
    await this.etcd.kill();
  }
}

export async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000, context: () => string = () => ''): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await sleep(100);
  }
}
