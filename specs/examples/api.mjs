// The application API, a thin layer over the database. Type=notify: READY=1 is sent only after the schema check,
// so a missing migration fails the start instead of serving errors.
//   GET /health   GET /api/stats   GET /api/notes   GET|PUT|DELETE /api/notes/<name>
import { ready } from './notify.mjs';
import { call, serve } from './http.mjs';

const port = Number(process.env.API_PORT ?? 7102);
const db = Number(process.env.DB_PORT ?? 7101);
const started = Date.now();
let requests = 0;

const kv = (method, key, body) => call(db, method, `/kv/${encodeURIComponent(key)}`, body);

async function notes() {
  const all = JSON.parse((await call(db, 'GET', '/kv')).body);
  return Object.fromEntries(
    Object.entries(all)
      .filter(([key]) => key.startsWith('note:'))
      .map(([key, value]) => [key.slice(5), value]),
  );
}

async function handle(method, path, body) {
  requests++;
  if (path === '/health') {
    const ok = (await call(db, 'GET', '/health')).status === 200;
    return [ok ? 200 : 503, { ok }];
  }
  if (path === '/api/stats') {
    const schema = (await kv('GET', 'schema')).body;
    const count = Object.keys(await notes()).length;
    return [200, { requests, notes: count, schema, uptimeSec: Math.round((Date.now() - started) / 1000) }];
  }
  if (path === '/api/notes' && method === 'GET') return [200, await notes()];
  const name = path.startsWith('/api/notes/') ? decodeURIComponent(path.slice(11)) : '';
  if (!name) return [404, { error: `no route ${method} ${path}` }];
  if (!['GET', 'PUT', 'DELETE'].includes(method)) return [405, { error: `method ${method} not allowed` }];
  const res = await kv(method, `note:${name}`, method === 'PUT' ? body : undefined);
  return res.status === 404 ? [404, { error: `no note ${name}` }] : [res.status, res.body];
}

const schema = await kv('GET', 'schema').catch((err) => ({ status: 0, body: err.cause?.message ?? err.message }));
if (schema.status !== 200) {
  console.error(`db on :${db} has no schema (${schema.status} ${schema.body.trim()}); did migrate.service run?`);
  process.exit(1);
}
await serve(port, handle, { logRequests: true });
console.log(`listening on 127.0.0.1:${port}, schema ${schema.body}, db on :${db}`);
await ready(`listening on :${port}`);
