// Runs the real CLIs (built into dist/ by `npm test`) against real processes in a temp state directory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { call } from '../../reconciler/client.js';

// From test/integration under tap, or dist/test/integration when a benchmark imports the compiled harness.
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..').replace(/\/dist$/, '');
export const bin = (name: string) => path.join(root, 'bin', `${name}.js`);

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A scratch directory removed by the caller's teardown. */
export function scratch(prefix = 'sm-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Run a CLI to completion (async so the test's own event loop keeps serving). */
export function cli(name: 'sctl' | 'sysmaster' | 'devctl', args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin(name), ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function cliSync(name: 'sctl' | 'sysmaster' | 'devctl', args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [bin(name), ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A `sysmaster up` running in the background on its own state directory. */
export class Up {
  readonly child: ChildProcess;
  output = '';
  private exitP: Promise<number | null>;

  constructor(
    readonly spec: string,
    readonly stateDir: string,
    extraArgs: string[] = [],
    /**
     * `viaEnv`: pick the state directory with SYSMASTER_STATE_DIR instead of --state-dir. `init`: run the spec under
     * sysmaster-init (a replaceable core, with the same console output as `up`) instead of `sysmaster up`. `under`:
     * a command that execs it (`unshare -m`: a mount namespace of its own).
     */
    opts: { viaEnv?: boolean; init?: boolean; under?: string[] } = {},
  ) {
    const where = opts.viaEnv ? [] : ['--state-dir', stateDir];
    const [command, args] = opts.init
      ? [bin('sysmaster-init'), [...where, '--spec', spec, ...extraArgs]]
      : [bin('sysmaster'), [...where, 'up', spec, ...extraArgs]];
    const [file, ...argv] = [...(opts.under ?? []), command, ...args];
    this.child = spawn(file, argv, {
      env: {
        ...process.env,
        NO_COLOR: '1',
        ...(opts.viaEnv ? { SYSMASTER_STATE_DIR: stateDir } : {}),
        ...(opts.init ? { SYSMASTER_UP: 'prefix' } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d) => (this.output += d));
    this.child.stderr!.on('data', (d) => (this.output += d));
    this.exitP = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  /** Resolves once the initial apply has finished (its summary line is printed). */
  ready(timeoutMs = 60_000): Promise<void> {
    return this.waitFor(/all \d+ jobs done|started with failures/, timeoutMs);
  }

  waitFor(re: RegExp, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      const tick = () => {
        if (re.test(this.output)) return resolve();
        if (this.child.exitCode !== null) return reject(new Error(`sysmaster up exited ${this.child.exitCode}:\n${this.output}`));
        if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${re}:\n${this.output}`));
        setTimeout(tick, 25);
      };
      tick();
    });
  }

  /** The core's pid (under sysmaster-init, a child of `up`). */
  corePid(): number {
    return Number(fs.readFileSync(path.join(this.stateDir, 'core.pid'), 'utf8'));
  }

  /**
   * Under sysmaster-init: SIGSTOP the core, run `during` (what happens then happens while no core serves), SIGKILL
   * it, and wait until init's next core has taken over.
   */
  async killCore(during: () => Promise<void>): Promise<void> {
    const core = this.corePid();
    process.kill(core, 'SIGSTOP');
    await during();
    process.kill(core, 'SIGKILL');
    for (let i = 0; i < 200 && (this.corePid() === core || !/took over/.test(this.output.split(`${core}`).pop() ?? '')); i++) await sleep(25);
  }

  sctl(...args: string[]): Promise<Run> {
    return cli('sctl', ['--state-dir', this.stateDir, ...args]);
  }

  async json<T>(...args: string[]): Promise<T> {
    const r = await this.sctl('-o', 'json', ...args);
    if (r.code !== 0 && r.code !== 3) throw new Error(`sctl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** One control-socket call, without starting a CLI: for observing state around the command under test. */
  call<T>(method: string, params: object = {}): Promise<T> {
    return call(path.join(this.stateDir, 'control.sock'), method, params) as Promise<T>;
  }

  /** Like until(), over the socket: cheap enough to poll tightly. */
  async prop(unit: string, prop: string, ok: (v: string) => boolean, timeoutMs = 20_000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const v = (await this.call<Record<string, string>>('show', { unit }))[prop] ?? '';
      if (ok(v)) return v;
      if (Date.now() - t0 > timeoutMs) throw new Error(`${unit} ${prop} stayed ${JSON.stringify(v)}:\n${this.output}`);
      await sleep(20);
    }
  }

  /** Poll a unit property until it satisfies `ok`. */
  async until(unit: string, prop: string, ok: (v: string) => boolean, timeoutMs = 20_000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const r = await this.sctl('show', unit, '-p', prop, '--value');
      const v = r.stdout.trim();
      if (ok(v)) return v;
      if (Date.now() - t0 > timeoutMs) throw new Error(`${unit} ${prop} stayed ${JSON.stringify(v)}:\n${this.output}`);
      await sleep(50);
    }
  }

  /** SIGTERM and wait for the orderly exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exitP;
  }

  exited(): Promise<number | null> {
    return this.exitP;
  }

  /** The exit code, or 'running' when `up` is still running after `timeoutMs`. */
  exitedWithin(timeoutMs: number): Promise<number | null | 'running'> {
    // unref: a pending timer must not hold the test process open after `up` has exited
    const late = new Promise<'running'>((r) => setTimeout(() => r('running'), timeoutMs).unref());
    return Promise.race([this.exitP, late]);
  }
}

let markers = 0;
/** A sleep duration unique to this test process, so its payloads can be told from every other process. */
export function marker(): string {
  return `36${String(process.pid).padStart(7, '0')}.${++markers}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pids of live processes whose command line contains `marker` (to find strays). */
export function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (cmd.includes(marker) && !/\) Z /.test(stat)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

export function writeSpec(dir: string, text: string, name = 'spec.toml'): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}
