// A oneshot: waits for the database to answer, then makes sure the schema key is there. With
// RemainAfterExit=true the unit stays "active (exited)", so api.service can Require it after it has exited.
import { call } from './http.mjs';

const port = Number(process.env.DB_PORT ?? 7101);
const schema = 'v1';

async function waitForDb(ms) {
  const until = Date.now() + ms;
  for (;;) {
    let why;
    try {
      const { status } = await call(port, 'GET', '/health');
      if (status === 200) return;
      why = `status ${status}`;
    } catch (err) {
      why = err.cause?.message ?? err.message;
    }
    if (Date.now() > until) throw new Error(`db on :${port} did not answer within ${ms}ms (${why})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function put(key, value) {
  const { status, body } = await call(port, 'PUT', `/kv/${key}`, value);
  if (status !== 204) throw new Error(`PUT /kv/${key} answered ${status} ${body}`);
}

try {
  await waitForDb(10_000);
  const current = await call(port, 'GET', '/kv/schema');
  if (current.status === 200 && current.body === schema) {
    console.log(`schema already at ${schema}, nothing to do`);
  } else {
    await put('schema', schema);
    await put('note:welcome', 'hello from migrate.service');
    console.log(`schema ${current.status === 200 ? current.body : '(none)'} -> ${schema}; seeded note "welcome"`);
  }
} catch (err) {
  console.error(`migration failed: ${err.message}`);
  process.exit(1);
}
