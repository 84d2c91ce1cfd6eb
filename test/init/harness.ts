// Runs the real sysmaster-init (built into dist/ by `npm test`) with test/init/fixtures/fake-core.mjs as its core, as a
// subreaper of the test or as PID 1 of a new PID namespace, and reads what the fake cores saw.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { descendants } from '../../init/killall.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const initBin = path.join(root, 'bin', 'sysmaster-init.js');
const fakeCore = path.join(root, 'test', 'init', 'fixtures', 'fake-core.mjs');

/** One line of the fake cores' events.jsonl; `core` is the pid of the core that wrote it. */
export interface Event {
  ev: string;
  core: number;
  at: number;
  [field: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface InitOptions {
  args?: string[];
  /** FAKE_MODE flags (see fake-core.mjs). */
  modes?: string[];
  env?: Record<string, string>;
  /** Run as PID 1 of a new PID namespace (unshare). */
  pid1?: boolean;
}

/** Why PID 1 tests cannot run here, or null when they can. */
export function pid1Unavailable(): string | null {
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' });
  if (r.error) return `unshare: ${r.error.message}`;
  return r.status === 0 ? null : `unshare --pid --fork --mount-proc fails: ${r.stderr.trim()}`;
}

/** The process state letter from /proc/PID/stat ('Z' for a zombie), or null when there is no such process. */
export function procState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

type Maybe<T> = T | undefined | null | false;

/** Alive and not a zombie. */
export function running(pid: number): boolean {
  const state = procState(pid);
  return state !== null && state !== 'Z';
}

export async function until<T>(check: () => Maybe<T>, what: string, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class Init {
  readonly dir: string;
  readonly stateDir: string;
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(t: Test, private readonly o: InitOptions = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-init-'));
    this.stateDir = path.join(this.dir, 'state');
    // NODE_OPTIONS carries tap's loader: init and its cores do not need it.
    const { NODE_OPTIONS: _, ...env } = process.env;
    const args = ['--state-dir', this.stateDir, '--core', fakeCore, ...(o.args ?? [])];
    const [cmd, argv] = o.pid1 ? ['unshare', ['--pid', '--fork', '--mount-proc', initBin, ...args]] : [initBin, args];
    this.child = spawn(cmd, argv, {
      env: { ...env, FAKE_DIR: this.dir, FAKE_MODE: (o.modes ?? []).join(','), ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    // 'close', not 'exit': by then all of init's output has been read.
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
    t.teardown(() => this.destroy());
  }

  /** init's pid as this test sees it: in PID 1 mode, unshare's child. */
  get pid(): number {
    if (!this.o.pid1) return this.child.pid!;
    const [pid] = descendants(this.child.pid!);
    if (!pid) throw new Error('unshare has not forked init yet');
    return pid;
  }

  events(): Event[] {
    let text = '';
    try {
      text = fs.readFileSync(path.join(this.dir, 'events.jsonl'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Event);
  }

  /** Polls events.jsonl until `check` returns something; a timeout error shows init's output. */
  async waitFor<T>(check: (evs: Event[]) => Maybe<T>, what: string, timeoutMs = 10_000): Promise<T> {
    try {
      return await until(() => check(this.events()), what, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- init output:\n${this.output}`);
    }
  }

  /** Events after core `after` started (all of them without `after`). */
  private since(evs: Event[], after?: number): Event[] {
    return after === undefined ? evs : evs.slice(evs.findIndex((e) => e.ev === 'start' && e.core === after) + 1);
  }

  /** The pid of the first core started after core `after` (any core without it). */
  started(after?: number): Promise<number> {
    return this.waitFor((evs) => this.since(evs, after).find((e) => e.ev === 'start')?.core, 'a new core');
  }

  /** The pid of the first core started after core `after` that has sent ready. */
  ready(after?: number): Promise<number> {
    const ready = (evs: Event[]) => this.since(evs, after).find((e) => e.ev === 'ready' && e.core !== after)?.core;
    return this.waitFor(ready, 'a ready core');
  }

  hold(on: boolean, file = 'hold'): void {
    if (on) fs.writeFileSync(path.join(this.dir, file), '');
    else fs.rmSync(path.join(this.dir, file), { force: true });
  }

  /** One request to the control socket; the fake core answers one JSON line. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ask(req: Record<string, unknown>, timeoutMs = 10_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path.join(this.stateDir, 'control.sock'));
      let buf = '';
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no answer to ${JSON.stringify(req)}\n--- init output:\n${this.output}`));
      }, timeoutMs);
      s.on('connect', () => s.write(`${JSON.stringify(req)}\n`));
      s.on('data', (d) => (buf += d));
      s.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      s.on('end', () => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(buf));
        } catch {
          reject(new Error(`bad answer to ${JSON.stringify(req)}: ${JSON.stringify(buf)}`));
        }
      });
    });
  }

  /** Kills init and everything under it, however the test ended. */
  async destroy(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      for (const pid of descendants(this.child.pid!)) kill(pid);
      kill(this.child.pid!);
      await this.exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
