// Chaos (issue 3): many units under a start/stop/restart stress loop, and the core killed with SIGKILL at random
// moments. After each kill a new core must answer; every running service nothing asked to move keeps its PID; no
// unit runs twice; no zombie and no process outside a unit; every state matches /proc. Size: CHAOS_UNITS (100),
// CHAOS_ROUNDS; `npm run chaos` is the full size. CHAOS_SEED replays the same requests (not their timing).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { pid1Unavailable } from '../init/harness.js';
import { chainOf, chaosSpec, check, Manager, processes, random, Stress, type Req } from './chaos.js';
import { pidsWith, scratch, sleep } from './harness.js';

const UNITS = Number(process.env.CHAOS_UNITS ?? 100);
const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 30);
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 32));
/** Requests in flight at a time. */
const WIDTH = 4;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

t.test(`${UNITS} units, the core killed ${ROUNDS} times under a start/stop/restart loop`, async (t) => {
  const why = pid1Unavailable();
  t.comment(why ? `subreaper mode: ${why}` : 'PID 1 mode: init is PID 1 of its own PID namespace (subreaper mode: the other integration tests)');
  t.comment(`seed ${SEED}`);
  const dir = scratch('sm-chaos-');
  const { file, units } = chaosSpec(dir, UNITS);
  const m = new Manager(file, path.join(dir, 'state'), !why);
  t.teardown(async () => {
    await m.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const up = Date.now();
  await m.waitFor(/all \d+ jobs done|started with failures/, 120_000);
  t.comment(`bring-up of ${UNITS} units: ${Date.now() - up} ms`);

  const rand = random(SEED);
  const stress = new Stress(m, units, rand, WIDTH);
  const answered: number[] = [];
  const drained: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    stress.resume();
    await sleep(200 + rand() * 1300);

    // What runs just before the kill: requests still unanswered when this listing starts may move their units.
    const at = Date.now();
    const before = await m.services();
    const seen = new Map(processes(m.init).map((p) => [p.ns, p]));
    const old = m.corePid();
    process.kill(seen.get(old)!.pid, 'SIGKILL');
    const killed = Date.now();
    const paused = stress.pause();

    const ping = await m.call<{ pid: number; init: number } | null>('ping', {}, { retries: 20, signal: AbortSignal.timeout(30_000) });
    if (!ping) throw new Error(`round ${round}: no core answered within 30 s of the kill:\n${m.tail()}`);
    answered.push(Date.now() - killed);
    t.not(ping.pid, old, `round ${round}: a new core answers`);
    t.equal(m.corePid(), ping.pid, `round ${round}: core.pid names it`);

    await paused;
    const t1 = Date.now();
    for (let jobs = await m.call<unknown[]>('list-jobs'); jobs.length; jobs = await m.call<unknown[]>('list-jobs')) {
      if (Date.now() - t1 > 60_000) throw new Error(`round ${round}: jobs still queued after 60 s: ${JSON.stringify(jobs)}\n${m.tail()}`);
      await sleep(50);
    }
    drained.push(Date.now() - t1);

    const moved = new Set(stress.since(at).flatMap((r) => [...chainOf(units, r.unit), ...(r.jobs ?? [])]));
    const kept = new Map(
      before
        .filter((u) => u.sub === 'running' && u.mainPid !== null && !moved.has(u.name) && seen.get(u.mainPid))
        .map((u) => [u.name, { ns: u.mainPid!, start: seen.get(u.mainPid!)!.start }]),
    );
    // Stopped processes may still be on their way out (a unit's stop is done when its main process is): settle.
    let bad: string[] = [];
    let list = before;
    for (const t2 = Date.now(); ; await sleep(100)) {
      list = await m.services();
      const procs = processes(m.init);
      const core = procs.find((p) => p.ns === ping.pid)?.pid ?? -1;
      bad = check({ units, list, procs, core, kept });
      if (!bad.length || Date.now() - t2 > 5000) break;
    }
    t.same(bad, [], `round ${round}: PIDs kept, nothing twice, no zombie or orphan, states match /proc`, {
      requests: requestsAbout(stress.log, bad),
      output: m.tail(60),
    });
    t.comment(
      `round ${round}: killed core ${old} after ${killed - at} ms of listing, ${stress.since(at).length} requests crossing the kill; ` +
        `core ${ping.pid} answered in ${answered.at(-1)} ms, jobs drained ${drained.at(-1)} ms later; ` +
        `${kept.size} untouched running units checked; ${list.filter((u) => u.active === 'active').length}/${UNITS} active`,
    );
  }

  const outcomes: Record<string, number> = {};
  for (const r of stress.log) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  t.comment(`${stress.log.length} requests: ${JSON.stringify(outcomes)}`);
  t.comment(`kill → a core answers: median ${median(answered)} ms, max ${Math.max(...answered)} ms; jobs drained: median ${median(drained)} ms, max ${Math.max(...drained)} ms`);

  process.kill(m.init, 'SIGTERM');
  t.equal(await m.exited, 0, 'an orderly shutdown stops everything');
  t.same(pidsWith(units[0].mark.replace(/\.\d+$/, '.')), [], 'no payload outlives the manager');
});

/** The last requests that named a unit a failure mentions: what the stress loop did to it. */
function requestsAbout(log: Req[], bad: string[]): string[] {
  const names = new Set(bad.flatMap((b) => b.match(/c\d{3}\.service/g) ?? []));
  const about = log.filter((r) => names.has(r.unit) || r.jobs?.some((j) => names.has(j)));
  return about.slice(-20).map((r) => `#${r.n} ${r.type} ${r.unit} at ${r.sent}, done ${r.done ?? '-'}: ${r.outcome}; jobs ${r.jobs?.join(' ') ?? '?'}`);
}
