// [manager] DefaultEnvironment= with real services: every process gets it, a unit's EnvironmentFile= and
// Environment= override it, its PATH finds bare program names, and a core that took over from a dead one (its
// settings read back from the state file) still passes it on, a change applied on its own included.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { marker, scratch, sleep, Up, writeSpec } from './harness.js';

/** The variables a service's `env > FILE` wrote, once it has written them. */
async function envOf(file: string): Promise<Record<string, string>> {
  while (!fs.existsSync(file)) await sleep(20);
  return Object.fromEntries(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

t.test('DefaultEnvironment: under each unit, across a core restart', async (t) => {
  const dir = scratch();
  const file = (n: string) => path.join(dir, n);
  const [mApp, mBare] = [marker(), marker()];
  const bin = file('bin');
  fs.mkdirSync(bin);
  // Written to a temporary name first: the test reads the file only once it is whole.
  fs.writeFileSync(path.join(bin, 'probe'), `#!/bin/sh\nenv > ${file('bare.tmp')} && mv ${file('bare.tmp')} ${file('bare.out')}\nexec sleep ${mBare}\n`, { mode: 0o755 });
  fs.writeFileSync(file('app.vars'), 'FROM_FILE=file\nBOTH=file\n');
  const spec = (node: string) => `[manager]
DefaultEnvironment = { NODE = "${node}", PORT = "1", FROM_FILE = "manager", PATH = "${bin}:/usr/bin:/bin" }

[service.app]
EnvironmentFile = "${file('app.vars')}"
Environment = { PORT = "2", BOTH = "unit" }
ExecStart = ["/bin/sh", "-c", "env > ${file('app.tmp')} && mv ${file('app.tmp')} ${file('app.out')}; exec sleep ${mApp}"]

[service.bare]
ExecStart = "probe"
`;
  const up = new Up(writeSpec(dir, spec('n1')), file('state'), [], { init: true });
  t.teardown(async () => {
    await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await up.ready();

  t.test("every unit's processes get it; the unit's own variables win", async (t) => {
    t.match(await envOf(file('app.out')), { NODE: 'n1', PORT: '2', FROM_FILE: 'file', BOTH: 'file', SYSMASTER_UNIT: 'app.service' }, 'EnvironmentFile= wins over Environment=, as in systemd');
    t.match(await envOf(file('bare.out')), { NODE: 'n1', PORT: '1', FROM_FILE: 'manager', PATH: `${bin}:/usr/bin:/bin` }, 'its PATH found "probe"');
  });

  t.test('a core that took over still has it, and a change applied alone before the crash', async (t) => {
    // Only [manager] differs: no job, nothing restarts.
    writeSpec(dir, spec('n2'));
    t.equal((await up.sctl('daemon-reload')).code, 0);
    t.match(await envOf(file('app.out')), { NODE: 'n1' }, 'running processes keep what they got');
    await up.killCore(async () => {});
    fs.rmSync(file('app.out'));
    t.equal((await up.sctl('restart', 'app')).code, 0);
    t.match(await envOf(file('app.out')), { NODE: 'n2', PORT: '2', FROM_FILE: 'file' });
  });

  t.test('sctl plan shows a [manager]-only change, and sctl apply installs it without restarting anything', async (t) => {
    const pid = (await up.call<Record<string, string>>('show', { unit: 'app.service' })).MainPID;
    const next = writeSpec(dir, spec('n3'), 'n3.toml');
    const plan = await up.sctl('plan', next);
    t.equal(plan.code, 2, 'a change: exit 2');
    t.match(plan.stdout, /~ \[manager\] \(for processes started from now on\)\n +DefaultEnvironment: NODE=n2 .* → NODE=n3 /);
    t.match(plan.stdout, /Jobs \(0\):/);
    const json = JSON.parse((await up.sctl('-o', 'json', 'plan', next)).stdout);
    t.match(json.manager, [{ key: 'DefaultEnvironment', from: { NODE: 'n2' }, to: { NODE: 'n3' } }]);
    const r = await up.sctl('apply', next, '--yes');
    t.equal(r.code, 0, r.stderr);
    t.equal((await up.call<Record<string, string>>('show', { unit: 'app.service' })).MainPID, pid, 'nothing restarted');
    t.match((await up.sctl('plan', next)).stdout, /No changes/);
    fs.rmSync(file('app.out'));
    t.equal((await up.sctl('restart', 'app')).code, 0);
    t.match(await envOf(file('app.out')), { NODE: 'n3' });
  });
});
