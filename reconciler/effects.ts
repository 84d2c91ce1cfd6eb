import fs from 'node:fs';
import path from 'node:path';
import type { AnyActorRef } from 'xstate';
import type { ExitInfo, ProcRole } from '../machines/types.js';
import type { Command, KillMode, ServiceConfig } from '../specs/types.js';
import type { Daemon, Unit } from './daemon.js';
import { readEnvironmentFile } from './envfile.js';
import { killUnit, signalGroup } from './kill.js';
import type { LogLine } from './logs.js';
import { OutputFifo, type Stream } from './output.js';
import { isAlive, parentOf, processesOf, sessionOf, startTime } from './proc.js';
import { afterSpawns, spawnProcess } from './spawn.js';
import { closeFd, pidfdOpen, pollReadable, type PollWatch } from './sys.js';
import { resolveUser } from './users.js';

interface SpawnParams {
  role: ProcRole;
  command: Command;
  phase: string;
}
interface KillParams {
  signal: string;
  mainPid: number | null;
  controlPid: number | null;
  mode: KillMode;
}

/** What the manager passes on from its own environment, as systemd passes a small fixed set. */
const PASSED_ENV = ['PATH', 'LANG', 'LANGUAGE', 'TZ', 'TERM', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR', 'XDG_RUNTIME_DIR'];

/**
 * The machines' injected effects (spawn, kill, readPidFile) and the routing of what processes send back
 * (exit statuses, sd_notify messages) to the unit that owns them.
 */
export class Effects {
  /** The main and control pids of every unit, as its machine last said (kept by track()). */
  private owners = new Map<number, { u: Unit; role: ProcRole }>();
  private tracked = new Map<string, { main: number | null; control: number | null }>();
  /** Start times (/proc) of tracked pids: a pid that was reused after a death is not ours. */
  private starts = new Map<number, string>();
  /** pidfd watches on main processes that are not our children. */
  private watches = new Map<number, { fd: number; watch: PollWatch }>();
  /** Sessions we created (each spawned process leads one), for NotifyAccess=all. */
  private sessions = new Map<number, Unit>();
  /** Process groups started for each unit that may still have members: the unit's "control group" until cgroups. */
  private groups = new Map<string, Set<number>>();
  /** The journal FIFOs of each unit (output.ts): its processes hold them, so they outlive a core. */
  private outputs = new Map<string, Record<Stream, OutputFifo>>();
  /** Output read before the unit's main pid was known, by unit. */
  private early = new Map<string, LogLine[]>();
  /** Removed units whose FIFOs go once the daemon has forgotten them. */
  private leaving = new Set<string>();

  constructor(private d: Daemon) {}

  /** Implementations for machine.provide(), shared by every actor: `self` names the unit. */
  actions() {
    const unit = (self: AnyActorRef) => this.d.unitOf(self);
    // Each effect runs once the state that asked for it is durable (Daemon.defer), so a new core knows it may
    // have happened.
    return {
      spawn: ({ self }: { self: AnyActorRef }, p: SpawnParams) => {
        const u = unit(self);
        this.d.defer(() => this.spawn(u, p));
      },
      kill: ({ self }: { self: AnyActorRef }, p: KillParams) => {
        const u = unit(self);
        this.d.defer(() => this.kill(u, p));
      },
      readPidFile: ({ self }: { self: AnyActorRef }, p: { path: string }) => {
        const u = unit(self);
        this.d.defer(() => this.readPidFile(u, p.path));
      },
    };
  }

  private spawn(u: Unit, p: SpawnParams): void {
    const cfg = u.spec.config as ServiceConfig;
    const fail = (error: string) => {
      this.d.note(`${u.name}: failed to run ${p.phase} command ${p.command.path}: ${error}`);
      setImmediate(() => this.d.send(u, { type: 'SPAWN_FAILED', role: p.role, error }));
    };
    let handle: ReturnType<typeof spawnProcess>;
    try {
      const user = cfg.User || cfg.Group ? resolveUser(cfg.User, cfg.Group) : null;
      const env = this.environment(u, cfg, user);
      const cwd = workingDirectory(u, cfg, user?.home);
      handle = spawnProcess({
        argv: p.command.argv,
        env,
        cwd,
        uid: user?.uid,
        gid: user?.gid,
        groups: user?.groups,
        stdout: cfg.StandardOutput,
        stderr: cfg.StandardError,
        // The core may die at any instant, so it must not hold the only reader of a service's output
        // (docs/recovery.md): FIFOs the service holds open itself.
        fifos: this.outputOf(u),
        notifySocket: cfg.NotifyAccess !== 'none' || cfg.Type === 'notify' ? this.d.paths.notify : undefined,
      });
    } catch (err) {
      return fail((err as Error).message);
    }
    handle.spawned.then(
      (pid) => {
        this.sessions.set(pid, u);
        this.groupsOf(u).add(pid);
        this.d.send(u, { type: 'SPAWNED', role: p.role, pid });
      },
      (err: Error) => fail(err.message),
    );
    handle.exited.then(
      (info) => {
        if (handle.pid) this.sessions.delete(handle.pid);
        this.d.send(u, { type: 'EXIT', ...info });
      },
      () => {}, // a spawn failure already arrived through `spawned`
    );
  }

  /**
   * KillMode= over the unit's process groups. Leftovers outlive the main process (a shell's background jobs), so
   * control-group signals every group we started for the unit; mixed sends its SIGKILL there too, and once main
   * and control are gone the machine's final SIGTERM becomes that SIGKILL at once, as systemd's final-sigkill.
   */
  private kill(u: Unit, p: KillParams): void {
    const groups = this.groupsOf(u);
    const final = p.mainPid === null && p.controlPid === null;
    const spread = p.mode === 'control-group' || (p.mode === 'mixed' && (p.signal === 'SIGKILL' || final));
    const signal = p.mode === 'mixed' && final ? 'SIGKILL' : p.signal;
    try {
      killUnit(p);
      if (spread) for (const g of groups) if (!signalGroup(g, signal)) groups.delete(g);
    } catch (err) {
      this.d.note(`${u.name}: ${(err as Error).message}`);
    }
  }

  /**
   * STATE_DIR/io/<unit>.stdout and .stderr. Every process of the unit writes the same FIFO, so a line is the unit's:
   * it is recorded with the unit's main pid.
   */
  private outputOf(u: Unit): Record<Stream, OutputFifo> {
    let o = this.outputs.get(u.name);
    if (o) return o;
    const fifo = (stream: Stream) =>
      new OutputFifo(fifoPath(this.d, u.name, stream), (message) => {
        const record: LogLine = { time: this.d.now(), unit: u.name, pid: null, stream, message };
        // The first lines may come before the spawn has reported the pid: they wait for it (release()).
        const early = this.early.get(u.name);
        if (early || this.spawningMain(u)) return void (early ? early.push(record) : this.early.set(u.name, [record]));
        this.d.logs.add({ ...record, pid: pidOf(this.d.context(u).mainPid) });
      });
    o = { stdout: fifo('stdout'), stderr: fifo('stderr') };
    this.outputs.set(u.name, o);
    return o;
  }

  /** A core taking over reads on what the unit's running processes write (and what waited meanwhile). */
  private listen(u: Unit): void {
    const cfg = u.spec.config as ServiceConfig;
    const o = this.outputOf(u);
    for (const [stream, target] of [['stdout', cfg.StandardOutput], ['stderr', cfg.StandardError]] as const) {
      if (target?.kind !== 'journal') continue;
      try {
        void o[stream].listen();
      } catch (err) {
        this.d.note(`${u.name}: cannot read its ${stream}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * A restart reuses a unit's FIFOs; a unit gone for good takes them along. Daemon.forget() releases the unit's
   * pids through track() just before it drops the unit, so whether it was forgotten is known only once that call
   * has returned. An open reader reads on to EOF: the last lines of the unit's processes are still its.
   */
  private leave(u: Unit): void {
    if (this.leaving.has(u.name)) return;
    this.leaving.add(u.name);
    setImmediate(() => {
      this.leaving.delete(u.name);
      if (this.d.units.has(u.name)) return;
      this.outputs.delete(u.name);
      for (const stream of ['stdout', 'stderr'] as const) fs.rmSync(fifoPath(this.d, u.name, stream), { force: true });
    });
  }

  private groupsOf(u: Unit): Set<number> {
    let g = this.groups.get(u.name);
    if (!g) this.groups.set(u.name, (g = new Set()));
    return g;
  }

  private environment(u: Unit, cfg: ServiceConfig, user: { name: string; home: string; shell: string } | null): Record<string, string> {
    const env: Record<string, string> = {};
    for (const k of PASSED_ENV) if (this.d.env[k] !== undefined) env[k] = this.d.env[k]!;
    if (!env.PATH) env.PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    if (user) Object.assign(env, { USER: user.name, LOGNAME: user.name, HOME: user.home, SHELL: user.shell });
    const main = this.d.context(u).mainPid;
    if (typeof main === 'number') env.MAINPID = String(main);
    for (const f of cfg.EnvironmentFile) Object.assign(env, readEnvironmentFile(f.path, f.optional));
    Object.assign(env, cfg.Environment);
    // How a new core finds a process whose spawn it cannot know finished (Effects.adopt).
    env.SYSMASTER_UNIT = u.name;
    return env;
  }

  /** Type=forking: the daemon writes its PID file shortly after the start process exits, so look a few times. */
  private readPidFile(u: Unit, file: string, tries = 50): void {
    let pid: number | null = null;
    try {
      const n = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
      if (n > 0 && isAlive(n)) pid = n;
    } catch {
      /* not written yet */
    }
    if (pid === null && tries > 0) {
      setTimeout(() => this.readPidFile(u, file, tries - 1), 100);
      return;
    }
    this.d.send(u, { type: 'PIDFILE', pid });
  }

  /** An exit the reaper saw (a process that is not our direct child: forking daemons, MAINPID=). */
  reaped(info: ExitInfo): void {
    const owner = this.owners.get(info.pid);
    if (owner) this.d.send(owner.u, { type: 'EXIT', ...info });
  }

  /**
   * An sd_notify datagram: find its unit and check NotifyAccess. `main` also accepts a direct child of the main
   * process (systemd-notify or `sysmaster notify` run by it): unprivileged senders cannot claim their parent's pid.
   */
  notify(msg: { pid: number; fields: Record<string, string> }): void {
    // systemd-notify's BARRIER=1 only asks us to read what came before; its fd is already closed.
    if (Object.keys(msg.fields).every((k) => k === 'BARRIER')) return;
    const hit = this.senderOf(msg.pid);
    if (!hit) {
      // The sender may be a child whose off-thread spawn has not reported its pid yet.
      if (afterSpawns(() => this.notify(msg))) return;
      return this.d.note(`notify message from pid ${msg.pid} ignored: no unit owns it`);
    }
    const { u, relation } = hit;
    const cfg = u.spec.config as ServiceConfig;
    const allowed =
      cfg.NotifyAccess === 'all' ||
      (cfg.NotifyAccess === 'exec' && relation !== 'session') ||
      (cfg.NotifyAccess === 'main' && (relation === 'main' || relation === 'main-child'));
    if (!allowed) {
      return this.d.note(`${u.name}: notify message from pid ${msg.pid} ignored (NotifyAccess=${cfg.NotifyAccess})`);
    }
    this.d.send(u, { type: 'NOTIFY', pid: msg.pid, fields: msg.fields });
  }

  /** Keep the pid index in step with a unit's machine (called on every snapshot; cheap when nothing moved). */
  track(u: Unit, main: number | null, control: number | null): void {
    this.release(u, main);
    if (u.removed && main === null && control === null) this.leave(u);
    const was = this.tracked.get(u.name);
    if (was && was.main === main && was.control === control) return;
    for (const pid of [was?.main, was?.control]) if (pid && this.owners.get(pid)?.u === u) this.owners.delete(pid);
    if (was?.main && was.main !== main) this.unwatch(was.main);
    for (const pid of [was?.main, was?.control]) if (pid && pid !== main && pid !== control) this.starts.delete(pid);
    for (const pid of [main, control]) if (pid && !this.starts.has(pid)) this.starts.set(pid, startTime(pid) ?? '');
    if (main) this.owners.set(main, { u, role: 'main' });
    if (control) this.owners.set(control, { u, role: 'control' });
    if (main && main !== was?.main && !this.sessions.has(main)) this.watch(u, main);
    this.tracked.set(u.name, { main, control });
  }

  /** Lines that came while the main process was being spawned are its: recorded once its pid is known. */
  private release(u: Unit, main: number | null): void {
    const early = this.early.get(u.name);
    if (!early || (main === null && this.spawningMain(u))) return;
    this.early.delete(u.name);
    for (const r of early) this.d.logs.add({ ...r, pid: main });
  }

  private spawningMain(u: Unit): boolean {
    const ctx = this.d.context(u) as { mainPid?: unknown; spawning?: { main: boolean } };
    return ctx.mainPid === null && ctx.spawning?.main === true;
  }

  /** The start times of a unit's main and control processes, for the state file. */
  startsOf(u: Unit): Record<string, string> {
    const t = this.tracked.get(u.name);
    const out: Record<string, string> = {};
    if (t?.main && this.starts.get(t.main)) out.main = this.starts.get(t.main)!;
    if (t?.control && this.starts.get(t.control)) out.control = this.starts.get(t.control)!;
    return out;
  }

  /**
   * A restored unit (a new core): its processes are ours again (they lead their own sessions), their output is read
   * on from their FIFOs, and a spawn its snapshot says was under way either happened — find the process by the unit
   * name in its environment — or is done now. Returns the recorded pids that are gone (or are now another process).
   */
  adopt(u: Unit, starts: Record<string, string>): number[] {
    const ctx = this.d.context(u);
    let live = false;
    const gone: number[] = [];
    for (const role of ['main', 'control'] as const) {
      const pid = pidOf(ctx[`${role}Pid`]);
      if (pid === null) continue;
      const alive = isAlive(pid, starts[role] ?? null);
      if (!alive) gone.push(pid);
      if (!starts[role]) continue;
      this.starts.set(pid, starts[role]);
      this.sessions.set(pid, u);
      live ||= alive;
    }
    const spawning = ctx.spawning as Record<ProcRole, boolean> | undefined;
    for (const role of ['main', 'control'] as const) {
      if (!spawning?.[role]) continue;
      const found = processesOf(u.name).find((pid) => pid !== ctx.mainPid && pid !== ctx.controlPid);
      if (found) {
        this.sessions.set(found, u);
        this.d.send(u, { type: 'SPAWNED', role, pid: found });
        live = true;
        continue;
      }
      const command = (role === 'main' ? (ctx.mainCommand ?? (u.spec.config as ServiceConfig).ExecStart[0]) : ctx.controlCommand) as Command | null;
      if (command) this.spawn(u, { role, command, phase: String(ctx.phase ?? role) });
    }
    if (live) this.listen(u);
    return gone;
  }

  /**
   * A main process we did not start (MAINPID=, PIDFile=) may have a parent that reaps it, and then no exit reaches
   * us: a pidfd says it is gone. If no exit status arrived meanwhile (from the reaper, when it was reparented to
   * us), it ended with a status we cannot know, reported as a clean exit.
   */
  private watch(u: Unit, pid: number): void {
    let fd: number | null;
    try {
      fd = pidfdOpen(pid);
    } catch (err) {
      return this.d.note(`${u.name}: cannot watch main process ${pid}: ${(err as Error).message}`);
    }
    if (fd === null) return;
    const watch = pollReadable(fd, () => {
      this.unwatch(pid);
      setTimeout(() => {
        if (this.owners.get(pid)?.u !== u || this.owners.get(pid)?.role !== 'main') return;
        this.d.note(`${u.name}: main process ${pid} exited; its status is unknown (another process reaped it)`);
        this.d.send(u, { type: 'EXIT', pid, code: 0, signal: null, core: false });
      }, 50);
    });
    this.watches.set(pid, { fd, watch });
  }

  private unwatch(pid: number): void {
    const w = this.watches.get(pid);
    if (!w) return;
    this.watches.delete(pid);
    w.watch.close();
    closeFd(w.fd);
  }

  private senderOf(pid: number): { u: Unit; relation: 'main' | 'main-child' | 'control' | 'session' } | null {
    const own = this.owners.get(pid);
    if (own) return { u: own.u, relation: own.role };
    const parent = parentOf(pid);
    const up = parent !== null ? this.owners.get(parent) : undefined;
    if (up) return { u: up.u, relation: up.role === 'main' ? 'main-child' : 'control' };
    const sid = sessionOf(pid);
    const u = sid !== null ? this.sessions.get(sid) : undefined;
    return u ? { u, relation: 'session' } : null;
  }
}

function fifoPath(d: Daemon, unit: string, stream: Stream): string {
  return path.join(d.paths.dir, 'io', `${unit}.${stream}`);
}

function workingDirectory(u: Unit, cfg: ServiceConfig, home: string | undefined): string | undefined {
  const wd = cfg.WorkingDirectory;
  if (!wd) return undefined;
  if (wd === '~' || wd.startsWith('~/')) return path.join(home ?? process.env.HOME ?? '/', wd.slice(1));
  return path.resolve(path.dirname(u.spec.where.file), wd);
}

const pidOf = (v: unknown): number | null => (typeof v === 'number' && v > 0 ? v : null);
