// A tiny in-memory key-value store over HTTP. Type=notify: READY=1 is sent once the port is listening, so units
// ordered After=db.service start only when the database really answers.
//   GET /health   GET /kv (all pairs)   GET /kv/<key>   PUT /kv/<key> (body = value)   DELETE /kv/<key>
import { ready } from './notify.mjs';
import { serve } from './http.mjs';

const port = Number(process.env.DB_PORT ?? 7101);
const store = new Map();

async function handle(method, path, body) {
  if (path === '/health') return [200, { ok: true, keys: store.size }];
  if (path === '/kv' && method === 'GET') return [200, Object.fromEntries(store)];
  const key = path.startsWith('/kv/') ? decodeURIComponent(path.slice(4)) : '';
  if (!key) return [404, { error: `no route ${method} ${path}` }];
  if (method === 'GET') return store.has(key) ? [200, store.get(key)] : [404, { error: `no key ${key}` }];
  if (method === 'PUT') return store.set(key, body), [204, ''];
  if (method === 'DELETE') return [store.delete(key) ? 204 : 404, ''];
  return [405, { error: `method ${method} not allowed` }];
}

await serve(port, handle);
console.log(`listening on 127.0.0.1:${port}`);
await ready(`listening on :${port}`);
