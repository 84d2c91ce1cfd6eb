// Where a service's RuntimeDirectory= and the rest go, making them, and removing the runtime ones.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { DirectoryError, directoryRoots, prepareDirectories, removeRuntime, removesRuntime } from '../../reconciler/directories.js';
import { resolveUser } from '../../reconciler/users.js';
import { serviceConfig } from '../machines/harness.js';

const system = { RuntimeDirectory: '/run', StateDirectory: '/var/lib', CacheDirectory: '/var/cache', LogsDirectory: '/var/log', ConfigurationDirectory: '/etc' };

t.test('the system manager: systemd\'s roots, whatever the environment says', async (t) => {
  t.same(directoryRoots(0, { XDG_RUNTIME_DIR: '/run/user/0', HOME: '/root' }), system);
});

t.test('a user manager: systemd --user\'s roots, from the XDG variables', async (t) => {
  const env = { XDG_RUNTIME_DIR: '/run/user/1000', XDG_STATE_HOME: '/s', XDG_CACHE_HOME: '/c', XDG_CONFIG_HOME: '/f', HOME: '/home/u' };
  t.same(directoryRoots(1000, env), {
    RuntimeDirectory: '/run/user/1000',
    StateDirectory: '/s',
    CacheDirectory: '/c',
    LogsDirectory: '/s/log',
    ConfigurationDirectory: '/f',
  });
});

t.test('a user manager without the XDG variables: their defaults below $HOME; no runtime root at all', async (t) => {
  t.same(directoryRoots(1000, { HOME: '/home/u' }), {
    RuntimeDirectory: null,
    StateDirectory: '/home/u/.local/state',
    CacheDirectory: '/home/u/.cache',
    LogsDirectory: '/home/u/.local/state/log',
    ConfigurationDirectory: '/home/u/.config',
  });
});

t.test('SYSMASTER_EXEC_DIRECTORY_ROOT puts the system layout below it, for any manager', async (t) => {
  const want = Object.fromEntries(Object.entries(system).map(([k, v]) => [k, `/tmp/x${v}`]));
  t.same(directoryRoots(1000, { SYSMASTER_EXEC_DIRECTORY_ROOT: '/tmp/x' }), want);
  t.same(directoryRoots(0, { SYSMASTER_EXEC_DIRECTORY_ROOT: '/tmp/x/' }), want);
});

/** Roots below a fresh temp directory, removed when the test ends. */
function tempRoots(t: Test) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sysmaster-dirs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return directoryRoots(0, { SYSMASTER_EXEC_DIRECTORY_ROOT: dir });
}

t.test('the directories are made with their parents and their exact mode; the variables list them', async (t) => {
  const roots = tempRoots(t);
  const old = process.umask(0o077);
  t.teardown(() => void process.umask(old));
  const cfg = serviceConfig({
    RuntimeDirectory: ['app', 'app/sockets'],
    RuntimeDirectoryMode: 0o775,
    StateDirectory: ['deep/er/app'],
    StateDirectoryMode: 0o700,
    ConfigurationDirectory: ['app'],
  });
  const env = prepareDirectories(cfg, roots, null);
  t.same(env, {
    RUNTIME_DIRECTORY: `${roots.RuntimeDirectory}/app:${roots.RuntimeDirectory}/app/sockets`,
    STATE_DIRECTORY: `${roots.StateDirectory}/deep/er/app`,
    CONFIGURATION_DIRECTORY: `${roots.ConfigurationDirectory}/app`,
  });
  const mode = (p: string) => fs.statSync(p).mode & 0o7777;
  t.equal(mode(`${roots.RuntimeDirectory}/app`), 0o775, 'the mode, whatever the umask');
  t.equal(mode(`${roots.RuntimeDirectory}/app/sockets`), 0o775);
  t.equal(mode(`${roots.StateDirectory}/deep/er/app`), 0o700);
  t.equal(mode(`${roots.ConfigurationDirectory}/app`), 0o755, 'the default mode');
  t.notOk(fs.existsSync(roots.CacheDirectory!), 'nothing for a kind the service names none of');
  // Again, over what is there: a mode changed meanwhile is put back.
  fs.chmodSync(`${roots.StateDirectory}/deep/er/app`, 0o777);
  t.same(prepareDirectories(cfg, roots, null), env);
  t.equal(mode(`${roots.StateDirectory}/deep/er/app`), 0o700);
});

t.test('User= owns the directories, but not ConfigurationDirectory=, as in systemd', { skip: process.getuid?.() !== 0 && 'needs root to chown' }, async (t) => {
  const roots = tempRoots(t);
  const nobody = resolveUser('nobody');
  const cfg = serviceConfig({ User: 'nobody', CacheDirectory: ['app'], LogsDirectory: ['app'], ConfigurationDirectory: ['app'] });
  prepareDirectories(cfg, roots, nobody);
  const owner = (p: string) => [fs.statSync(p).uid, fs.statSync(p).gid];
  t.same(owner(`${roots.CacheDirectory}/app`), [nobody.uid, nobody.gid]);
  t.same(owner(`${roots.LogsDirectory}/app`), [nobody.uid, nobody.gid]);
  t.same(owner(`${roots.ConfigurationDirectory}/app`), [0, 0]);
  t.same(owner(roots.CacheDirectory!), [0, 0], 'the parents stay root\'s');
});

t.test('a directory that cannot be made: systemd\'s exit status for its kind, and what went wrong', async (t) => {
  const roots = tempRoots(t);
  fs.mkdirSync(roots.CacheDirectory!, { recursive: true });
  fs.writeFileSync(`${roots.CacheDirectory}/app`, 'a file');
  const err = t.throws(() => prepareDirectories(serviceConfig({ CacheDirectory: ['app'] }), roots, null)) as DirectoryError;
  t.type(err, DirectoryError);
  t.equal(err.status, 239);
  t.match(err.message, `CacheDirectory=: cannot make ${roots.CacheDirectory}/app: it exists and is not a directory (exit status 239, CACHE_DIRECTORY)`);
  const none = { ...roots, RuntimeDirectory: null };
  const missing = t.throws(() => prepareDirectories(serviceConfig({ RuntimeDirectory: ['x'] }), none, null)) as DirectoryError;
  t.equal(missing.status, 233);
  t.match(missing.message, 'RuntimeDirectory=: a manager not run by root makes it below $XDG_RUNTIME_DIR, which is not set');
});

t.test('RuntimeDirectoryPreserve=: no always removes, yes never, restart unless the unit comes back', async (t) => {
  const table: [Parameters<typeof removesRuntime>, boolean][] = [
    [['no', 'dead', false], true],
    [['no', 'auto-restart', false], true],
    [['no', 'dead', true], true],
    [['yes', 'dead', false], false],
    [['yes', 'failed', false], false],
    [['restart', 'dead', false], true],
    [['restart', 'failed', false], true],
    [['restart', 'auto-restart', false], false],
    [['restart', 'dead', true], false],
  ];
  for (const [args, want] of table) t.equal(removesRuntime(...args), want, args.join(' '));
});

t.test('removing takes the runtime directories and their contents, not their parents', async (t) => {
  const roots = tempRoots(t);
  const cfg = serviceConfig({ RuntimeDirectory: ['a/b', 'c'], StateDirectory: ['s'] });
  prepareDirectories(cfg, roots, null);
  fs.writeFileSync(`${roots.RuntimeDirectory}/a/b/pid`, '1');
  t.same(removeRuntime(cfg, roots), []);
  t.notOk(fs.existsSync(`${roots.RuntimeDirectory}/a/b`));
  t.notOk(fs.existsSync(`${roots.RuntimeDirectory}/c`));
  t.ok(fs.existsSync(`${roots.RuntimeDirectory}/a`), 'the parent stays');
  t.ok(fs.existsSync(`${roots.StateDirectory}/s`), 'StateDirectory= stays');
  t.same(removeRuntime(cfg, roots), [], 'nothing there: nothing to do');
});
