// devctl test against the real `udevadm test` 252 (Debian's udev package, unpacked, not installed) on this machine's
// devices, with Debian's rules and with a small rules file of our own that runs programs.
//
// How udevadm is made to read only the chosen rules, and to leave the machine alone: udevadm test 252 reads
// /etc/udev/rules.d, /run/udev/rules.d and /usr/lib/udev/rules.d (and /lib/udev/rules.d), and although it runs no
// RUN program it does apply the event: it chmods and chowns the device node, creates /dev/char, /dev/block and
// /dev/disk links and writes /run/udev/data. So both commands run inside `unshare --mount` with: a tmpfs over /run,
// a tmpfs /dev holding copies of the real nodes, the rules directory bind-mounted over /usr/lib/udev/rules.d (and
// /lib/udev/rules.d, /usr/local/lib/udev/rules.d where they exist), an empty tmpfs over /etc/udev/rules.d. The
// devices are ones no Debian rule writes an attribute of (udevadm test would write it: that is not namespaced).
// devctl test reads its rules from DEVMASTER_RULES_DIRS.
//
// Compared exactly: stdout (the banner, every property in order, the `run:` list), with USEC_INITIALIZED's value
// masked and DEVLINKS/TAGS/CURRENT_TAGS compared as sets (udev joins them in hash-set order). A device whose output
// differs while devctl reported a builtin it does not support is reported as skipped, naming the builtins; lo, null
// and the custom rules must match exactly. Of the log lines (stderr), each `NAME: FILE:LINE MESSAGE` line udevadm
// prints must be printed by devctl too (paths compared by file name; udevadm's "Failed to run builtin" lines carry
// an errno text our builtins do not give, and are left out), and every line udevadm logs an assignment of must be
// reported by devctl as matched. Other log lines differ (udevadm logs its hwdb, kmod and sd-device internals).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { bin, cliSync } from '../integration/harness.js';
import { udevadm } from './udevadm.js';

/** udevadm 252 and the rules of the same package. */
function fetch(): { bin: string; lib: string; rules: string } | string {
  const u = udevadm();
  if (typeof u === 'string') return u;
  const rules = ['lib/udev/rules.d', 'usr/lib/udev/rules.d'].map((p) => path.resolve(u.bin, '../..', p)).find((p) => fs.existsSync(p));
  return rules ? { ...u, rules } : `no rules.d beside ${u.bin}`;
}

/**
 * The last loop device: other tests attach files with `losetup --find`, which takes the first free one and changes
 * its DISKSEQ between the two runs this test compares.
 */
const spareLoop = fs
  .readdirSync('/sys/class/block')
  .filter((n) => /^loop\d+$/.test(n))
  .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
  .pop() ?? 'loop0';

function why(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (a mount namespace to keep udevadm test off /dev and /run)';
  const u = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { encoding: 'utf8' });
  if (u.status !== 0) return `unshare --mount does not work here: ${(u.stderr || u.error?.message || '').trim()}`;
  if (!fs.existsSync('/usr/lib/udev/rules.d') && !fs.existsSync('/lib/udev/rules.d')) return 'no /usr/lib/udev/rules.d to mount the rules over';
  return false;
}
const notHere = why();
const found = notHere ? notHere : fetch();
const skip = typeof found === 'string' ? found : false;

/** Runs, in one mount namespace, `udevadm test` and `devctl test` for each [action, path]; N.udevadm.out/err, N.devctl.out/err in `out`. */
const runner = `
set -e
out=$1 rules=$2 udevadm=$3 lib=$4 node=$5 devctl=$6; shift 6
mount -t tmpfs tmpfs /run
old=$(mktemp -d /tmp/devctl-test-dev.XXXXXX)
mount --bind /dev "$old"
mount -t tmpfs -o mode=755 tmpfs /dev
cp -a "$old/." /dev/ 2>/dev/null || true
umount "$old"
rmdir "$old"
for d in /usr/lib/udev/rules.d /lib/udev/rules.d /usr/local/lib/udev/rules.d; do [ -d "$d" ] && mount --bind "$rules" "$d"; done
[ -d /etc/udev/rules.d ] && mount -t tmpfs tmpfs /etc/udev/rules.d
i=0
while [ $# -gt 0 ]; do
  rm -rf /run/udev /run/devmaster
  LD_LIBRARY_PATH=$lib "$udevadm" test --action="$1" "$2" >"$out/$i.udevadm.out" 2>"$out/$i.udevadm.err" || true
  DEVMASTER_RULES_DIRS=$rules "$node" "$devctl" test --action="$1" "$2" >"$out/$i.devctl.out" 2>"$out/$i.devctl.err" || true
  i=$((i+1)); shift 2
done
`;

interface Result {
  label: string;
  theirs: string;
  ours: string;
  theirErr: string;
  ourErr: string;
}

function compare(rules: string, cases: [string, string][]): Result[] {
  const u = found as { bin: string; lib: string };
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'devctl-test-'));
  try {
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', runner, 'runner', out, rules, u.bin, u.lib, process.execPath, bin('devctl'), ...cases.flat()], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (r.status !== 0) throw new Error(`the namespace runner failed: ${r.stderr || r.error?.message}`);
    const read = (f: string) => fs.readFileSync(path.join(out, f), 'utf8');
    return cases.map(([action, dev], i) => ({
      label: `${action} ${dev}`,
      theirs: read(`${i}.udevadm.out`),
      ours: read(`${i}.devctl.out`),
      theirErr: read(`${i}.udevadm.err`),
      ourErr: read(`${i}.devctl.err`),
    }));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** stdout with the parts that cannot be equal made comparable: the timestamp, and the hash-set order of links and tags. */
function comparable(stdout: string): string[] {
  return stdout.split('\n').map((l) => {
    if (l.startsWith('USEC_INITIALIZED=')) return 'USEC_INITIALIZED=(time)';
    const m = /^(DEVLINKS|TAGS|CURRENT_TAGS)=(.*)$/.exec(l);
    if (!m) return l;
    const sep = m[1] === 'DEVLINKS' ? ' ' : ':';
    return `${m[1]}=${m[2].split(sep).filter(Boolean).sort().join(sep)}`;
  });
}

/** `NAME: FILE:LINE MESSAGE` log lines, with the rules file by name. */
const ruleLines = (stderr: string) =>
  stderr
    .split('\n')
    .map((l) => /^(\S+): \S*?([^/\s]+\.rules:\d+) (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ line: `${m[1]}: ${m[2]} ${m[3]}`, at: `${m[1]}: ${m[2]}`, msg: m[3] }));

function check(t: Test, results: Result[], strict: (label: string) => boolean): void {
  for (const r of results) {
    const unsupported = [...new Set([...r.ourErr.matchAll(/builtin '(\w+)' is not supported by devmaster/g)].map((m) => m[1]))];
    const same = JSON.stringify(comparable(r.ours)) === JSON.stringify(comparable(r.theirs));
    if (same || strict(r.label) || !unsupported.length) t.same(comparable(r.ours), comparable(r.theirs), `stdout of ${r.label}`);
    else {
      t.comment(`${r.label}: udevadm printed\n${r.theirs}\ndevctl printed\n${r.ours}`);
      t.pass(`stdout of ${r.label}`, { skip: `differs while devctl does not support the builtin${unsupported.length > 1 ? 's' : ''} ${unsupported.join(', ')}` });
    }
    const ours = new Set(ruleLines(r.ourErr).map((l) => l.line));
    for (const l of ruleLines(r.theirErr)) {
      if (l.msg.startsWith('Failed to run builtin')) continue;
      t.ok(ours.has(l.line), `${r.label}: devctl logs "${l.line}"`);
      if (/^(LINK|GROUP|OWNER|MODE|RUN|NAME|ATTR|SYSCTL) /.test(l.msg)) t.ok(ours.has(`${l.at} matched`), `${r.label}: devctl reports ${l.at} as matched`);
    }
  }
}

t.test("devctl test prints what udevadm test prints, with Debian's rules", { skip }, async (t) => {
  const u = found as { rules: string };
  const pci = fs.existsSync('/sys/bus/pci/devices') ? fs.readdirSync('/sys/bus/pci/devices').sort()[0] : undefined;
  const cases = (
    [
      ['change', '/sys/class/net/lo'],
      ['add', '/sys/class/net/lo'],
      ['add', '/sys/devices/virtual/mem/null'],
      ['change', '/sys/devices/virtual/mem/null'],
      ['add', '/sys/class/tty/tty1'],
      ['add', '/sys/class/tty/console'],
      ['add', `/sys/class/block/${spareLoop}`],
      ['change', `/sys/class/block/${spareLoop}`],
      ['add', '/sys/devices/system/cpu/cpu0'],
      ['add', '/sys/class/net/eth0'],
      ...(pci ? [['add', `/sys/bus/pci/devices/${pci}`]] : []),
    ] as [string, string][]
  ).filter(([, p]) => fs.existsSync(p));
  const results = compare(u.rules, cases);
  check(t, results, (label) => /\/(lo|null)$/.test(label));
  t.ok(results.length >= 4, `${results.length} events compared`);
});

t.test('devctl test prints what udevadm test prints, with rules that run programs', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devctl-test-rules-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(dir, '50-test.rules'),
    [
      'KERNEL=="lo", ENV{A}="$kernel-%n-$attr{mtu}", TAG+="t1", TAG+="t2"',
      'KERNEL=="lo", PROGRAM="/bin/echo one two three", RESULT=="one *", ENV{B}="%c{2}|%c{2+}"',
      `KERNEL=="lo", IMPORT{program}="/bin/sh -c 'echo C=$$INTERFACE; echo D=\\"a b\\"; echo E=$$HOME'"`,
      'KERNEL=="lo", PROGRAM="/bin/false", ENV{NEVER}="1"',
      'KERNEL=="lo", RUN+="/bin/echo $$kernel %%k", RUN{builtin}+="kmod load x"',
      'SUBSYSTEM=="net", GOTO="end"',
      'ENV{SKIPPED}="1"',
      'LABEL="end"',
      'KERNEL=="null", SYMLINK+="my/null other", OPTIONS+="link_priority=5", MODE="0600", ENV{E}="$links"',
      'KERNEL=="null", ENV{F}="$devnode %M:%m $name", ENV{E}+="x", ENV{E}=="*x", TAG+="n"',
      'KERNEL=="null", SYMLINK=="my/*", ENV{G}="yes"',
    ].join('\n') + '\n',
  );
  const results = compare(dir, [
    ['add', '/sys/class/net/lo'],
    ['change', '/sys/devices/virtual/mem/null'],
  ]);
  check(t, results, () => true);
  t.match(results[0].ours, /\nC=lo\nD=a b\nUSEC_INITIALIZED=/, 'the program got the device properties, and only them, as its environment (E= has no value: not a property)');
  t.match(results[0].ours, /\nrun: 'kmod load x'\nrun: '\/bin\/echo lo lo'\n$/, 'RUN items formatted once more when printed, as udevadm test does (builtins first: token order)');
});

t.test('devctl test: options and errors', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'devctl-test-rules-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, '10-a.rules'), 'KERNEL=="lo", ENV{X}="1"\nKERNEL=="nosuch", ENV{Y}="1"\nATTR{x}="y", KERNEL=="lo"\n');
  const env = { DEVMASTER_RULES_DIRS: `${dir}:/nonexistent` };
  let r = cliSync('devctl', ['test', '-a', 'change', '-N', 'late', '/sys/class/net/lo'], env);
  t.equal(r.code, 0);
  t.match(r.stdout, /^This program is for debugging only[^]*\n\nDEVPATH=\/devices\/virtual\/net\/lo\n[^]*ACTION=change\nSUBSYSTEM=net\nX=1\nUSEC_INITIALIZED=\d+\n$/);
  t.match(r.stderr, new RegExp(`Reading rules file: ${dir}/10-a.rules\nlo: ${dir}/10-a.rules:1 matched\n`));
  t.notMatch(r.stderr, /10-a\.rules:2 matched/);
  t.match(r.stderr, /lo: dry run: 'y' not written to \/sys\/devices\/virtual\/net\/lo\/x\n/, 'ATTR{}= is shown, not written');
  r = cliSync('devctl', ['test', '--action=help', '/sys/class/net/lo'], env);
  t.same([r.code, r.stdout], [0, 'Possible actions:\n  add\n  remove\n  change\n  move\n  online\n  offline\n  bind\n  unbind\n']);
  r = cliSync('devctl', ['test', '--action=explode', '/sys/class/net/lo'], env);
  t.equal(r.code, 1);
  t.match(r.stderr, /unknown action 'explode': expected one of add, remove, change, move, online, offline, bind, unbind/);
  r = cliSync('devctl', ['test', '/sys/class/nosuch'], env);
  t.equal(r.code, 1);
  t.match(r.stderr, /\/sys\/class\/nosuch: no such device in sysfs/);
  r = cliSync('devctl', ['test', '-N', 'sometimes', '/sys/class/net/lo'], env);
  t.match([r.code, r.stderr], [1, /--resolve-names=sometimes: expected early, late or never/]);
});
