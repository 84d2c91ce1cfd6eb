// sctl top, Delegate= and 219/CGROUP through `sysmaster up` as root, on this machine's real cgroups (docs/cgroups.md).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { detect } from '../../reconciler/cgroups.js';
import { marker, scratch, sleep, Up, writeSpec } from './harness.js';

const v2 = detect().tracking;
const skip = process.getuid?.() !== 0 ? 'cgroups need root' : v2?.version !== 2 ? 'these tests divide a cgroup2 cgroup' : false;
/** The script's own cgroup2 directory. */
const own = `cg=${v2?.mount}$(sed -n 's/^0:://p' /proc/self/cgroup)`;

t.test('sctl top: batch tables ordered by CPU, --order=path, and -o json', { skip }, async (t) => {
  const dir = scratch();
  const mark = marker();
  const spec = writeSpec(
    dir,
    `[service.a-idle]
ExecStart = ["/bin/sleep", "${mark}"]
[service.b-busy]
ExecStart = ["/bin/sh", "-c", "while :; do :; done"]
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  await up.until('b-busy', 'SubState', (v) => v === 'running');

  const r = await up.sctl('top', '-b', '-n', '2', '-d', '0.5');
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stdout, /\x1b/, 'no screen clearing, no colour: stdout is not a terminal');
  const tables = r.stdout.trimEnd().split('\n\n');
  t.equal(tables.length, 2, r.stdout);
  for (const table of tables) {
    const [head, ...rows] = table.split('\n');
    t.match(head, /^Unit +Tasks +%CPU +Memory$/);
    t.same(rows.map((l) => l.split(/\s+/)[0]), ['b-busy.service', 'a-idle.service'], 'the busy one first');
    const busy = rows[0].split(/\s+/);
    t.ok(Number(busy[2]) > 20, `b-busy uses CPU: ${rows[0]}`);
    t.match(rows[1], /^a-idle\.service +1 +\d+\.\d +\d+(\.\d)?[BKMG]$/, 'one task, a little CPU at most, its memory');
  }

  const byPath = await up.sctl('top', '-b', '-n', '1', '-d', '0.2', '--order=path');
  t.same(byPath.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0]), ['a-idle.service', 'b-busy.service']);

  const json = await up.sctl('-o', 'json', 'top', '-n', '2', '-d', '0.3');
  t.equal(json.code, 0, json.stderr);
  const docs = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>[]);
  t.equal(docs.length, 2, 'one JSON document per iteration');
  for (const rows of docs) {
    t.same(rows.map((x) => x.unit), ['b-busy.service', 'a-idle.service']);
    for (const x of rows) {
      t.same(Object.keys(x).sort(), ['cpuNs', 'cpuPercent', 'memoryBytes', 'tasks', 'unit']);
      t.ok((x.tasks as number) >= 1 && (x.memoryBytes as number) > 0 && (x.cpuNs as number) >= 0, JSON.stringify(x));
    }
    t.ok((rows[0].cpuPercent as number) > 20 && (rows[0].cpuPercent as number) > (rows[1].cpuPercent as number), JSON.stringify(rows));
  }

  const bad = await up.sctl('top', '-d', 'soon');
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--delay: cannot read "soon" as a time span/);
});

t.test('Delegate=true with User=: the service makes a sub-cgroup of its own and moves into it', { skip }, async (t) => {
  const dir = scratch();
  const mark = marker();
  const spec = writeSpec(
    dir,
    `[service.dlg]
User = "nobody"
Delegate = true
ExecStart = ["/bin/sh", "-c", "${own}; mkdir $cg/payload && echo $$$$ > $cg/payload/cgroup.procs && exec sleep ${mark}"]
ExecStartPost = ["/bin/true"]
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  await up.until('dlg', 'SubState', (v) => v === 'running');
  const main = Number(await up.until('dlg', 'MainPID', (v) => v !== '0'));
  let where = '';
  for (let i = 0; i < 100 && !where.endsWith('/payload'); i++, await sleep(50)) where = /^0::(.*)$/m.exec(fs.readFileSync(`/proc/${main}/cgroup`, 'utf8'))![1];
  t.match(where, /\/sysmaster-[0-9a-f]{8}\/dlg\.service\/payload$/, 'the service (as nobody) moved itself into its own sub-cgroup');
  const unitDir = path.dirname(`${v2!.mount}${where}`);
  const nobody = fs.statSync(`${unitDir}/payload`).uid;
  t.not(nobody, 0, 'payload was made by the service user');
  for (const f of ['', 'cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads']) t.equal(fs.statSync(path.join(unitDir, f)).uid, nobody, `${f || 'the directory'} is the user's`);
  t.ok(fs.existsSync(`${unitDir}/.control`), 'ExecStartPost= ran in .control');
  t.equal((await up.sctl('stop', 'dlg')).code, 0);
  for (let i = 0; i < 40 && fs.existsSync(unitDir); i++) await sleep(50);
  t.notOk(fs.existsSync(unitDir), 'the cgroup and its sub-cgroups are removed');
});

t.test('a process that cannot enter its cgroup exits 219, and status names it 219/CGROUP', { skip }, async (t) => {
  const dir = scratch();
  const mark = marker();
  // ($$ is systemd's escape of $ in Exec*=.) The ExecStartPre leaves the unit's cgroup2 cgroup, then makes a threaded sibling of it: a domain cgroup beside a
  // threaded one is "domain invalid", and the kernel refuses to move a process into it (EOPNOTSUPP).
  const spec = writeSpec(
    dir,
    `[service.nocg]
ExecStartPre = ["/bin/sh", "-c", "${own}; p=$(dirname $cg); echo $p > ${dir}/parent; echo $$$$ > ${v2?.mount}/cgroup.procs && mkdir $p/threaded-probe && echo threaded > $p/threaded-probe/cgroup.type"]
ExecStart = ["/bin/sleep", "${mark}"]
`,
  );
  const up = new Up(spec, path.join(dir, 'state'));
  t.teardown(async () => {
    await up.stop();
    const parent = fs.readFileSync(`${dir}/parent`, 'utf8').trim();
    for (const d of [`${parent}/threaded-probe`, parent]) {
      try {
        fs.rmdirSync(d);
      } catch {
        // gone already
      }
    }
  });
  await up.ready();
  t.equal(await up.until('nocg', 'Result', (v) => v === 'exit-code'), 'exit-code');
  t.equal(await up.until('nocg', 'ExecMainStatus', () => true), '219');
  const status = await up.sctl('status', 'nocg');
  t.match(status.stdout, /\n {3}Main PID: \(code=exited, status=219\/CGROUP\)\n/, status.stdout);
  const [json] = await up.json<{ exitCode: number }[]>('status', 'nocg');
  t.equal(json.exitCode, 219);
});
