// Log rotation end to end (docs/logs.md): a service writes enough to rotate its file many times over with a small
// [manager] LogMaxSize; `sctl logs -f` follows across every rotation, and `sctl logs` reads the kept files.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { bin, marker, scratch, sleep, Up, writeSpec } from './harness.js';

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

async function until(check: () => boolean, what: () => string, timeoutMs = 30_000): Promise<void> {
  for (const t0 = Date.now(); !check(); await sleep(25)) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what()}`);
  }
}

t.test('rotation by size and count; logs -f follows across rotations; logs reads the rotated files', async (t) => {
  const dir = scratch('sm-rot-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const go = path.join(dir, 'GO');
  const up = new Up(
    writeSpec(
      dir,
      `[manager]
LogMaxSize = "4K"
LogMaxFiles = 3

[service.burst]
ExecStart = ["/bin/sh", "-c", "echo waiting; while [ ! -e ${go} ]; do sleep 0.05; done; i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo line $i; done; exec sleep ${marker()}"]
`,
    ),
    path.join(dir, 'state'),
  );
  t.teardown(() => up.stop());
  await up.ready();

  const follower = spawn(process.execPath, [bin('sctl'), '--state-dir', up.stateDir, 'logs', '-f', '-n', '1', '-o', 'cat', 'burst'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  const closed = new Promise((r) => follower.on('close', r));
  t.teardown(() => void follower.kill('SIGKILL'));
  let seen = '';
  follower.stdout.on('data', (d) => (seen += d));
  await until(() => seen.includes('waiting\n'), () => `the follower to start:\n${seen}\n${up.output}`);
  fs.writeFileSync(go, '');
  await until(() => seen.includes('line 600\n'), () => `line 600 through logs -f:\n${seen.slice(-500)}`);
  t.same(seen.trim().split('\n'), ['waiting', ...range(1, 600).map((i) => `line ${i}`)], 'logs -f: every line once, in order');
  t.equal(follower.exitCode, null, 'still following');
  follower.kill('SIGTERM');
  await closed;

  const logs = path.join(up.stateDir, 'logs');
  const files = fs.readdirSync(logs).filter((f) => f.startsWith('burst.service.log')).sort();
  t.same(files, ['burst.service.log', 'burst.service.log.1', 'burst.service.log.2', 'burst.service.log.3'], 'LogMaxFiles rotated files');
  let onDisk = 0;
  for (const f of files) {
    const st = fs.statSync(path.join(logs, f));
    t.ok(st.size <= 4096, `${f}: ${st.size} bytes ≤ LogMaxSize`);
    t.equal(st.mode & 0o777, 0o600, `${f} is 0600`);
    onDisk += fs.readFileSync(path.join(logs, f), 'utf8').split('\n').filter(Boolean).length;
  }

  const all = await up.sctl('logs', 'burst', '-n', '10000', '-o', 'json');
  t.equal(all.code, 0, all.stderr);
  const nums = all.stdout
    .trim()
    .split('\n')
    .map((l) => Number(/^line (\d+)$/.exec((JSON.parse(l) as { message: string }).message)?.[1]));
  t.equal(nums.length, onDisk, `every record of the ${files.length} files`);
  t.same(nums, range(601 - nums.length, nums.length), 'the newest records, in order, none lost or repeated');
  t.ok(nums.length < 600, `the oldest went with the files beyond LogMaxFiles (${nums.length} kept)`);

  const last = await up.sctl('logs', 'burst', '-n', '50', '-o', 'cat');
  t.same(last.stdout.trim().split('\n'), range(551, 50).map((i) => `line ${i}`), '-n 50: the last 50 across files');
});
