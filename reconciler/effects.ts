import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AnyActorRef } from 'xstate';
import type { ExitInfo, ProcRole } from '../machines/types.js';
import type { Command, KillMode, ServiceConfig } from '../specs/types.js';
import type { Daemon, Unit } from './daemon.js';
import { DirectoryError, directoryRoots, prepareDirectories, removeRuntime, removesRuntime } from './directories.js';
import { readEnvironmentFile } from './envfile.js';
import { killUnit, signalGroup, signalProcess, type Signal } from './kill.js';
import { LoggedFifo, OutputFifo, type Stream } from './output.js';
import type { NotifyMessage } from './notify.js';
import { isAlive, lineageOf, sessionOf, startTime, unitMembers, unitProcesses, type UnitProcess } from './proc.js';
import { afterSpawns, spawnProcess } from './spawn.js';
import { closeFd, pidfdOpen, pollReadable, type PollWatch } from './sys.js';
import { enterCgroup, limitsOf, unitCgroups, type UnitCgroups } from './unit-cgroups.js';
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

/**
 * An effect a unit's machine asked for, from the request until it has done its work (a spawn until its SPAWNED or
 * SPAWN_FAILED, a PID file read until its PIDFILE). It is saved with the unit's snapshot (Daemon.actorRow): the
 * state that asked for it is saved before it runs, so a core that dies in between leaves it to the next (adopt()).
 */
export type Requested =
  | { effect: 'spawn'; params: SpawnParams; token: string }
  | { effect: 'kill'; params: KillParams }
  | { effect: 'readPidFile'; params: { path: string } };
type Request<E extends Requested['effect']> = Extract<Requested, { effect: E }>;

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
  private outputs = new Map<string, Record<Stream, LoggedFifo>>();
  /** The NotifyFd= FIFO of each unit that has one, held by its main process the same way. */
  private readies = new Map<string, OutputFifo>();
  /** Removed units whose FIFOs go once the daemon has forgotten them. */
  private leaving = new Set<string>();
  /** Each unit's effects under way (Requested). */
  private requested = new Map<Unit, Requested[]>();
  /** Set by a takeover: the dead core's process groups are then found on first need (foundOf). */
  private tookOver = false;
  /** After a takeover, the units' processes as one /proc scan found them, by unit. */
  private found: Map<string, UnitProcess[]> | null = null;
  /** The sub-state track() last saw of each unit: a service's run ends when that changes to rest (ended()). */
  private subs = new Map<string, string>();

  /** The fds a service's main process inherits from 3 on (a socket unit's, through reconciler/runtime.ts). */
  passedFds: (service: string) => { fd: number; name: string }[] = () => [];
  /** Cgroup kills under way, by unit: whenEmpty() waits for them. */
  private readonly killing = new Map<string, Promise<void>>();
  /** Each service's own cgroup (docs/cgroups.md), or why this manager has none. */
  readonly cgroups: UnitCgroups;
  /** The OOM-kill count of each unit's memory cgroup when its main process was spawned. */
  private ooms = new Map<string, number | null>();
  /** The same count as last polled (checkOoms): an OOM kill of any process of the unit. */
  private oomSeen = new Map<string, number | null>();
  private oomPoll: NodeJS.Timeout | null = null;

  constructor(private d: Daemon) {
    this.cgroups = unitCgroups(d.paths.dir);
  }

  /** Implementations for machine.provide(), shared by every actor: `self` names the unit. */
  actions() {
    const unit = (self: AnyActorRef) => this.d.unitOf(self);
    // Each effect runs once the state that asked for it is durable (Daemon.defer), so a new core knows it may
    // have happened.
    return {
      spawn: ({ self }: { self: AnyActorRef }, params: SpawnParams) => {
        const u = unit(self);
        // The token marks every process of this spawn: a core that took over finds them by it.
        const r = this.request(u, { effect: 'spawn', params, token: newToken() });
        this.d.defer(() => this.spawn(u, r));
      },
      kill: ({ self }: { self: AnyActorRef }, params: KillParams) => {
        const u = unit(self);
        const r = this.request(u, { effect: 'kill', params });
        this.d.defer(() => {
          this.done(u, r);
          this.kill(u, params);
        });
      },
      readPidFile: ({ self }: { self: AnyActorRef }, params: { path: string }) => {
        const u = unit(self);
        const r = this.request(u, { effect: 'readPidFile', params });
        this.d.defer(() => this.readPidFile(u, r));
      },
    };
  }

  private request<R extends Requested>(u: Unit, r: R): R {
    const list = this.requested.get(u);
    if (list) list.push(r);
    else this.requested.set(u, [r]);
    return r;
  }

  private done(u: Unit, r: Requested): void {
    const list = this.requested.get(u)?.filter((x) => x !== r);
    if (list?.length) this.requested.set(u, list);
    else this.requested.delete(u);
  }

  /** The unit's effects under way, for its row in the state (Daemon.actorRow). */
  requestedOf(u: Unit): Requested[] | undefined {
    return this.requested.get(u);
  }

  private spawn(u: Unit, r: Request<'spawn'>): void {
    // A stop's last cgroup kill may still be under way when the unit has already moved on (final-sigterm ends as
    // soon as main and control are gone): the new process waits for it, or it would be signalled too.
    const killing = this.killing.get(u.name);
    if (killing) return void killing.then(() => this.spawn(u, r));
    const p = r.params;
    const cfg = u.spec.config as ServiceConfig;
    const fail = (error: string, code?: number) => {
      this.d.note(`${u.name}: failed to run ${p.phase} command ${p.command.path}: ${error}`);
      setImmediate(() => {
        this.done(u, r);
        this.d.send(u, { type: 'SPAWN_FAILED', role: p.role, error, code });
      });
    };
    let handle: ReturnType<typeof spawnProcess>;
    try {
      const user = cfg.User || cfg.Group ? resolveUser(cfg.User, cfg.Group) : null;
      // Before every command, as systemd does: each one finds them, whatever removed them meanwhile.
      const dirs = prepareDirectories(cfg, this.roots(), user);
      const env = { ...this.environment(u, cfg, user, dirs), SYSMASTER_SPAWN: r.token };
      const cwd = workingDirectory(u, cfg, user?.home);
      const cg = this.cgroups.cgroups;
      if (cg) {
        // Idempotent: every command finds its cgroup and the limits as the spec now says.
        cg.create(u.name);
        cg.setLimits(u.name, limitsOf(cfg));
        if (p.role === 'main') this.countOoms(u);
      }
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
        // Like systemd, only the main command gets them.
        passFds: p.role === 'main' ? this.passedFds(u.name) : undefined,
        notifyFd: p.role === 'main' && cfg.NotifyFd > 0 ? { fd: cfg.NotifyFd, fifo: this.readyOf(u) } : undefined,
        cgroup: cg ? enterCgroup(cg, u.name, cfg, p.phase, user) : undefined,
      });
    } catch (err) {
      return fail((err as Error).message, err instanceof DirectoryError ? err.status : undefined);
    }
    handle.spawned.then(
      (pid) => {
        this.done(u, r);
        this.sessions.set(pid, u);
        this.groupsOf(u).add(pid);
        this.d.send(u, { type: 'SPAWNED', role: p.role, pid });
      },
      (err: Error) => fail(err.message),
    );
    handle.exited.then(
      (info) => {
        if (handle.pid) this.sessions.delete(handle.pid);
        const oom = p.role === 'main' && info.signal === 'SIGKILL' && this.oomKilled(u);
        this.whenEmpty(u, () => this.d.send(u, { type: 'EXIT', ...info, ...(oom && { oom }) }));
      },
      () => {}, // a spawn failure already arrived through `spawned`
    );
  }

  /** From now on, an OOM kill in the unit's cgroup is the unit's: at its main process's spawn, or a takeover. */
  private countOoms(u: Unit): void {
    const cg = this.cgroups.cgroups;
    if (!cg) return;
    const kills = cg.oomKills(u.name);
    this.ooms.set(u.name, kills);
    this.oomSeen.set(u.name, kills);
    this.oomPoll ??= setInterval(() => this.checkOoms(), OOM_POLL_MS).unref();
  }

  /**
   * OOMPolicy=: a unit's memory cgroup that counted another OOM kill, of whichever of its processes, tells its
   * machine (polled: the v1 memory controller has no file to watch, only an eventfd per cgroup).
   */
  private checkOoms(): void {
    const cg = this.cgroups.cgroups;
    if (!cg) return;
    for (const u of this.d.units.values()) {
      const seen = this.oomSeen.get(u.name);
      if (seen === undefined || seen === null || REST.includes(u.sub)) continue;
      const now = cg.oomKills(u.name);
      if (now === null || now <= seen) continue;
      this.oomSeen.set(u.name, now);
      const policy = (u.spec.config as ServiceConfig).OOMPolicy;
      this.d.note(`${u.name}: the OOM killer killed ${now - seen} of its processes (OOMPolicy=${policy})`);
      this.d.send(u, { type: 'OOM' });
    }
  }

  /** The unit's memory cgroup counted an OOM kill since its main process was spawned. */
  private oomKilled(u: Unit): boolean {
    const before = this.ooms.get(u.name);
    const now = this.cgroups.cgroups?.oomKills(u.name) ?? null;
    return before !== undefined && before !== null && now !== null && now > before;
  }

  /**
   * While KillMode=control-group stops the unit, an exit counts once the unit's cgroup is empty: the machine then
   * waits (and escalates to SIGKILL at TimeoutStopSec=) for every process, escaped ones included, not just ours.
   */
  private whenEmpty(u: Unit, then: () => void): void {
    // A cgroup kill still under way (it freezes first, and waits for that) must end before the unit can move on:
    // the next run's first process would be in the cgroup it is signalling.
    const killing = this.killing.get(u.name);
    if (killing) return void killing.then(() => this.whenEmpty(u, then));
    const cg = this.cgroups.cgroups;
    const cfg = u.spec.config as ServiceConfig;
    if (!cg || cfg.KillMode !== 'control-group' || !STOPPING.includes(u.sub) || !cg.pids(u.name).length) return then();
    setTimeout(() => this.whenEmpty(u, then), 20);
  }

  /**
   * KillMode= over the unit's process groups. Leftovers outlive the main process (a shell's background jobs), so
   * control-group signals every group we started for the unit; mixed sends its SIGKILL there too, and once main
   * and control are gone the machine's final SIGTERM becomes that SIGKILL at once, as systemd's final-sigkill.
   * `reach` says which pids and process groups it may signal (a kill a dead core asked for: see adopt()).
   */
  private kill(u: Unit, p: KillParams, only?: (id: number) => boolean): void {
    const reach = only ?? (() => true);
    const final = p.mainPid === null && p.controlPid === null;
    const spread = p.mode === 'control-group' || (p.mode === 'mixed' && (p.signal === 'SIGKILL' || final));
    const signal = p.mode === 'mixed' && final ? 'SIGKILL' : p.signal;
    // The groups the dead core started were in its memory only.
    if (spread && this.tookOver) this.foundOf(u);
    const groups = this.groupsOf(u);
    const pick = (pid: number | null) => (pid !== null && reach(pid) ? pid : null);
    const [mainPid, controlPid] = [pick(p.mainPid), pick(p.controlPid)];
    const cg = this.cgroups.cgroups;
    // A kill a dead core asked for may reach only some processes: a later spawn's share the cgroup (adopt()).
    if (cg && spread && !only) {
      // Everything in the unit's cgroup, whatever left its process group or session; then a main or control
      // process outside it (MAINPID= naming another process), once.
      this.killCgroup(u, signal, (hit) => {
        for (const pid of [mainPid, controlPid]) if (pid !== null && !hit.includes(pid)) signalProcess(pid, signal);
      });
      if (p.mode === 'control-group') return;
    }
    try {
      killUnit({ ...p, mainPid, controlPid });
      // The rest of the groups: control-group's kill already signalled the main and control groups (once is all a
      // service's SIGTERM handler should see).
      const signalled = p.mode === 'control-group' ? [mainPid, controlPid] : [];
      if (spread) for (const g of groups) if (reach(g) && !signalled.includes(g) && !signalGroup(g, signal)) groups.delete(g);
    } catch (err) {
      this.d.note(`${u.name}: ${(err as Error).message}`);
    }
  }

  /**
   * Cgroups.killAll, remembered in `killing` until it is over: it freezes first and waits for that, and meanwhile
   * neither an exit may count (whenEmpty) nor a new process of the unit start (spawn): it would be in the cgroup
   * being signalled.
   */
  private killCgroup(u: Unit, signal: Signal, then: (hit: number[]) => void = () => {}): void {
    const cg = this.cgroups.cgroups!;
    const before = this.killing.get(u.name) ?? Promise.resolve();
    const killing: Promise<void> = before
      .then(() => cg.killAll(u.name, signal))
      .then(then, (err: Error) => this.d.note(`${u.name}: ${err.message}`));
    this.killing.set(u.name, killing);
    void killing.then(() => this.killing.get(u.name) === killing && this.killing.delete(u.name));
  }

  /**
   * STATE_DIR/io/<unit>.stdout and .stderr. Every process of the unit writes the same FIFO, so a line is the unit's:
   * it is recorded with the unit's main pid.
   */
  private outputOf(u: Unit): Record<Stream, LoggedFifo> {
    let o = this.outputs.get(u.name);
    if (o) return o;
    const fifo = (stream: Stream) => new LoggedFifo(fifoPath(this.d, u.name, stream), () => this.d.logs.watch(u.name, [stream]));
    o = { stdout: fifo('stdout'), stderr: fifo('stderr') };
    this.outputs.set(u.name, o);
    return o;
  }

  /**
   * STATE_DIR/io/<unit>.ready, the FIFO of NotifyFd=: a newline on it is READY=1 from the main process. One written
   * while no core ran waits in it for the next core (listen()).
   */
  private readyOf(u: Unit): OutputFifo {
    let f = this.readies.get(u.name);
    if (!f) this.readies.set(u.name, (f = new OutputFifo(fifoPath(this.d, u.name, 'ready'), (_, newline) => newline && this.ready(u.name))));
    return f;
  }

  private ready(name: string): void {
    // From a main process whose off-thread spawn has not reported its pid yet: once it has.
    if (afterSpawns(() => this.ready(name))) return;
    const u = this.d.units.get(name);
    if (u) this.d.send(u, { type: 'NOTIFY', pid: pidOf(this.d.context(u).mainPid) ?? 0, fields: { READY: '1' } });
  }

  /**
   * A core taking over: the log process (maybe a new one) reads on what the unit's processes write, what waited
   * meanwhile first; the core reads its NotifyFd= FIFO.
   */
  private listen(u: Unit): void {
    const cfg = u.spec.config as ServiceConfig;
    const streams = (['stdout', 'stderr'] as const).filter((s) => cfg[s === 'stdout' ? 'StandardOutput' : 'StandardError']?.kind === 'journal');
    if (streams.length) this.d.logs.watch(u.name, streams);
    if (!(cfg.NotifyFd > 0)) return;
    try {
      void this.readyOf(u).listen();
    } catch (err) {
      this.d.note(`${u.name}: cannot read its NotifyFd=${cfg.NotifyFd}: ${(err as Error).message}`);
    }
  }

  /**
   * A restart reuses a unit's FIFOs; a unit gone for good takes them along. Daemon.forget() releases the unit's
   * pids through track() just before it drops the unit, so whether it was forgotten is known only once that call
   * has returned. The log process reads the FIFOs to their end first: the last lines of the unit's processes are still its.
   */
  private leave(u: Unit): void {
    if (this.leaving.has(u.name)) return;
    this.leaving.add(u.name);
    setImmediate(() => {
      this.leaving.delete(u.name);
      if (this.d.units.has(u.name)) return;
      for (const f of Object.values(this.outputs.get(u.name) ?? {})) f.close();
      this.outputs.delete(u.name);
      this.readies.delete(u.name);
      this.subs.delete(u.name);
      // The log process reads its FIFOs to the end, then removes them.
      this.d.logs.forget(u.name);
      fs.rmSync(fifoPath(this.d, u.name, 'ready'), { force: true });
    });
  }

  private groupsOf(u: Unit): Set<number> {
    let g = this.groups.get(u.name);
    if (!g) this.groups.set(u.name, (g = new Set()));
    return g;
  }

  /** `dirs`: RUNTIME_DIRECTORY and the rest, which Environment= may override, as in systemd. */
  private environment(
    u: Unit,
    cfg: ServiceConfig,
    user: { name: string; home: string; shell: string } | null,
    dirs: Record<string, string>,
  ): Record<string, string> {
    const env: Record<string, string> = {};
    for (const k of PASSED_ENV) if (this.d.env[k] !== undefined) env[k] = this.d.env[k]!;
    if (!env.PATH) env.PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    // Absent from the [manager] settings a core older than the key saved in its state file.
    Object.assign(env, this.d.manager?.DefaultEnvironment);
    if (user) Object.assign(env, { USER: user.name, LOGNAME: user.name, HOME: user.home, SHELL: user.shell });
    const main = this.d.context(u).mainPid;
    if (typeof main === 'number') env.MAINPID = String(main);
    Object.assign(env, dirs);
    // systemd.exec(5): settings from EnvironmentFile= override those of Environment=.
    Object.assign(env, cfg.Environment);
    for (const f of cfg.EnvironmentFile) Object.assign(env, readEnvironmentFile(f.path, f.optional));
    // How a new core finds a process whose spawn it cannot know finished (Effects.adopt).
    env.SYSMASTER_UNIT = u.name;
    return env;
  }

  /** Type=forking: the daemon writes its PID file shortly after the start process exits, so look a few times. */
  private readPidFile(u: Unit, r: Request<'readPidFile'>, tries = 50): void {
    let pid: number | null = null;
    try {
      const n = Number.parseInt(fs.readFileSync(r.params.path, 'utf8').trim(), 10);
      if (n > 0 && isAlive(n)) pid = n;
    } catch {
      /* not written yet */
    }
    if (pid === null && tries > 0) {
      setTimeout(() => this.readPidFile(u, r, tries - 1), 100);
      return;
    }
    this.done(u, r);
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
  notify(msg: Pick<NotifyMessage, 'pid' | 'fields'> & Partial<Pick<NotifyMessage, 'lineage'>>): void {
    // systemd-notify's BARRIER=1 only asks us to read what came before; its fd is already closed.
    if (Object.keys(msg.fields).every((k) => k === 'BARRIER')) return;
    const hit = this.senderOf(msg.pid, msg.lineage);
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
    // Lines read while the main process is being spawned wait for its pid in the log process.
    this.d.logs.main(u.name, main, main === null && this.spawningMain(u));
    this.ended(u);
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

  /**
   * A run of the service has ended (it came to rest: dead, failed, or waiting to restart): its RuntimeDirectory= goes,
   * as RuntimeDirectoryPreserve= says. Only a change seen here counts: a unit first seen at rest (a new core, a new
   * spec) keeps whatever is there, which another program may be using.
   */
  private ended(u: Unit): void {
    const was = this.subs.get(u.name);
    this.subs.set(u.name, u.sub);
    if (was === undefined || was === u.sub || !REST.includes(u.sub)) return;
    // What the run wrote is read to its end; a last line without a newline is a line.
    this.d.logs.end(u.name);
    // A restart job (its stop phase just ended) or a start queued meanwhile brings the unit back.
    const restarting = this.d.engine.jobs().some((j) => j.unit === u.name && (j.type === 'start' || j.type === 'restart'));
    // Not when the unit comes back: the next run's first process would land in a cgroup being emptied by SIGKILL.
    if (u.sub !== 'auto-restart' && !restarting) this.emptyCgroup(u);
    // Only services have it.
    const cfg = u.spec.config as ServiceConfig;
    if (!cfg.RuntimeDirectory?.length) return;
    if (!removesRuntime(cfg.RuntimeDirectoryPreserve, u.sub, restarting)) return;
    for (const why of removeRuntime(cfg, this.roots())) this.d.note(`${u.name}: cannot remove RuntimeDirectory= ${why}`);
  }

  /**
   * A run that has ended leaves no cgroup behind: with KillMode=control-group what its main process left running
   * gets SIGKILL first (systemd stops it too); with the other modes a non-empty cgroup stays, as in systemd.
   */
  private emptyCgroup(u: Unit, tries = 50): void {
    const cg = this.cgroups.cgroups;
    // Started again meanwhile: the cgroup is the new run's, neither to be killed nor removed.
    if (!cg || !REST.includes(u.sub)) return;
    const left = cg.pids(u.name);
    if (left.length) {
      if ((u.spec.config as ServiceConfig).KillMode !== 'control-group' || tries <= 0) return;
      if (tries === 50) this.killCgroup(u, 'SIGKILL');
      setTimeout(() => this.emptyCgroup(u, tries - 1), 20);
      return;
    }
    try {
      cg.remove(u.name);
    } catch (err) {
      this.d.note(`${u.name}: ${(err as Error).message}`);
    }
  }

  private roots() {
    return directoryRoots(process.getuid?.() ?? 0, this.d.env);
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
   * on from their FIFOs, and what its saved state had asked for is done again when it may not have happened
   * (docs/recovery.md): a spawn happened if processes carry its token, else it runs now; a kill is sent again; a PID
   * file is read again. Returns the pids the state names that are gone (or are now another process).
   */
  adopt(u: Unit, starts: Record<string, string>, requested: Requested[] = []): number[] {
    this.tookOver = true;
    const ctx = this.d.context(u);
    let live = false;
    const gone: number[] = [];
    const verified = new Set<number>();
    for (const role of ['main', 'control'] as const) {
      const pid = pidOf(ctx[`${role}Pid`]);
      if (pid === null) continue;
      const alive = isAlive(pid, starts[role] ?? null);
      if (!alive) gone.push(pid);
      if (!starts[role]) continue;
      this.starts.set(pid, starts[role]);
      this.sessions.set(pid, u);
      if (alive) verified.add(pid);
      live ||= alive;
    }
    const spawning = ctx.spawning as Record<ProcRole, boolean> | undefined;
    for (const role of ['main', 'control'] as const) {
      const saved = requested.find((r): r is Request<'spawn'> => r.effect === 'spawn' && r.params.role === role);
      if (!saved && !spawning?.[role]) continue;
      const pid = this.spawnedBy(u, saved?.token ?? null);
      if (pid !== null) {
        // Some process of it lives. If the spawned one has ended, its exit comes from init, or it is reported lost.
        live = true;
        if (!isAlive(pid)) gone.push(pid);
        this.sessions.set(pid, u);
        this.d.send(u, { type: 'SPAWNED', role, pid });
        continue;
      }
      if (!spawning?.[role]) continue;
      // It never ran, or all of it has ended already (docs/recovery.md, Limits): it runs now, under the same token.
      if (saved) this.spawn(u, this.request(u, saved));
      else {
        const command = (role === 'main' ? (ctx.mainCommand ?? (u.spec.config as ServiceConfig).ExecStart[0]) : ctx.controlCommand) as Command | null;
        const params = { role, phase: String(ctx.phase ?? role) };
        if (command) this.spawn(u, this.request(u, { effect: 'spawn', params: { ...params, command }, token: newToken() }));
      }
    }
    for (const [i, r] of requested.entries()) {
      if (r.effect === 'readPidFile') this.readPidFile(u, this.request(u, r));
      if (r.effect !== 'kill') continue;
      // Its pids may be gone (a reused pid is not the unit's), and a spawn asked for after it (a restart's start)
      // started after it: its processes are not what the kill was for.
      const found = this.foundOf(u);
      const later = new Set(requested.slice(i + 1).flatMap((x) => (x.effect === 'spawn' ? [x.token] : [])));
      const skip = new Set(found.filter((p) => p.spawn !== null && later.has(p.spawn)).flatMap((p) => [p.pid, p.group]));
      const reach = new Set([...verified, ...found.flatMap((p) => [p.pid, p.group])].filter((id) => !skip.has(id)));
      this.kill(u, r.params, (id) => reach.has(id));
    }
    if (live) {
      this.listen(u);
      this.countOoms(u);
    }
    return gone;
  }

  /**
   * The pid a spawn of `u` started, found by its token: the spawned process led its own session, which its
   * descendants keep, so the first of them to have started is that process or is in its session. Without a token
   * (a state saved by a core that gave none): the processes of the unit outside its main and control processes'
   * sessions. Null when none lives.
   */
  private spawnedBy(u: Unit, token: string | null): number | null {
    const ctx = this.d.context(u);
    const sessionOfPid = (pid: number | null) => (pid === null ? null : (sessionOf(pid) ?? pid));
    const known = new Set([sessionOfPid(pidOf(ctx.mainPid)), sessionOfPid(pidOf(ctx.controlPid))]);
    const procs = this.foundOf(u).filter((p) => (token === null ? !known.has(p.session) : p.spawn === token));
    if (!procs.length) return null;
    return procs.reduce((a, b) => (b.start < a.start ? b : a)).session;
  }

  /**
   * After a takeover, the unit's live processes, from one /proc scan for all units made when first needed (not per
   * unit: a takeover of hundreds of units stays fast), and from each unit's cgroup where it has one. It also gives
   * each unit back the process groups the dead core had started, which were in its memory only. The core is init's
   * child, and every service is below init.
   */
  private foundOf(u: Unit): UnitProcess[] {
    if (!this.found) {
      const scanned = new Map<string, UnitProcess[]>();
      for (const p of unitProcesses(process.ppid)) {
        const list = scanned.get(p.unit);
        if (list) list.push(p);
        else scanned.set(p.unit, [p]);
      }
      // A unit with a cgroup: its members, a stronger check than the environment a process may change.
      const cg = this.cgroups.cgroups;
      this.found = new Map();
      for (const [name, owner] of this.d.units) {
        const list = unitMembers(name, scanned.get(name) ?? [], cg?.has(name) ? cg.pids(name) : null);
        this.found.set(name, list);
        for (const p of list) this.groupsOf(owner).add(p.group);
      }
    }
    return this.found.get(u.name) ?? [];
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

  /** `seen`: the sender's parent and session when init read its datagram (it may have exited since). */
  private senderOf(pid: number, seen: NotifyMessage['lineage'] = null): { u: Unit; relation: 'main' | 'main-child' | 'control' | 'session' } | null {
    const own = this.owners.get(pid);
    if (own) return { u: own.u, relation: own.role };
    const now = seen ?? lineageOf(pid);
    const up = now ? this.owners.get(now.parent) : undefined;
    if (up) return { u: up.u, relation: up.role === 'main' ? 'main-child' : 'control' };
    const sid = now?.session ?? null;
    const u = sid !== null ? this.sessions.get(sid) : undefined;
    return u ? { u, relation: 'session' } : null;
  }
}

/** How often the units' OOM kill counts are read (checkOoms). */
const OOM_POLL_MS = 250;

function fifoPath(d: Daemon, unit: string, stream: Stream | 'ready'): string {
  return path.join(d.paths.dir, 'io', `${unit}.${stream}`);
}

function workingDirectory(u: Unit, cfg: ServiceConfig, home: string | undefined): string | undefined {
  const wd = cfg.WorkingDirectory;
  if (!wd) return undefined;
  if (wd === '~' || wd.startsWith('~/')) return path.join(home ?? process.env.HOME ?? '/', wd.slice(1));
  return path.resolve(path.dirname(u.spec.where.file), wd);
}

const pidOf = (v: unknown): number | null => (typeof v === 'number' && v > 0 ? v : null);
/** The service's sub-states at rest, where a run has ended (systemd's service_enter_dead()). */
const REST = ['dead', 'failed', 'auto-restart'];
/** Where the service waits for its processes to die after a stop signal. */
const STOPPING = ['stop-sigterm', 'stop-sigkill', 'final-sigterm', 'final-sigkill'];
/** What marks the processes of one spawn (SYSMASTER_SPAWN). */
const newToken = () => randomBytes(8).toString('hex');
