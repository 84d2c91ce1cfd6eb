// The front door: a small HTML page at /, and everything under /api/ passed through to api.service.
// Type=exec: nothing waits on this one, so "started" as soon as node is running is good enough.
import { call, serve } from './http.mjs';

const port = Number(process.env.WEB_PORT ?? 7103);
const api = Number(process.env.API_PORT ?? 7102);

const escape = (text) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

async function page() {
  const notes = JSON.parse((await call(api, 'GET', '/api/notes')).body);
  const stats = (await call(api, 'GET', '/api/stats')).body;
  const items = Object.entries(notes).map(([name, text]) => `<li><b>${escape(name)}</b>: ${escape(text)}</li>`);
  return `<!doctype html><title>webstack</title><h1>webstack</h1><ul>${items.join('')}</ul><pre>${escape(stats)}</pre>\n`;
}

async function handle(method, path, body) {
  if (path === '/') return [200, await page(), 'text/html; charset=utf-8'];
  if (path === '/health' || path.startsWith('/api/')) {
    try {
      const res = await call(api, method, path, ['GET', 'HEAD'].includes(method) ? undefined : body);
      return [res.status, res.body, res.type ?? undefined];
    } catch (err) {
      return [502, { error: `api on :${api} did not answer: ${err.cause?.message ?? err.message}` }];
    }
  }
  return [404, { error: `no route ${method} ${path}` }];
}

await serve(port, handle, { logRequests: true });
console.log(`listening on 127.0.0.1:${port}, api on :${api}`);
