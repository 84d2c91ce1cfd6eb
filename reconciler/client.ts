import net from 'node:net';
import type { ErrorBody } from './protocol.js';

/** A failed call: the core's error reply, or no core at all (code ENOCORE). */
export class CallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'CallError';
  }
}

export interface CallOptions {
  onEvent?: (event: unknown) => void;
  /** Retry when the core drops the connection before answering (it died; init starts a new one). */
  retries?: number;
  signal?: AbortSignal;
}

let nextId = 1;

/**
 * The core went away with the request unanswered (it died; init starts a new one): the request is sent again. Job
 * requests carry a key, so a retry never runs their jobs twice (reconciler/requests.ts).
 */
const DROPPED = new Set(['EEOF', 'ECONNRESET', 'EPIPE']);

/** One request to the core at `socketPath`, resolved with its result. */
export async function call(socketPath: string, method: string, params: object = {}, opts: CallOptions = {}): Promise<unknown> {
  let attempt = 0;
  for (;;) {
    try {
      return await callOnce(socketPath, method, params, opts);
    } catch (err) {
      if (!(err instanceof CallError) || !DROPPED.has(err.code) || attempt >= (opts.retries ?? 3)) throw err;
      attempt++;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

function callOnce(socketPath: string, method: string, params: object, opts: CallOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const sock = net.createConnection(socketPath);
    let buf = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      fn();
    };
    opts.signal?.addEventListener('abort', () => finish(() => resolve(null)), { once: true });
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ id, method, params }) + '\n'));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const gone = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      finish(() =>
        reject(
          gone
            ? new CallError('ENOCORE', `no sysmaster core is listening on ${socketPath} (start one with: sysmaster up SPEC)`)
            : err.code === 'EACCES'
              ? new CallError('EACCES', `permission denied on ${socketPath}: the system instance is root-only`)
              : new CallError(err.code ?? 'EIO', err.message),
        ),
      );
    });
    sock.on('close', () => finish(() => reject(new CallError('EEOF', 'the core closed the connection before answering'))));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { id?: unknown; result?: unknown; error?: ErrorBody; event?: unknown };
        try {
          msg = JSON.parse(line);
        } catch {
          continue;
        }
        if (msg.id !== id) continue;
        if ('event' in msg) opts.onEvent?.(msg.event);
        else if (msg.error) {
          const e = msg.error;
          finish(() => reject(new CallError(e.code, e.message, e.data)));
        } else finish(() => resolve(msg.result));
      }
    });
  });
}
