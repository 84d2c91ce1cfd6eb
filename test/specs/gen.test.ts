// The key table drives the schema and the docs: the committed files must be what gen builds, and the schema must
// refuse what the loader refuses.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import t from 'tap';
import { buildSchema, buildSpecDoc, generated } from '../../specs/gen.js';
import { commonKeys, managerKeys, serviceKeys, unitKeys } from '../../specs/keys.js';
import { kinds } from '../../specs/kinds.js';
import { derivedKeys } from '../../specs/loader.js';
import { parse, problems } from './helpers.js';
import TOML from '@iarna/toml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

t.test('specs/schema.json and docs/spec.md are what specs/gen.ts builds', async (t) => {
  for (const [file, text] of Object.entries(generated())) {
    const committed = fs.readFileSync(path.join(root, file), 'utf8');
    t.ok(committed === text, `${file} is up to date (run: npx tsc && node dist/specs/gen.js)`);
  }
});

t.test('the key table is complete and consistent', async (t) => {
  t.same(unitKeys.service, [...commonKeys, ...serviceKeys]);
  t.same(unitKeys.target, commonKeys);
  for (const [type, defs] of Object.entries(unitKeys)) {
    t.same(defs.slice(0, commonKeys.length), commonKeys, `${type}: the common keys first`);
    t.equal(new Set(defs.map((d) => d.key)).size, defs.length, `${type}: no key twice`);
  }
  // Each key name once: types may share one (a timer's and a path unit's Unit=, derived the same way).
  const all = [...new Map([...Object.values(unitKeys).flat(), ...managerKeys].map((d) => [d.key, d])).values()];
  for (const d of all) {
    t.ok(kinds[d.kind], `${d.key}: known kind ${d.kind}`);
    t.ok(d.doc.length > 20 && d.doc.endsWith('.'), `${d.key}: has a doc sentence`);
    t.equal(d.kind === 'enum', Array.isArray(d.values), `${d.key}: enum values exactly for enums`);
    if (d.values) t.ok(d.values.includes(d.default as string), `${d.key}: default is one of its values`);
  }
  // A key may be derived in one type and not in another (a socket's TriggerLimitBurst=, a path unit's).
  const derived = [...new Set(Object.values(unitKeys).flat().concat(managerKeys).filter((d) => d.derived).map((d) => d.key))].sort();
  t.same(derived, [...derivedKeys].sort(), 'every documented derived default is implemented, and no other');
});

t.test('every default, spelled in TOML, loads back to itself', async (t) => {
  const lines = serviceKeys
    .filter((d) => kinds[d.kind].toml(d.default) !== undefined && d.key !== 'ExecStart')
    .map((d) => `${d.key} = ${JSON.stringify(kinds[d.kind].toml(d.default))}`);
  const spec = await parse(`[service.a]\nExecStart = "/bin/true"\n${lines.join('\n')}\n`);
  const config = spec.units['a.service'].config as unknown as Record<string, unknown>;
  for (const d of serviceKeys) if (!d.derived && d.key !== 'ExecStart') t.same(config[d.key], d.default, d.key);
});

t.test('the schema is draft-07 and documents every key', async (t) => {
  const schema = buildSchema() as {
    $schema: string;
    properties: Record<string, { properties?: object }>;
    definitions: Record<string, { properties: object }>;
  };
  t.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  t.same(
    Object.keys(schema.properties.manager.properties!),
    managerKeys.map((d) => d.key),
  );
  t.same(
    Object.keys(schema.definitions.serviceUnit.properties),
    unitKeys.service.map((d) => d.key),
  );
  t.match(schema.definitions.serviceUnit.properties, {
    Type: { enum: ['simple', 'exec', 'notify', 'oneshot', 'forking'], default: 'simple', description: /sd_notify/ },
  });
  t.match(schema.definitions.serviceUnit.properties, { RestartSec: { description: /DefaultRestartSec/ } });
  t.notOk(
    (schema.definitions.serviceUnit.properties as Record<string, object>).RestartSec.hasOwnProperty('default'),
    'no static default for derived keys',
  );
});

t.test('the schema accepts what the loader accepts, and refuses what it refuses', async (t) => {
  const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(buildSchema());
  const good = `
[manager]
DefaultTarget = "multi-user.target"
DefaultTimeoutStopSec = 5
[service.a]
ExecStart = ["/bin/echo", "x"]
ExecStartPre = [["/bin/true"], "-/bin/false"]
Restart = "on-failure"
RestartSec = "1min 30s"
KillSignal = "TERM"
SuccessExitStatus = [1, "SIGKILL"]
Environment = ["A=1"]
StandardOutput = "append:/tmp/x"
After = "b.service"
[service.b]
ExecStart = "/bin/true"
Environment = { B = 2 }
[target.multi-user]
Wants = ["a.service", "b.service"]
`;
  t.ok(validate(TOML.parse(good)), 'valid');
  await t.resolves(parse(good));
  const bad = [
    'Restart = 3',
    'Restart = "sometimes"',
    'RestartSec = "5 secs"',
    'RestartSec = -1',
    'After = "db"',
    'After = ["db"]',
    'KillSignal = "TREM"',
    'StandardOutput = "kmsg"',
    'StandardOutput = "file:rel"',
    'StartLimitBurst = 1.5',
    'SendSIGKILL = "yes"',
    'PIDFile = "x.pid"',
    'WorkingDirectory = 5',
    'Environment = { "A-B" = "1" }',
    'Environment = ["A"]',
    'ExecStop = 3',
    'ExecStop = [[3]]',
    'Typo = 1',
  ];
  for (const line of bad) {
    const text = `[service.a]\nExecStart = "/bin/true"\n${line}\n`;
    t.notOk(validate(TOML.parse(text)), `schema refuses ${line}`);
    t.equal((await problems(parse(text))).length, 1, `loader refuses ${line}`);
  }
});

t.test('docs/spec.md covers every key and the rules, and its example loads', async (t) => {
  const doc = buildSpecDoc();
  const example = /```toml\n([\s\S]*?)```/.exec(doc)![1];
  const spec = await parse(example);
  t.same(Object.keys(spec.units).sort(), ['api.service', 'db.service', 'default.target', 'multi-user.target']);
  for (const d of [...commonKeys, ...serviceKeys, ...managerKeys]) t.match(doc, `| \`${d.key}\` |`, d.key);
  for (const topic of [
    '## Files and includes',
    '## Commands (Exec*=)',
    '## Time spans',
    '#:schema',
    'write db.service',
    '`"infinity"`',
  ]) {
    t.match(doc, topic, topic);
  }
});
