import type { AnyActorRef } from 'xstate';
import type { ActiveState } from '../machines/types.js';
import type { UnitCommon, UnitSpec } from '../specs/types.js';

/**
 * What a unit type's effects may see and do of the running core (reconciler/daemon.ts implements it). A type's
 * machine stays pure: its actions are implemented with this, and results go back to it as events through send().
 */
export interface UnitRuntime {
  /** The name of the unit an actor belongs to: the `self` an action gets. */
  nameOf(self: AnyActorRef): string;
  /** The definition in force of a unit, or undefined when there is none. */
  config(name: string): UnitCommon | undefined;
  /** The whole definition in force (to make an instance of a template), or undefined. */
  spec(name: string): UnitSpec | undefined;
  /** A unit's public state, or undefined when there is none. */
  state(name: string): { active: ActiveState; sub: string; since: number } | undefined;
  /** A unit's machine context (its snapshot's), or undefined. */
  context(name: string): Record<string, unknown> | undefined;
  /** An event for a unit's machine; the time of the event (`now`) is added. Ignored when the unit is gone. */
  send(name: string, event: { type: string; [k: string]: unknown }): void;
  /** Run `fn` once the state that asked for it is durable: a core that dies before leaves it to the next (adopt). */
  defer(fn: () => void): void;
  /**
   * Start `name` on behalf of `by` (systemd's Triggers=: a socket's service, a timer's unit), in a transaction of
   * its own. `done` gets whether the start job succeeded.
   */
  trigger(by: string, name: string, done?: (ok: boolean) => void): void;
  /** Called on every public state change of every unit. Returns the unsubscriber. */
  onChange(fn: (name: string, active: ActiveState) => void): () => void;
  /**
   * Run a unit no spec defines (a mount found in mountinfo, an Accept=yes instance). plan() and apply leave it
   * alone; it is forgotten once `removeTransient` names it and it is inactive.
   */
  addTransient(spec: UnitSpec): void;
  removeTransient(name: string): void;
  /**
   * Descriptors that must outlive this core (listening sockets): kept in init's fd store under `name`. `take`
   * returns what an earlier core stored (each name once), `keep` stores, `drop` closes the stored copies.
   */
  fds: {
    take(name: string): number[] | undefined;
    keep(name: string, fds: number[]): void;
    drop(name: string): void;
  };
  /** Offer fds to the processes of services (LISTEN_FDS): `provider(service)` lists them with their names. */
  passFds(provider: (service: string) => { fd: number; name: string }[]): void;
  note(message: string): void;
  now(): number;
  /**
   * The machine's boot and this manager's start (its sysmaster-init's: a core that replaced a dead one does not start
   * it again), in ms since the epoch by the wall clock now: what OnBootSec= and OnStartupSec= count from.
   */
  clocks(): { boot: number; startup: number };
  /** The manager's environment. */
  readonly env: NodeJS.ProcessEnv;
  /** This instance's state directory. */
  readonly stateDir: string;
}

/** Action implementations for machine.provide(): what the type's statechart names in its actions. */
export type TypeActions = Record<string, (args: { self: AnyActorRef }, params: never) => void>;

/** A type's effects, made once per core with its runtime. */
export interface TypeEffects {
  actions: TypeActions;
  /**
   * A core took over: re-create what the unit's state holds outside the core (an inotify watch, a poll on a
   * listening socket), from its restored context.
   */
  adopt?(name: string, context: Record<string, unknown>): void;
  /** The unit is gone or starts over from a new definition: release what actions or adopt made for it. */
  release?(name: string): void;
  /**
   * The core is up, after any takeover's adopt() calls: follow what the type tracks beyond its units' actions (the
   * mount table, whose mounts become units).
   */
  start?(): void;
}
