// A worker thread of the daemon: runs the rules on one event at a time (PROGRAM and IMPORT{program} block it, which
// is why there are several) and hands the outcome back; the main thread applies it. Rules are loaded here, once per
// (re)load, so an event never crosses a thread boundary with a copy of them.
import { parentPort, workerData } from 'node:worker_threads';
import { DeviceDb, deviceId } from './db.js';
import { compileRules, evaluate, type Compiled } from './evaluate.js';
import { loadRules } from './rulesfiles.js';
import { Device } from './sysfs.js';
import type { Outcome } from './outcome.js';

export interface WorkerConfig {
  rulesDirs: string[];
  runDir: string;
  /** Seconds a PROGRAM/IMPORT{program} may run. */
  timeout: number;
}

export type ToWorker = { type: 'event'; seq: number; action: string; devpath: string; properties: Record<string, string> } | { type: 'reload' };
export type FromWorker =
  | { type: 'done'; seq: number; id: string; outcome: Outcome }
  | { type: 'failed'; seq: number; error: string }
  | { type: 'loaded'; files: number; rules: number; diagnostics: string[] };

const config = workerData as WorkerConfig;
const db = new DeviceDb(config.runDir);
let rules: Compiled;

function load(): void {
  const r = loadRules(config.rulesDirs);
  rules = compileRules(r.rules);
  post({ type: 'loaded', files: r.files.length, rules: r.rules.length, diagnostics: r.diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`) });
}

const post = (m: FromWorker) => parentPort!.postMessage(m);

parentPort!.on('message', (m: ToWorker) => {
  if (m.type === 'reload') return load();
  try {
    const device = Device.fromUevent({ devpath: m.devpath, properties: m.properties });
    const id = deviceId(device);
    const outcome = evaluate(rules, device, m.action, { db, timeout: config.timeout });
    post({ type: 'done', seq: m.seq, id, outcome });
  } catch (e) {
    post({ type: 'failed', seq: m.seq, error: (e as Error).message });
  }
});

load();
