// A background worker: polls the API every second and reports now and then. On the first run of a stack it
// crashes on purpose after WORKER_CRASH_AFTER_MS (default 5000; 0 = never) to show Restart=on-failure at work.
// "First run" is remembered in the database itself (note "worker-crashed"): a fresh stack crashes once, a
// restarted worker does not.
import { call, onStop } from './http.mjs';

const api = Number(process.env.API_PORT ?? 7102);
const crashAfter = Number(process.env.WORKER_CRASH_AFTER_MS ?? 5000);
const marker = '/api/notes/worker-crashed';
let polls = 0;

async function firstRun() {
  if ((await call(api, 'GET', marker)).status !== 404) return false;
  await call(api, 'PUT', marker, `first run at ${new Date().toISOString()} crashes on purpose`);
  return true;
}

async function poll() {
  try {
    const stats = JSON.parse((await call(api, 'GET', '/api/stats')).body);
    polls++;
    if (polls % 10 === 1) console.log(`poll ${polls}: ${stats.notes} notes, api served ${stats.requests} requests`);
  } catch (err) {
    console.error(`poll failed: ${err.cause?.message ?? err.message}`);
  }
}

const timer = setInterval(poll, 1000);
onStop(() => clearInterval(timer));
console.log(`polling api on :${api} every second (pid ${process.pid})`);
const crash =
  crashAfter > 0 &&
  (await firstRun().catch((err) => {
    console.error(`cannot reach api on :${api}, no crash this run: ${err.cause?.message ?? err.message}`);
    return false;
  }));
if (crash) {
  console.log(`first run: will crash on purpose in ${crashAfter}ms`);
  setTimeout(() => {
    console.error('crashing on purpose (exit 1) to show Restart=on-failure; the next run will not crash');
    process.exit(1);
  }, crashAfter);
}
