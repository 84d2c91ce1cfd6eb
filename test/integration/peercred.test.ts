// The control socket checks who is calling (SO_PEERCRED), not only its file mode.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { admit } from '../../reconciler/core.js';
import { scratch, Up, writeSpec } from './harness.js';

t.test('admit: the owner and root only', async (t) => {
  t.equal(admit({ uid: 1000 }, 1000), null);
  t.equal(admit({ uid: 0 }, 1000), null, 'root may drive a user instance');
  t.match(admit({ uid: 1001 }, 1000), /permission denied: uid 1001/);
  t.match(admit({ uid: 65534 }, 0), /permission denied: uid 65534 may not control this instance \(owned by uid 0\)/);
  t.match(admit(null, 0), /SO_PEERCRED/);
});

t.test('a client of another uid is refused even when the socket mode lets it in', { skip: process.getuid?.() !== 0 ? 'needs root to connect as another user' : false }, async (t) => {
  const dir = scratch();
  const up = new Up(writeSpec(dir, '[service.s]\nExecStart = ["/bin/sleep", "3600"]\n'), path.join(dir, 'state'));
  t.teardown(() => up.stop());
  await up.ready();
  const sock = path.join(dir, 'state', 'control.sock');
  fs.chmodSync(path.join(dir, 'state'), 0o755);
  fs.chmodSync(sock, 0o666);
  fs.chmodSync(dir, 0o755);
  // connect as nobody from a child process
  const script = `const s=require("net").connect(${JSON.stringify(sock)});s.on("connect",()=>s.write(JSON.stringify({id:1,method:"ping"})+"\\n"));let b="";s.on("data",d=>b+=d);s.on("close",()=>{process.stdout.write(b)});`;
  const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10_000 });
  t.match(r.stdout, /"code":"EPERM"/, 'refused with EPERM');
  t.match(r.stdout, /uid 65534 may not control this instance/);
  const ok = await up.sctl('is-active', 's');
  t.equal(ok.code, 0, 'the owner still gets answers');
});
