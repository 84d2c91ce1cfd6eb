// Zombie storm: 2,000 double-forked orphans land on init at once; every one is reaped, and its exit (code or
// signal, core dump flag) reaches the core decoded right, numbered once each.
import t from 'tap';
import { descendants } from '../../init/killall.js';
import { Init, procState } from './harness.js';

const N = 2000;
const SIGNALS = ['HUP', 'TERM', 'KILL', 'USR1', 'USR2', 'PIPE', 'ALRM']; // not INT/QUIT: sh ignores them in `&` jobs

// Each `( ... & )` forks a subshell that starts a background job and exits: the job is orphaned at once.
const storm = [
  `i=0; while [ $i -lt ${N} ]; do ( (exit $((i % 256))) & ); i=$((i + 1)); done`,
  ...SIGNALS.map((s) => `( sh -c 'kill -${s} $$' & )`),
  // core_pattern is "core" here: the dump lands in the fake core's temporary cwd.
  `( ulimit -c unlimited; sh -c 'kill -SEGV $$' & )`,
].join('\n');

t.test(`${N} double-forked orphans: all reaped, every exit decoded and forwarded once`, async (t) => {
  const init = new Init(t);
  const core = await init.ready();
  t.same(await init.ask({ cmd: 'run', script: storm }), { code: 0, out: '' }, 'the storm ran');
  const total = N + SIGNALS.length + 1;
  const exits = await init.waitFor((evs) => {
    const got = evs.filter((e) => e.ev === 'exit');
    return got.length >= total && got;
  }, `${total} exits`, 30_000);

  t.equal(exits.length, total, 'one exit per orphan, no more');
  t.equal(new Set(exits.map((e) => e.seq)).size, total, 'each with its own seq');
  t.ok(exits.every((e, i) => i === 0 || e.seq > exits[i - 1].seq), 'in increasing seq order');
  t.notOk(exits.some((e) => e.dup), 'none delivered twice');

  const byCode = new Map<number, number>();
  for (const e of exits) if (e.code !== null) byCode.set(e.code, (byCode.get(e.code) ?? 0) + 1);
  const want = new Map<number, number>();
  for (let i = 0; i < N; i++) want.set(i % 256, (want.get(i % 256) ?? 0) + 1);
  const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);
  t.same(sorted(byCode), sorted(want), 'exit codes 0–255, each as often as sent');

  const signalled = exits.filter((e) => e.signal !== null).map((e) => `${e.signal}${e.dumped ? '+core' : ''}`);
  const sent = [...SIGNALS.map((s) => `SIG${s}`), 'SIGSEGV+core'];
  t.same(signalled.sort(), sent.sort(), 'deaths by signal, with the core flag');
  t.ok(exits.every((e) => (e.code === null) !== (e.signal === null)), 'either a code or a signal');

  const left = descendants(init.pid).filter((p) => p !== core);
  t.same(left.map((p) => `${p}:${procState(p)}`), [], 'nothing left under init but the core: no zombie');
});
