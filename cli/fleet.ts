// `sctl fleet ...`: the operator's side of the fleet (docs/fleet.md). etcd's client is loaded only when a fleet
// command runs: the rest of sctl does not pay for gRPC.
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { Etcd3 } from 'etcd3';
import { formatProblem, type SpecProblem } from '../specs/errors.js';
import { connect, endpointsOf, ETCD_HELP, ETCD_OPTIONS, type EtcdFlags } from '../fleet/etcd.js';
import { parseLabels, selectorText, type Rollout } from '../fleet/keys.js';
import { EXIT, fail } from './exit.js';
import { parseTimeout } from './time.js';
import { collect, colours, table as renderTable } from './style.js';

const out = (s: string): void => void process.stdout.write(s + '\n');

export function fleetCommand(json: () => boolean): Command {
  const c = colours();
  const table = (rows: string[][]) => renderTable(rows, c, out);
  const fleet = new Command('fleet')
    .description('roll specs out to many machines through etcd, watch them, roll them back (docs/fleet.md)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Each machine runs \`sysmaster agent\`, which registers it in etcd with labels and applies what it is assigned
through its own core, as a transaction.

Examples:
  sctl fleet status                                       nodes, liveness, applied revision, last result
  sctl fleet apply web.toml --selector role=web --canary 1 --max-unavailable 2
                                                          canary first, then two at a time; any failure rolls back
  sctl fleet history                                      what each rollout came to
  sctl fleet rollback                                     undo the last committed rollout

${ETCD_HELP}`,
    );
  for (const [flags, doc] of ETCD_OPTIONS) fleet.option(flags, doc);

  // Each command connects, runs, and closes: the gRPC channel would keep the process alive.
  const withClient = async <T>(cmd: Command, fn: (client: Etcd3) => Promise<T>): Promise<T> => {
    const flags = fleet.opts<EtcdFlags>();
    let client: Etcd3;
    try {
      client = await connect(flags);
    } catch (err) {
      return die(`sctl fleet ${cmd.name()}: ${(err as Error).message}`);
    }
    try {
      return await fn(client);
    } catch (err) {
      const e = err as Error;
      if (e.name === 'FleetError') return die(e.message);
      // gRPC's messages end in a blank "Resolution note"; what went wrong comes before it.
      const why = e.message.replace(/\.?\s*Resolution note:.*$/s, '');
      return die(`sctl fleet ${cmd.name()}: etcd at ${endpointsOf(flags)}: ${why} (is etcd running? --endpoints)`);
    } finally {
      client.close();
    }
  };

  fleet
    .command('apply')
    .description('roll SPEC out in waves to the live nodes the selector matches; exit 0 when every node committed')
    .argument('<spec>', 'the spec file (TOML), self-contained: no include, absolute paths')
    .option('-l, --selector <KEY=VALUE>', 'only nodes with these labels (repeat, or comma-separate, for several)', collect, [])
    .option('--canary <N>', 'a first wave of N nodes that must commit before any other is touched', count('--canary'), 0)
    .option('--max-unavailable <M>', 'nodes changed at once in each later wave', count('--max-unavailable', 1), 1)
    .option('--timeout <DUR>', 'the whole rollout must commit within DUR, else it is rolled back (0: no limit)', '5min')
    .addHelpText(
      'after',
      `
A wave proceeds only when every node in it committed the spec (its core's transaction) and none of the spec's
units failed. If a node rolls back, refuses the spec, or the timeout passes, the rollout stops and every node it
changed is rolled back to its previous assignment, each through its own transaction; the command names the node
and why. When all commit, the spec is also recorded for the selector, so nodes that join later get it.

Exit: 0 committed; 1 rolled back or refused.`,
    )
    .action(async (spec: string, o: { selector: string[]; canary: number; maxUnavailable: number; timeout: string }, cmd: Command) => {
      const file = path.resolve(spec);
      const text = await checkSpec(file);
      const selector = parseLabels(o.selector, '--selector');
      const timeoutMs = parseTimeout(o.timeout);
      const progress = (line: string) => void (json() ? undefined : process.stderr.write(line + '\n'));
      const { fleetApply } = await import('../fleet/rollout.js');
      const r = await withClient(cmd, (client) => fleetApply(client, text, { selector, canary: o.canary, maxUnavailable: o.maxUnavailable, timeoutMs, progress }));
      report(r);
    });

  fleet
    .command('status')
    .description('every node: live or not, labels, the revision it applied, its last result, failed units')
    .action(async (_o: unknown, cmd: Command) => {
      const { nodes } = await import('../fleet/read.js');
      const all = await withClient(cmd, nodes);
      const rows = [...all].map(([node, r]) => ({
        node,
        alive: r.alive !== null,
        labels: r.alive?.labels ?? null,
        host: r.alive?.host ?? null,
        desiredRevision: r.desired?.revision ?? null,
        revision: r.status?.revision ?? null,
        source: r.status?.source ?? null,
        rollout: r.status?.rollout ?? null,
        specHash: r.status?.specHash ?? null,
        state: r.status?.state ?? null,
        transaction: r.status?.transaction ?? null,
        error: r.status?.error ?? null,
        failed: r.status?.failed ?? [],
        units: r.status?.units ?? {},
        time: r.status ? new Date(r.status.time).toISOString() : null,
      }));
      if (json()) return out(JSON.stringify(rows, null, 2));
      if (!rows.length) return out('No nodes: start `sysmaster agent` on each machine.');
      table([
        ['NODE', 'ALIVE', 'LABELS', 'REVISION', 'RESULT', 'ROLLOUT', 'FAILED'],
        ...rows.map((r) => [
          r.node,
          r.alive ? c.green('yes') : c.red('no'),
          r.labels ? selectorText(r.labels) || '-' : '-',
          r.revision === null ? '-' : `${r.revision}${r.desiredRevision !== null && r.desiredRevision > r.revision ? ` (→${r.desiredRevision})` : ''}`,
          r.state === null ? '-' : r.state === 'committed' ? c.green(r.state) : r.state === 'applying' ? r.state : c.red(r.state),
          r.rollout === null ? '-' : String(r.rollout),
          r.failed.length ? c.red(r.failed.join(',')) : '-',
        ]),
      ]);
      for (const r of rows.filter((x) => x.error)) out(`${r.node}: ${r.error}`);
    });

  fleet
    .command('history')
    .description('the rollouts and fleet rollbacks: id, start, duration, nodes, result, and what failed')
    .action(async (_o: unknown, cmd: Command) => {
      const { rollouts } = await import('../fleet/read.js');
      const list = await withClient(cmd, rollouts);
      if (json()) return out(JSON.stringify(list, null, 2));
      if (!list.length) return out('No rollouts.');
      table([
        ['ID', 'KIND', 'START', 'DURATION', 'NODES', 'RESULT', 'SELECTOR', 'SPEC'],
        ...list.map((r) => [
          String(r.id),
          r.kind === 'rollback' ? `rollback of ${r.reverts}` : 'apply',
          new Date(r.start).toISOString(),
          r.end === null ? '-' : `${((r.end - r.start) / 1000).toFixed(1)}s`,
          String(Object.keys(r.nodes).length),
          r.result === 'committed' ? c.green(r.result) : r.result === 'running' ? c.yellow(r.result) : c.red(r.result),
          selectorText(r.selector) || '(all)',
          r.specHash,
        ]),
      ]);
      for (const r of list.filter((x) => x.failed)) out(`${r.id}: ${r.failed!.node ?? 'rollout'}: ${r.failed!.reason}`);
    });

  fleet
    .command('rollback')
    .description('give every node a rollout changed its assignment from before (default: the newest committed rollout not yet rolled back)')
    .argument('[rollout]', 'the rollout id (sctl fleet history lists them)')
    .action(async (id: string | undefined, _o: unknown, cmd: Command) => {
      if (id !== undefined && !/^\d+$/.test(id)) die(`sctl fleet rollback: "${id}" is not a rollout id (sctl fleet history lists them)`);
      const progress = (line: string) => void (json() ? undefined : process.stderr.write(line + '\n'));
      const { fleetRollback } = await import('../fleet/rollout.js');
      report(await withClient(cmd, (client) => fleetRollback(client, id === undefined ? null : Number(id), progress)));
    });

  const report = (r: Rollout): never => {
    if (json()) out(JSON.stringify(r, null, 2));
    else {
      const what = r.kind === 'rollback' ? `Rollback ${r.id} (of rollout ${r.reverts})` : `Rollout ${r.id}`;
      const secs = (((r.end ?? Date.now()) - r.start) / 1000).toFixed(1);
      out(`${what}: ${r.result} in ${secs}s on ${Object.keys(r.nodes).length} node(s).`);
      if (r.failed) out(`${r.failed.node ? `Node ${r.failed.node}` : 'The rollout'} failed: ${r.failed.reason}`);
    }
    process.exit(r.result === 'committed' ? EXIT.ok : EXIT.failure);
  };

  return fleet;
}

/** The spec as the nodes will read it: one valid file. Its programs are not looked for here: they live on the nodes. */
async function checkSpec(file: string): Promise<string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return die(`sctl fleet apply: cannot read ${file}: ${(err as Error).message}`);
  }
  const { parseSpec } = await import('../specs/loader.js');
  try {
    const spec = await parseSpec(text, file, { checkExecutables: false });
    if (spec.files.length > 1) die(`${file}: include: a fleet spec must be one self-contained file (the nodes get its text only); merge the included files into it`);
  } catch (err) {
    const problems = (err as { problems?: SpecProblem[] }).problems;
    if (!problems) return die(`sctl fleet apply: ${(err as Error).message}`);
    for (const p of problems) process.stderr.write(formatProblem(p) + '\n');
    return die(`${problems.length} problem${problems.length === 1 ? '' : 's'} found; no node was changed.`);
  }
  return text;
}

function count(flag: string, min = 0) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) die(`${flag}: "${v}" is not a whole number${min ? ` of at least ${min}` : ''}`);
    return n;
  };
}

function die(message: string): never {
  return fail(new Error(message));
}
