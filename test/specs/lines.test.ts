import TOML from '@iarna/toml';
import t from 'tap';
import { scanLines } from '../../specs/lines.js';

const text = `# a comment [not.a.table]
include = ["conf.d/*.toml",
  "more.toml"]

[manager]
DefaultTarget = "multi-user.target" # [service.fake]

[service.web]
Description = """
ExecStart = "not a key"
[hidden.fake2]
"""
ExecStart = [
  "/bin/echo",   # Restart = "no"
  "x",
]
Environment.PORT = "80"
Environment.HOST = "h"
'quoted key' = 1
"dotted"."inner" = 2
Inline = { A = "1", B.C = "2" }
Literal = '''
Restart = "always"
'''
Escaped = "a\\"b # c"
Restart = "on-failure"

[ service . "api.v2" ]
Type = "oneshot"

[service.db.Environment]
PORT = "5432"

[target.multi-user]
Wants = "web.service"
`;

t.test('every table and key maps to the line it was written on', async (t) => {
  TOML.parse(text); // the scanner only ever sees valid TOML
  const lines = scanLines(text);
  const cases: [string[], number][] = [
    [['include'], 2],
    [['manager'], 5],
    [['manager', 'DefaultTarget'], 6],
    [['service', 'web'], 8],
    [['service', 'web', 'Description'], 9],
    [['service', 'web', 'ExecStart'], 13],
    [['service', 'web', 'Environment'], 17],
    [['service', 'web', 'Environment', 'PORT'], 17],
    [['service', 'web', 'Environment', 'HOST'], 18],
    [['service', 'web', 'quoted key'], 19],
    [['service', 'web', 'dotted', 'inner'], 20],
    [['service', 'web', 'Inline'], 21],
    [['service', 'web', 'Inline', 'B', 'C'], 21],
    [['service', 'web', 'Literal'], 22],
    [['service', 'web', 'Escaped'], 25],
    [['service', 'web', 'Restart'], 26],
    [['service', 'api.v2'], 28],
    [['service', 'api.v2', 'Type'], 29],
    [['service', 'db', 'Environment'], 31],
    [['service', 'db', 'Environment', 'PORT'], 32],
    [['target', 'multi-user', 'Wants'], 35],
  ];
  for (const [path, line] of cases) t.equal(lines.at(path), line, path.join('.'));
});

t.test('unknown paths fall back to the nearest written one', async (t) => {
  const lines = scanLines(text);
  t.equal(lines.at(['service', 'web', 'NoSuchKey']), 8, 'the table header');
  t.equal(lines.at(['service', 'fake']), 8, 'a comment is no table: the first [service.*] header');
  t.equal(
    lines.at(['hidden', 'fake2']),
    1,
    'a header inside a multi-line string is not a table: nothing written, line 1',
  );
  t.equal(lines.at(['service']), 8, '[service.web] also defines [service]');
  t.equal(lines.at(['service', 'web', 'Environment', 'X']), 17);
});

t.test('CRLF line ends and dotted top-level keys', async (t) => {
  const crlf = 'a = 1\r\n\r\nservice.web.ExecStart = "/bin/true"\r\n[target.x]\r\nWants = []\r\n';
  TOML.parse(crlf);
  const lines = scanLines(crlf);
  t.equal(lines.at(['service', 'web']), 3);
  t.equal(lines.at(['service', 'web', 'ExecStart']), 3);
  t.equal(lines.at(['target', 'x', 'Wants']), 5);
});
