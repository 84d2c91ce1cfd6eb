// sd_notify from senders that know nothing of sysmaster: Debian's own systemd-notify, unpacked from the systemd
// package without installing it (test/specs/debian-units.sh; skipped, with the reason, when it cannot be had), and
// a plain AF_UNIX datagram from python3. docs/readiness.md says what each needs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { marker, pidsWith, root, scratch, Up, writeSpec } from './harness.js';

const cache = process.env.SYSMASTER_SYSTEMD_DEB ?? '/tmp/sysmaster-systemd';
const asRoot = process.getuid!() === 0;

/** The unpacked systemd-notify and the directory of its libsystemd-shared, or why there is none. */
function systemdNotify(): { bin: string; lib: string } | string {
  const r = spawnSync('bash', [path.join(root, 'test/specs/debian-units.sh'), cache, 'systemd', 'libsystemd-shared'], { encoding: 'utf8', timeout: 100_000 });
  if (r.status !== 0) return `Debian's systemd package could not be fetched: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').pop()}`;
  const unpacked = path.join(cache, 'root');
  // Debian 12 ships it in /bin, later releases in /usr/bin.
  const bin = ['bin/systemd-notify', 'usr/bin/systemd-notify'].map((p) => path.join(unpacked, p)).find((p) => fs.existsSync(p));
  const libs = path.join(unpacked, 'usr/lib');
  const arch = fs.existsSync(libs) ? fs.readdirSync(libs).find((d) => fs.existsSync(path.join(libs, d, 'systemd'))) : undefined;
  if (!bin || !arch) return `the package has no systemd-notify or no libsystemd-shared in ${unpacked}`;
  const lib = path.join(libs, arch, 'systemd');
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8', env: { LD_LIBRARY_PATH: lib } });
  if (v.status !== 0) return `the unpacked systemd-notify does not run here: ${(v.stderr || v.error?.message || '').trim()}`;
  return { bin, lib };
}

const found = systemdNotify();
const skip = typeof found === 'string' && found;
if (skip) console.log(`# SKIP systemd-notify: ${skip}`);
const python = ['/usr/bin/python3', '/bin/python3'].find((p) => fs.existsSync(p));

const dir = scratch();
fs.chmodSync(dir, 0o711); // User=nobody reaches the notify socket in the state directory below it
// What sd_notify(3) does, by hand: one datagram to $NOTIFY_SOCKET ('@' is the abstract namespace), then stay up.
const sender = path.join(dir, 'send.py');
fs.writeFileSync(
  sender,
  `import os, socket, sys, time
addr = os.environ['NOTIFY_SOCKET']
if addr.startswith('@'):
    addr = '\\0' + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(('READY=1\\nSTATUS=' + sys.argv[1]).encode(), addr)
if len(sys.argv) > 2:
    time.sleep(1e6)
`,
);
const m = { sdn: marker(), sdnUser: marker(), py: marker(), pyChild: marker() };
const notifyCmd = (status: string) => (typeof found === 'string' ? '' : `LD_LIBRARY_PATH=${found.lib} ${found.bin} --ready --status='${status}'`);
const units = [
  // Run by the main process: as root it speaks for its parent (the main process); NotifyAccess=main accepts it.
  !skip &&
    `[service.sdn]
Type = "notify"
ExecStart = ["/bin/sh", "-c", "${notifyCmd('ready via the packaged systemd-notify')}; exec sleep ${m.sdn}"]
`,
  // Unprivileged, it cannot speak for its parent and sends as itself, a child of the main process.
  !skip &&
    asRoot &&
    `[service.sdnUser]
Type = "notify"
User = "nobody"
ExecStart = ["/bin/sh", "-c", "${notifyCmd('sent as nobody')}; exec sleep ${m.sdnUser}"]
`,
  python &&
    `[service.py]
Type = "notify"
ExecStart = ["${python}", "${sender}", "plain datagram", "${m.py}"]
`,
  // A sender that is neither the main process nor its direct child: what systemd needs NotifyAccess=all for. It stays
  // up after sending, as it must with systemd too: a sender that is gone before its datagram is read cannot be told
  // apart from a stranger (its process tree is what says which unit it belongs to).
  python &&
    `[service.pyChild]
Type = "notify"
NotifyAccess = "all"
ExecStart = ["/bin/sh", "-c", "/bin/sh -c '${python} ${sender} grandchild stay &'; exec sleep ${m.pyChild}"]
`,
].filter(Boolean);

const up = new Up(writeSpec(dir, units.join('\n')), path.join(dir, 'state'));
t.teardown(async () => {
  await up.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const started = up.waitFor(/\.service +\| inactive → activating/); // the spec is applied: every unit exists

async function readyWith(t: Test, unit: string, status: string, mark: string) {
  await started;
  t.equal(await up.prop(unit, 'ActiveState', (v) => v === 'active' || v === 'failed'), 'active', 'READY=1 made it active');
  const s = await up.sctl('status', unit);
  t.equal(s.code, 0);
  t.match(s.stdout, `Status: "${status}"`, 'STATUS= shows in sctl status');
  t.same(pidsWith(mark), [Number((await up.sctl('show', unit, '-p', 'MainPID', '--value')).stdout)], 'the payload is the main process');
}

t.test('systemd-notify --ready --status= from the package', { skip }, async (t) => {
  await readyWith(t, 'sdn', 'ready via the packaged systemd-notify', m.sdn);
});

t.test('systemd-notify as an unprivileged user (User=nobody)', { skip: skip || (!asRoot && 'needs root (User=nobody)') }, async (t) => {
  await readyWith(t, 'sdnUser', 'sent as nobody', m.sdnUser);
});

t.test('a plain datagram from python3', { skip: !python && 'no python3' }, async (t) => {
  await readyWith(t, 'py', 'plain datagram', m.py);
  await readyWith(t, 'pyChild', 'grandchild', m.pyChild);
});
