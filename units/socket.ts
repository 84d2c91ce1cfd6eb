// The socket row of the unit-type registry, and its effects: the listening fds (kept in init's fd store, so a
// connection made while no core runs waits in the kernel's backlog for the next), the poll that notices a
// connection, and the service or per-connection instance it starts.
import type { AnyMachineSnapshot, Snapshot } from 'xstate';
import { SOCKET_ACTIVE, socketMachine, type SocketState } from '../machines/socket.js';
import { socketKeys } from '../specs/keys/socket.js';
import { parseListen, type ListenAddress } from '../specs/listen.js';
import type { SocketConfig, UnitSpec } from '../specs/types.js';
import { acceptConnection, listenSocket, openFifo, removeFile, type SocketKind } from '../reconciler/net.js';
import { closeFd, pollReadable, type PollWatch } from '../reconciler/sys.js';
import { resolveUser } from '../reconciler/users.js';
import type { TypeEffects, UnitRuntime } from './runtime.js';
import type { UnitType } from './types.js';

function stateOf(snapshot: Snapshot<unknown>): SocketState {
  return (snapshot as AnyMachineSnapshot).value as SocketState;
}

export const socket: UnitType = {
  name: 'socket',
  keys: socketKeys,
  machine: socketMachine,
  activeState: (snapshot) => SOCKET_ACTIVE[stateOf(snapshot)],
  subState: stateOf,
  canReload: () => false,
  liveKeys: ['Description', 'TriggerLimitIntervalSec', 'TriggerLimitBurst', 'MaxConnections'],
  effects: socketEffects,
};

interface Listener {
  address: ListenAddress;
  kind: SocketKind | 'fifo';
  fd: number;
}

/** What an Accept=yes instance holds: its connection, until the instance is inactive. */
interface Connection {
  socket: string;
  fd: number;
}

const UP = new Set(['active', 'activating', 'reloading', 'deactivating']);

function socketEffects(rt: UnitRuntime): TypeEffects {
  const open = new Map<string, Listener[]>();
  const polls = new Map<string, PollWatch[]>();
  const connections = new Map<string, Connection>();
  const config = (name: string) => rt.config(name) as SocketConfig;

  /** Stored fds that no longer fit the socket: our copies and init's go. */
  const forget = (name: string, kept: number[]) => {
    kept.forEach(closeFd);
    rt.fds.drop(name);
  };
  const stopWatching = (name: string) => {
    for (const p of polls.get(name) ?? []) p.close();
    polls.delete(name);
  };
  const closeAll = (name: string, remove: boolean) => {
    stopWatching(name);
    for (const l of open.get(name) ?? []) {
      closeFd(l.fd);
      if (remove) removeFile(l.address);
    }
    open.delete(name);
    rt.fds.drop(name);
  };

  /** The socket's fds: those an earlier core kept in init's store, else new ones, kept there at once. */
  const openAll = (name: string) => {
    const c = config(name);
    const wanted = listeners(c);
    const kept = rt.fds.take(name);
    // init still holds its own copies of what it handed back.
    if (kept && kept.length === wanted.length) return void open.set(name, wanted.map((w, i) => ({ ...w, fd: kept[i] })));
    if (kept) forget(name, kept);
    const owner = c.SocketUser || c.SocketGroup ? resolveUser(c.SocketUser, c.SocketGroup) : null;
    const o = { backlog: c.Backlog, reusePort: c.ReusePort, mode: c.SocketMode, directoryMode: c.DirectoryMode, owner };
    const made: Listener[] = [];
    try {
      for (const w of wanted) {
        const fd = w.kind === 'fifo' ? openFifo((w.address as { path: string }).path, o) : listenSocket(w.address, w.kind, o);
        made.push({ ...w, fd });
      }
    } catch (err) {
      made.forEach((l) => closeFd(l.fd));
      throw err;
    }
    open.set(name, made);
    rt.fds.keep(name, made.map((l) => l.fd));
  };

  const watch = (name: string) => {
    if (polls.has(name)) return;
    const c = config(name);
    polls.set(
      name,
      (open.get(name) ?? []).map((l) =>
        pollReadable(l.fd, () => (c.Accept ? acceptAll(name, l.fd) : incoming(name))),
      ),
    );
  };

  // Accept=no: the service takes it from here; the poll stays off until it is down again.
  const incoming = (name: string) => {
    stopWatching(name);
    rt.send(name, { type: 'INCOMING' });
  };

  const acceptAll = (name: string, listener: number) => {
    const c = config(name);
    for (;;) {
      let conn;
      try {
        conn = acceptConnection(listener);
      } catch (err) {
        rt.note(`${name}: accept: ${(err as Error).message}`);
        return;
      }
      if (!conn) return;
      const ctx = rt.context(name) as { accepted: number; connections: number };
      if (ctx.connections >= c.MaxConnections) {
        rt.note(`${name}: too many connections (MaxConnections=${c.MaxConnections}), closing ${conn.remote}`);
        closeFd(conn.fd);
        continue;
      }
      const template = rt.spec(c.Service);
      if (!template) {
        closeFd(conn.fd);
        continue;
      }
      const instance = `${c.Service.replace(/@\.service$/, '')}@${ctx.accepted}-${conn.local}-${conn.remote}.service`;
      connections.set(instance, { socket: name, fd: conn.fd });
      rt.addTransient(instanceOf(template, instance, conn.env));
      rt.send(name, { type: 'ACCEPTED' });
      rt.trigger(name, instance);
    }
  };

  // The services' ups and downs move the sockets that start them.
  rt.onChange((unit, active) => {
    const owner = UP.has(active) ? null : (connections.get(unit)?.socket ?? ownerOf(unit));
    if (owner) {
      const conn = connections.get(unit);
      if (conn) closeFd(conn.fd);
      connections.delete(unit);
      rt.removeTransient(unit);
      rt.send(owner, { type: 'CLOSED' });
      return;
    }
    for (const name of open.keys()) {
      const c = config(name);
      if (c.Accept || c.Service !== unit) continue;
      rt.send(name, { type: UP.has(active) ? 'SERVICE_UP' : 'SERVICE_DOWN' });
    }
  });

  /** The Accept=yes socket of an instance an earlier core started (its connection went with that core). */
  const ownerOf = (unit: string): string | undefined => {
    const m = /^(.+)@\d+-/.exec(unit);
    if (!m || !rt.spec(unit)?.transient) return undefined;
    return [...open.keys()].find((s) => config(s).Accept && config(s).Service === `${m[1]}@.service`);
  };

  rt.passFds((service) => {
    const conn = connections.get(service);
    if (conn) return [{ fd: conn.fd, name: 'connection' }];
    const out: { fd: number; name: string }[] = [];
    for (const [name, ls] of open) {
      const c = config(name);
      if (!c.Accept && c.Service === service) out.push(...ls.map((l) => ({ fd: l.fd, name: c.FileDescriptorName })));
    }
    return out;
  });

  const opened = (name: string) =>
    rt.defer(() => {
      try {
        openAll(name);
        rt.send(name, { type: 'OPENED' });
      } catch (err) {
        rt.note(`${name}: cannot listen: ${(err as Error).message}`);
        rt.send(name, { type: 'OPEN_FAILED', error: (err as Error).message });
      }
    });

  return {
    actions: {
      open: ({ self }) => opened(rt.nameOf(self)),
      close: ({ self }) => {
        const name = rt.nameOf(self);
        rt.defer(() => closeAll(name, config(name).RemoveOnStop));
      },
      watch: ({ self }) => {
        const name = rt.nameOf(self);
        // Not if the socket moved on before this ran (a connection, a stop).
        rt.defer(() => rt.state(name)?.sub === 'listening' && watch(name));
      },
      unwatch: ({ self }) => stopWatching(rt.nameOf(self)),
      activate: ({ self }) => {
        const name = rt.nameOf(self);
        rt.defer(() => rt.trigger(name, config(name).Service));
      },
    },
    adopt(name) {
      const state = (rt.state(name)?.sub ?? 'dead') as SocketState;
      // Closed by a state the dead core saved before it could tell init.
      if (state === 'dead' || state === 'failed') {
        const kept = rt.fds.take(name);
        if (kept) forget(name, kept);
        return;
      }
      if (state === 'opening') return opened(name);
      try {
        openAll(name);
      } catch (err) {
        rt.note(`${name}: cannot listen again: ${(err as Error).message}`);
        rt.send(name, { type: 'OPEN_FAILED', error: (err as Error).message });
        return;
      }
      if (state === 'listening') watch(name);
      else if (!UP.has(rt.state(config(name).Service)?.active ?? 'inactive')) rt.send(name, { type: 'SERVICE_DOWN' });
    },
    release: (name) => closeAll(name, false),
  };
}

/** ListenStream=, ListenDatagram=, ListenSequentialPacket=, ListenFIFO=: the fds in LISTEN_FDS order. */
function listeners(c: SocketConfig): Omit<Listener, 'fd'>[] {
  return [
    ...c.ListenStream.map((t) => ({ address: parseListen(t), kind: 'stream' as const })),
    ...c.ListenDatagram.map((t) => ({ address: parseListen(t), kind: 'datagram' as const })),
    ...c.ListenSequentialPacket.map((t) => ({ address: parseListen(t), kind: 'seqpacket' as const })),
    ...c.ListenFIFO.map((t) => ({ address: parseListen(t), kind: 'fifo' as const })),
  ];
}

/** An Accept=yes connection's instance of the template service, with systemd's REMOTE_ADDR and REMOTE_PORT. */
function instanceOf(template: UnitSpec, name: string, env: Record<string, string>): UnitSpec {
  const config = structuredClone(template.config) as unknown as Record<string, unknown>;
  config.Environment = { ...(config.Environment as Record<string, string>), ...env };
  config.Description = `${template.config.Description} (${name})`;
  return { ...template, name, config: config as unknown as UnitSpec['config'], transient: true };
}
