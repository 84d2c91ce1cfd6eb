import net from 'node:net';
import fs from 'node:fs';
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

  constructor(private handlers: Record<string, Handler>) {
    this.server = net.createServer((sock) => this.serve(sock));
  }

  listen(socketPath: string, mode: number): Promise<void> {
    try {
      fs.unlinkSync(socketPath);
    } catch {
      /* no stale socket */
    }
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => {
        fs.chmodSync(socketPath, mode);
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private serve(sock: net.Socket): void {
    let buf = '';
    const aborter = new AbortController();
    const write = (reply: Reply) => {
      if (!sock.destroyed) sock.write(JSON.stringify(reply) + '\n');
    };
    sock.setEncoding('utf8');
    sock.setTimeout(IDLE_MS, () => {
      if (buf.length > 0) {
        write({ id: null, error: { code: 'ETIMEDOUT', message: 'incomplete request: no newline within 30 s' } });
        sock.end();
      }
    });
    sock.on('error', () => aborter.abort());
    sock.on('close', () => aborter.abort());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) void this.dispatch(line, write, aborter.signal);
      }
      if (buf.length > MAX_REQUEST) {
        write({ id: null, error: { code: 'ETOOBIG', message: `request longer than ${MAX_REQUEST} bytes` } });
        buf = '';
        sock.end();
      }
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
