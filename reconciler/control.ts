import net from 'node:net';
import { peerCred } from './sys.js';
import { ControlError, MAX_REQUEST, type Reply, type Request } from './protocol.js';

/** What a method handler gets besides its params. */
export interface CallContext {
  /** Send a progress or stream event for this request. */
  emit(event: unknown): void;
  /** Aborted when the client goes away: long calls (logs -f, apply) stop listening. */
  signal: AbortSignal;
}

export type Handler = (params: Record<string, unknown>, ctx: CallContext) => Promise<unknown> | unknown;

/** A partial request that makes no progress for this long is dropped, so half-open clients cannot pin memory. */
const IDLE_MS = 30_000;

/**
 * The control socket server. It parses lines, dispatches to handlers and turns every failure into an error reply:
 * nothing a client sends can throw out of here.
 */
export class ControlServer {
  private server: net.Server;
  private conns = new Set<net.Socket>();

  /**
   * `admit` sees each client's credentials (SO_PEERCRED) and says whether it may talk to the core; a refused client
   * gets one EPERM reply and is disconnected.
   */
  constructor(
    private handlers: Record<string, Handler>,
    private admit: (peer: { pid: number; uid: number; gid: number } | null) => string | null = () => null,
  ) {
    this.server = net.createServer((sock) => this.serve(sock));
  }

  /** Stop listening and drop every client: a follower (`sctl logs -f`) would otherwise hold the close forever. */
  /**
   * Serve a listening socket init created and holds (fd inherited): clients that connected while no core ran are
   * waiting in its backlog. The backlog must be the second argument on Node 20 (PLATFORM.md).
   */
  adopt(fd: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      const listen = this.server.listen.bind(this.server) as (handle: object, backlog: number, cb: () => void) => void;
      listen({ fd }, 1024, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const sock of this.conns) sock.destroy();
    return closed;
  }

  private serve(sock: net.Socket): void {
    let buf = '';
    let hungUp = false;
    const aborter = new AbortController();
    const write = (reply: Reply) => {
      if (sock.writable) sock.write(JSON.stringify(reply) + '\n');
    };
    // The last word on a connection: whatever the client sends afterwards is dropped, never run. It is still read,
    // so a client busy writing can finish and read the reply; one that never stops is cut off.
    const hangUp = (code: string, message: string) => {
      write({ id: null, error: { code, message } });
      hungUp = true;
      buf = '';
      sock.end();
      setTimeout(() => sock.destroy(), IDLE_MS).unref();
    };
    this.conns.add(sock);
    sock.setEncoding('utf8');
    sock.setTimeout(IDLE_MS, () => {
      if (buf.length > 0) hangUp('ETIMEDOUT', 'incomplete request: no newline within 30 s');
    });
    sock.on('error', () => aborter.abort());
    sock.on('close', () => {
      this.conns.delete(sock);
      aborter.abort();
    });
    const refusal = this.admit(credentials(sock));
    if (refusal) return hangUp('EPERM', refusal);
    sock.on('data', (chunk: string) => {
      if (hungUp) return;
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        // checked per line too: a long line whose newline arrives in the same chunk is still too long
        if (line.length > MAX_REQUEST) return hangUp('ETOOBIG', `request longer than ${MAX_REQUEST} bytes`);
        if (line.trim()) void this.dispatch(line, write, aborter.signal);
      }
      if (buf.length > MAX_REQUEST) hangUp('ETOOBIG', `request longer than ${MAX_REQUEST} bytes`);
    });
  }

  private async dispatch(line: string, write: (r: Reply) => void, signal: AbortSignal): Promise<void> {
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      return write({ id: null, error: { code: 'EPARSE', message: 'not JSON: send one JSON object per line' } });
    }
    const id = req && (typeof req.id === 'number' || typeof req.id === 'string') ? req.id : null;
    if (id === null || typeof req.method !== 'string') {
      return write({ id, error: { code: 'EREQUEST', message: 'a request needs "id" (number or string) and "method"' } });
    }
    const handler = Object.hasOwn(this.handlers, req.method) ? this.handlers[req.method] : undefined;
    if (!handler) {
      return write({ id, error: { code: 'EMETHOD', message: `unknown method "${req.method}"` } });
    }
    const params = req.params && typeof req.params === 'object' && !Array.isArray(req.params) ? req.params : {};
    try {
      const result = await handler(params, { emit: (event) => write({ id, event }), signal });
      write({ id, result: result ?? null });
    } catch (err) {
      write({ id, error: toErrorBody(err) });
    }
  }
}

/** The one place where core errors become protocol errors. */
export function toErrorBody(err: unknown): { code: string; message: string; data?: unknown } {
  if (err instanceof ControlError) return { code: err.code, message: err.message, data: err.data };
  const e = err as { code?: unknown; message?: unknown; problems?: unknown };
  if (e && typeof e.code === 'string' && typeof e.message === 'string') {
    return { code: e.code, message: e.message, ...(e.problems ? { data: e.problems } : {}) };
  }
  return { code: 'EINTERNAL', message: String((e && e.message) ?? err) };
}

/** The client's credentials, or null when the socket has no fd to ask (it always has one for AF_UNIX). */
function credentials(sock: net.Socket): { pid: number; uid: number; gid: number } | null {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  try {
    return peerCred(fd);
  } catch {
    return null;
  }
}
