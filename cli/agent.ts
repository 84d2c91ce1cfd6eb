// `sysmaster agent`: flags, the config file and the environment become the agent's options (docs/fleet.md).
import fs from 'node:fs';
import os from 'node:os';
import TOML from '@iarna/toml';
import { Agent } from '../fleet/agent.js';
import type { EtcdFlags } from '../fleet/etcd.js';
import { parseLabels, type Labels } from '../fleet/keys.js';
import { tomlError } from '../specs/errors.js';

export interface AgentFlags extends EtcdFlags {
  node?: string;
  label: string[];
  config?: string;
  ttl?: string;
}

const CONFIG_KEYS = ['node', 'labels', 'ttl', 'endpoints', 'cacert', 'cert', 'key', 'user', 'password'];
const NODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export async function runAgent(flags: AgentFlags, stateDir: string): Promise<void> {
  const config = flags.config ? readConfig(flags.config) : {};
  const labels: Labels = { ...(config.labels as Labels | undefined), ...parseLabels(flags.label, '--label') };
  const node = flags.node ?? (config.node as string | undefined) ?? os.hostname().split('.')[0]!;
  if (!NODE.test(node)) throw new Error(`node name ${JSON.stringify(node)}: expected letters, digits, . _ - (at most 63), starting with a letter or digit`);
  const ttl = Number(flags.ttl ?? config.ttl ?? 10);
  if (!Number.isInteger(ttl) || ttl < 2) throw new Error(`--ttl: "${flags.ttl ?? config.ttl}" is not a whole number of seconds of at least 2`);
  const etcd: EtcdFlags = {};
  for (const k of ['endpoints', 'cacert', 'cert', 'key', 'user', 'password'] as const) {
    const v = flags[k] ?? (config[k] as string | undefined);
    if (v !== undefined) etcd[k] = v;
  }
  const log = (line: string) => void process.stdout.write(`${line}\n`);
  const agent = await Agent.create({ node, labels, stateDir, etcd, ttl, log });
  const stop = () => {
    log('stopping: leaving the fleet (the services keep running)');
    void agent.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await agent.start();
}

function readConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the agent's config ${file}: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = TOML.parse(text) as Record<string, unknown>;
  } catch (err) {
    const { line, message } = tomlError(err);
    throw new Error(`${file}:${line}: ${message}`);
  }
  for (const [k, v] of Object.entries(doc)) {
    if (!CONFIG_KEYS.includes(k)) throw new Error(`${file}: unknown key "${k}" (expected one of ${CONFIG_KEYS.join(', ')})`);
    const ok = k === 'labels' ? typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string') : k === 'ttl' ? typeof v === 'number' : typeof v === 'string';
    if (!ok) throw new Error(`${file}: ${k}: expected ${k === 'labels' ? 'a table of strings' : k === 'ttl' ? 'a number of seconds' : 'a string'}`);
  }
  if (doc.labels) parseLabels(Object.entries(doc.labels as Labels).map(([k, v]) => `${k}=${v}`), `${file}: labels:`);
  return doc;
}
