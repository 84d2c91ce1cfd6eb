// The HTTP plumbing the example servers share: a JSON-ish request handler, request logging, clean SIGTERM.
import { createServer } from 'node:http';

/** Runs `cleanup` once on SIGTERM (the manager's stop) or SIGINT (Ctrl-C by hand), then exits 0. */
export function onStop(cleanup) {
  const stop = async (signal) => {
    console.log(`stopping (${signal})`);
    await cleanup();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Calls another example service on 127.0.0.1; resolves to `{ status, type, body }` with the body as text. */
export async function call(port, method, path, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, body, signal: AbortSignal.timeout(2000) });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/**
 * Listens on 127.0.0.1:`port`; `handle(method, path, body)` returns `[status, body, type?]`: a string body is sent
 * as `type` (plain text by default), anything else as JSON. Resolves once listening; the server closes on stop.
 */
export function serve(port, handle, { logRequests = false } = {}) {
  const server = createServer(async (req, res) => {
    const started = Date.now();
    let status = 500;
    let body;
    let type = 'text/plain; charset=utf-8';
    try {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      [status, body, type = type] = await handle(req.method, req.url, Buffer.concat(chunks).toString());
    } catch (err) {
      body = { error: err.message };
      console.error(`${req.method} ${req.url}: ${err.message}`);
    }
    const json = typeof body !== 'string';
    res.writeHead(status, { 'content-type': json ? 'application/json' : type });
    res.end(json ? `${JSON.stringify(body)}\n` : body);
    if (logRequests) console.log(`${req.method} ${req.url} ${status} ${Date.now() - started}ms`);
  });
  onStop(() => {
    server.closeAllConnections();
    return new Promise((done) => server.close(done));
  });
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', done);
  });
}
