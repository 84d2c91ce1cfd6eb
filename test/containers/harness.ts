// Runs the image sysmaster:dev (containers/build.sh, `npm run image`) with testcontainers 11.14, and with the docker
// CLI where that is simpler: availability, exit codes, removal. Tests skip, with the reason, when no engine answers or
// the image is not built; see docs/containers.md.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Test } from 'tap';
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import type { Run } from '../integration/harness.js';

export const image = process.env.SYSMASTER_IMAGE || 'sysmaster:dev';
/** On every container these tests start, so leftovers can be found: `docker ps -a --filter label=org.sysmaster.test`. */
export const label = 'org.sysmaster.test';

// testcontainers reads these when it first talks to the engine. Ryuk (its reaper) is an image that cannot be pulled
// here, and this VM's /.dockerenv makes testcontainers look for the engine's address as if from inside a container.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

/** The docker CLI, run to completion; `code` is null when it could not run or timed out. */
export function docker(args: string[], timeoutMs = 60_000): Promise<Run> {
  return run('docker', args, timeoutMs);
}

/** A command run to completion; `code` is null when it could not run or timed out. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) => (stderr += err.message));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let unavailable: string | null | undefined;

/** Why container tests cannot run here, or null when they can. */
export function containersUnavailable(): string | null {
  if (unavailable !== undefined) return unavailable;
  const firstLine = (s: string) => s.trim().split('\n')[0];
  const engine = spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: 20_000 });
  if (engine.error) unavailable = `no docker CLI: ${engine.error.message}`;
  else if (engine.status !== 0) unavailable = `no container engine answers: ${firstLine(engine.stderr)}`;
  else {
    const img = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { encoding: 'utf8', timeout: 20_000 });
    unavailable = img.status === 0 ? null : `image ${image} is not built (npm run image): ${firstLine(img.stderr)}`;
  }
  return unavailable;
}

/** GenericContainer plus what its builder lacks. */
class SysmasterContainer extends GenericContainer {
  withReadOnlyRootfs(): this {
    this.hostConfig.ReadonlyRootfs = true;
    return this;
  }
}

export interface StartOptions {
  /** sysmaster-init's arguments: its options, then `-- CMD ARGS...`. */
  args?: string[];
  /** A spec's text, mounted read-only over /etc/sysmaster/system.toml. Default: the image's example spec. */
  spec?: string;
  env?: Record<string, string>;
  /** `--user`, e.g. "65534:65534". */
  user?: string;
  /** `--read-only`, with the tmpfs mounts docs/containers.md asks for: /run and /tmp. */
  readOnly?: boolean;
  /** `--cap-drop`, e.g. ["ALL"]. */
  capDrop?: string[];
}

/** Start the image; the container is removed by `t`'s teardown whatever happens. */
export async function start(t: Test, o: StartOptions = {}): Promise<Box> {
  // The engine runs on this machine, so a host file can be bind-mounted; copying into a read-only root cannot work.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-ctr-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const c = new SysmasterContainer(image)
    // testcontainers still pulls an image that is missing; containersUnavailable() skips the tests before that.
    .withPullPolicy({ shouldPull: () => false })
    .withLabels({ [label]: t.fullname })
    .withCommand(o.args ?? [])
    .withEnvironment(o.env ?? {});
  if (o.spec !== undefined) {
    fs.writeFileSync(path.join(dir, 'system.toml'), o.spec, { mode: 0o644 });
    c.withBindMounts([{ source: path.join(dir, 'system.toml'), target: '/etc/sysmaster/system.toml', mode: 'ro' }]);
  }
  if (o.user) c.withUser(o.user);
  if (o.readOnly) c.withReadOnlyRootfs().withTmpFs({ '/run': 'rw', '/tmp': 'rw' });
  if (o.capDrop) c.withDroppedCapabilities(...o.capDrop);
  const started = await c.start();
  const box = new Box(started, await started.logs());
  t.teardown(() => box.remove());
  return box;
}

/** One running container of the image. */
export class Box {
  /** Everything the container wrote to stdout and stderr so far (`docker logs`). */
  output = '';

  constructor(
    readonly container: StartedTestContainer,
    private readonly log: Readable,
  ) {
    log.on('data', (d) => (this.output += d));
    log.on('error', () => {}); // the stream ends with an error when the container is removed
  }

  get id(): string {
    return this.container.getId();
  }

  /** `docker exec`, as the container's user unless `user` is given. */
  async exec(cmd: string[], user?: string): Promise<Run> {
    const r = await this.container.exec(cmd, user ? { user } : {});
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  }

  sctl(...args: string[]): Promise<Run> {
    return this.exec(['sctl', ...args]);
  }

  async json<T>(...args: string[]): Promise<T> {
    const r = await this.sctl('-o', 'json', ...args);
    if (r.code !== 0 && r.code !== 3) throw new Error(`sctl ${args.join(' ')} exited ${r.code}: ${r.stderr}\n${this.output}`);
    return JSON.parse(r.stdout) as T;
  }

  /** Resolves once the first apply has finished (the core logs its summary line). */
  ready(timeoutMs = 60_000): Promise<void> {
    return this.waitFor(/all \d+ jobs done|started with failures/, timeoutMs);
  }

  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<void> {
    try {
      await eventually(async () => re.test(this.output), `${re} in the container's output`, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; it wrote:\n${this.output}`);
    }
  }

  /** `docker stop -t SEC` (SIGTERM, SIGKILL after SEC seconds; Docker's default is 10), then the exit code. */
  async stop(timeoutSec = 10): Promise<number> {
    const r = await docker(['stop', '-t', String(timeoutSec), this.id], (timeoutSec + 30) * 1000);
    if (r.code !== 0) throw new Error(`docker stop: ${r.stderr}`);
    return this.exited();
  }

  /** Waits for the container to end by itself (`docker wait`) and gives its exit code (128+n for signal n). */
  async exited(timeoutMs = 60_000): Promise<number> {
    const r = await docker(['wait', this.id], timeoutMs);
    if (r.code !== 0) throw new Error(`docker wait: ${r.code === null ? 'timed out' : r.stderr}\n${this.output}`);
    return Number(r.stdout.trim());
  }

  /** exited(), and then `output` holds the whole log: the log stream can lag behind `docker wait`. */
  async ended(timeoutMs = 60_000): Promise<number> {
    const code = await this.exited(timeoutMs);
    await this.waitFor(/^sysmaster-init: exiting with code \d+$/m);
    return code;
  }

  async remove(): Promise<void> {
    this.log.destroy();
    await docker(['rm', '-f', '-v', this.id]);
  }
}

/** Polls `check` until it gives something truthy; throws with `what` after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
