// No capabilities at all (--cap-drop ALL), as root and as a non-root --user on a read-only root with a main command:
// the example spec comes up, every process has an empty capability set and the container's user, and docker stop
// ends it in order with exit 0, or with the main command's status. (image.test.ts covers --user and --read-only
// without a main command.)
import t from 'tap';
import { containersUnavailable, eventually, start, type Box } from './harness.js';

const why = containersUnavailable();
const opts = { skip: why ?? false };

/** `PID NAME UID CAPEFF` of every process in the container (docker exec's own run as its user, with its capabilities). */
async function identities(box: Box): Promise<string[]> {
  const each = 'p=${s%/status}; echo "${p#/proc/} $(grep -E "^(Name|Uid|CapEff):" "$s" 2>/dev/null | cut -f2 | tr "\\n" " ")"';
  const r = await box.exec(['sh', '-c', `for s in /proc/[0-9]*/status; do ${each}; done`]);
  // cut -f2 keeps the real uid of Uid's four; a process that ended meanwhile gives a short line.
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.split(' ').length === 4);
}

async function serving(box: Box): Promise<string> {
  return eventually(async () => {
    const r = await box.exec(['wget', '-qO-', 'http://127.0.0.1:8080/']);
    return r.code === 0 && r.stdout;
  }, 'web.service to answer on :8080');
}

t.test('root with --cap-drop ALL: the example spec serves, docker stop exits 0', opts, async (t) => {
  const box = await start(t, { capDrop: ['ALL'] });
  await box.ready();
  t.equal(await serving(box), 'hello from sysmaster\n', 'web.service serves the page setup.service wrote');
  const ids = await identities(box);
  t.ok(ids.length >= 5, `init, the core and the services: ${ids.join(', ')}`);
  t.same(ids.filter((id) => !id.endsWith(' 0000000000000000')), [], 'no process has a capability');
  t.equal(await box.stop(10), 0, 'docker stop: exit 0');
});

t.test('--user 65534 --cap-drop ALL --read-only with a main command: it runs as that user, its status ends it', opts, async (t) => {
  const script = "trap 'exit 7' TERM; echo main ready; sleep 1000 & wait";
  const box = await start(t, { user: '65534:65534', capDrop: ['ALL'], readOnly: true, args: ['--', 'sh', '-c', script] });
  await box.waitFor(/^main ready$/m);
  t.equal(await serving(box), 'hello from sysmaster\n', 'the example spec runs as nobody on a read-only root');
  const ids = await identities(box);
  const main = (await box.json<{ name: string; mainPid: number }[]>('list-units')).find((u) => u.name === 'main.service')?.mainPid;
  t.ok(ids.includes(`${main} sh 65534 0000000000000000`), `the main command, PID ${main}, is among ${ids.join(', ')}`);
  t.same(ids.filter((id) => !id.endsWith(' 65534 0000000000000000')), [], 'every process runs as 65534, with no capability');
  t.equal(await box.stop(10), 7, 'docker stop: the main command traps SIGTERM, exits 7, and so does the container');
});
