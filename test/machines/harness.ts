// Runs the service machine the way the runtime does: fake effects over a fake process table, and a simulated
// clock that sends TIMEOUT when context.deadline is due. Commands are tiny programs named by their path:
//   true, false, exit:N, signal:SIGSEGV, core:SIGABRT   end as soon as they are spawned
//   daemon (or any other path)                          runs until a signal kills it
//   stubborn                                            ignores every signal but SIGKILL
//   immortal                                            ignores every signal (a process stuck in D state)
//   missing                                             exec fails: SPAWN_FAILED
import { createActor, type Actor } from 'xstate';
import {
  SERVICE_ACTIVE,
  serviceMachine,
  type KillParams,
  type ServiceContext,
  type ServiceState,
  type SpawnParams,
} from '../../machines/service.js';
import type { ProcRole } from '../../machines/types.js';
import type { Command, ServiceConfig } from '../../specs/types.js';
import { unitCommon } from '../fixtures/units.js';

export function cmd(path: string, ignoreFailure = false): Command {
  return { path, argv: [path], ignoreFailure };
}

export function serviceConfig(over: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    ...unitCommon(),
    Type: 'simple',
    ExecStartPre: [],
    ExecStart: [cmd('daemon')],
    ExecStartPost: [],
    ExecReload: [],
    ExecStop: [],
    ExecStopPost: [],
    Restart: 'no',
    RestartSec: 100,
    RestartPreventExitStatus: { codes: [], signals: [] },
    SuccessExitStatus: { codes: [], signals: [] },
    StartLimitIntervalSec: 10_000,
    StartLimitBurst: 5,
    TimeoutStartSec: 90_000,
    TimeoutStopSec: 90_000,
    KillMode: 'control-group',
    OOMPolicy: 'stop',
    KillSignal: 'SIGTERM',
    SendSIGKILL: true,
    RemainAfterExit: false,
    PIDFile: null,
    User: null,
    Group: null,
    WorkingDirectory: null,
    Environment: {},
    EnvironmentFile: [],
    StandardOutput: { kind: 'journal' },
    StandardError: { kind: 'journal' },
    WatchdogSec: 0,
    NotifyAccess: 'none',
    NotifyFd: 0,
    RuntimeDirectory: [],
    RuntimeDirectoryMode: 0o755,
    StateDirectory: [],
    StateDirectoryMode: 0o755,
    CacheDirectory: [],
    CacheDirectoryMode: 0o755,
    LogsDirectory: [],
    LogsDirectoryMode: 0o755,
    ConfigurationDirectory: [],
    ConfigurationDirectoryMode: 0o755,
    RuntimeDirectoryPreserve: 'no',
    ...over,
  };
}

export interface Proc {
  pid: number;
  role: ProcRole;
  phase: string;
  program: string;
  alive: boolean;
  /** Signals it received, in order. */
  signals: string[];
}

interface End {
  code: number | null;
  signal: string | null;
  core?: boolean;
}

/** How a program ends on its own right after it starts, or null when it keeps running. */
function ownEnd(program: string): End | null {
  if (program === 'true') return { code: 0, signal: null };
  if (program === 'false') return { code: 1, signal: null };
  const [kind, arg] = program.split(':');
  if (kind === 'exit') return { code: Number(arg), signal: null };
  if (kind === 'signal') return { code: null, signal: arg };
  if (kind === 'core') return { code: null, signal: arg, core: true };
  return null;
}

function diesOf(program: string, signal: string): boolean {
  if (program === 'immortal') return false;
  if (program === 'stubborn') return signal === 'SIGKILL';
  return true;
}

export class Sim {
  now: number;
  readonly actor: Actor<typeof serviceMachine>;
  readonly procs: Proc[] = [];
  readonly kills: KillParams[] = [];
  readonly pidFileReads: string[] = [];
  /** What the next readPidFile finds: a pid, 'daemon' for a fresh daemon process, or null. */
  pidFile: number | 'daemon' | null = 'daemon';
  private nextPid = 100;
  private spawnQueue: SpawnParams[] = [];
  private doomed: { proc: Proc; end: End }[] = [];
  private pidFileQueue = 0;

  constructor(config: Partial<ServiceConfig> = {}, now = 1_000) {
    this.now = now;
    const machine = serviceMachine.provide({
      actions: {
        spawn: (_, p) => void this.spawnQueue.push(p),
        kill: (_, p) => this.kill(p),
        readPidFile: (_, p) => {
          this.pidFileReads.push(p.path);
          this.pidFileQueue++;
        },
      },
    });
    this.actor = createActor(machine, { input: { config: serviceConfig(config), now } });
    this.actor.start();
  }

  get state(): ServiceState {
    return this.actor.getSnapshot().value as ServiceState;
  }
  get active() {
    return SERVICE_ACTIVE[this.state];
  }
  get ctx(): ServiceContext {
    return this.actor.getSnapshot().context;
  }
  get alive(): Proc[] {
    return this.procs.filter((p) => p.alive);
  }
  /** Programs spawned so far, in order, as `phase:program`. */
  get spawned(): string[] {
    return this.procs.map((p) => `${p.phase}:${p.program}`);
  }
  proc(role: ProcRole): Proc {
    const pid = role === 'main' ? this.ctx.mainPid : this.ctx.controlPid;
    const p = this.procs.find((q) => q.pid === pid);
    if (!p) throw new Error(`no ${role} process`);
    return p;
  }

  /** Send one event as it is, without letting the process table answer. */
  send(event: Record<string, unknown> & { type: string }): this {
    this.actor.send({ ...event, now: this.now } as never);
    return this;
  }

  /** Send an event, then let the process table answer until nothing more happens. */
  do(type: 'START' | 'STOP' | 'RELOAD' | 'RESET_FAILED'): this {
    return this.send({ type }).settle();
  }

  notify(fields: Record<string, string>, pid = this.ctx.mainPid ?? 0): this {
    return this.send({ type: 'NOTIFY', pid, fields }).settle();
  }

  /** The process of `role` ends now. */
  exit(role: ProcRole, end: End): this {
    const p = this.proc(role);
    p.alive = false;
    return this.send({ type: 'EXIT', pid: p.pid, code: end.code, signal: end.signal, core: end.core ?? false }).settle();
  }

  /** Move the clock, delivering every TIMEOUT that falls due on the way at its own time. */
  advance(ms: number): this {
    const until = this.now + ms;
    for (let d = this.ctx.deadline; d !== null && d <= until; d = this.ctx.deadline) {
      this.now = Math.max(this.now, d);
      this.send({ type: 'TIMEOUT' }).settle();
    }
    this.now = until;
    return this;
  }

  /** Jump to the pending deadline and deliver its TIMEOUT. */
  fire(): this {
    const d = this.ctx.deadline;
    if (d === null) throw new Error(`no deadline in ${this.state}`);
    return this.advance(d - this.now);
  }

  /** Answer pending spawns, PID file reads and deaths, until the machine asks for nothing more. */
  settle(): this {
    for (let round = 0; round < 1_000; round++) {
      const spawn = this.spawnQueue.shift();
      if (spawn) {
        this.answerSpawn(spawn);
        continue;
      }
      const death = this.doomed.shift();
      if (death) {
        if (!death.proc.alive) continue;
        death.proc.alive = false;
        const { code, signal, core = false } = death.end;
        this.send({ type: 'EXIT', pid: death.proc.pid, code, signal, core });
        continue;
      }
      if (this.pidFileQueue > 0) {
        this.pidFileQueue--;
        this.send({ type: 'PIDFILE', pid: this.pidFile === 'daemon' ? this.start('main', 'daemon', 'PIDFile').pid : this.pidFile });
        continue;
      }
      return this;
    }
    throw new Error('the machine did not settle');
  }

  private start(role: ProcRole, program: string, phase: string): Proc {
    const p: Proc = { pid: this.nextPid++, role, phase, program, alive: true, signals: [] };
    this.procs.push(p);
    return p;
  }

  private answerSpawn(s: SpawnParams): void {
    if (s.command.path === 'missing') {
      this.send({ type: 'SPAWN_FAILED', role: s.role, error: 'ENOENT' });
      return;
    }
    const p = this.start(s.role, s.command.path, s.phase);
    this.send({ type: 'SPAWNED', role: s.role, pid: p.pid });
    const end = ownEnd(p.program);
    if (end) this.doomed.push({ proc: p, end });
  }

  private kill(k: KillParams): void {
    this.kills.push(k);
    if (k.mode === 'none') return;
    for (const pid of [k.mainPid, k.controlPid]) {
      const p = this.procs.find((q) => q.pid === pid && q.alive);
      if (!p) continue;
      p.signals.push(k.signal);
      if (diesOf(p.program, k.signal)) this.doomed.push({ proc: p, end: { code: null, signal: k.signal } });
    }
  }
}
