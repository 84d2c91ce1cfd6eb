import t from 'tap';
import { CommandError, splitCommand, toCommand, toCommands } from '../../specs/command.js';

t.test('splitting like systemd ExecStart=', async (t) => {
  const cases: [string, string[]][] = [
    ['/bin/echo a b', ['/bin/echo', 'a', 'b']],
    ['  /bin/echo \t a\n b  ', ['/bin/echo', 'a', 'b']],
    [`/bin/echo "a b" 'c d'`, ['/bin/echo', 'a b', 'c d']],
    [`/bin/echo a"b c"d`, ['/bin/echo', 'ab cd']],
    [`/bin/echo "" ''`, ['/bin/echo', '', '']],
    [`/bin/echo "it's"`, ['/bin/echo', "it's"]],
    [`/bin/echo 'say "hi"'`, ['/bin/echo', 'say "hi"']],
    ['/bin/echo \\"x\\"', ['/bin/echo', '"x"']],
    ['/bin/echo "a\\"b"', ['/bin/echo', 'a"b']],
    [`/bin/echo 'a\\'b'`, ['/bin/echo', "a'b"]],
    ['/bin/echo a\\nb a\\tb a\\\\b a\\sb', ['/bin/echo', 'a\nb', 'a\tb', 'a\\b', 'a b']],
    ['/bin/echo \\x41 \\101 \\u00e9 \\U0001F600', ['/bin/echo', 'A', 'A', 'é', '😀']],
    ['/bin/echo $HOME ${PORT} $$', ['/bin/echo', '$HOME', '${PORT}', '$$']],
    ['/bin/echo a|b >c &', ['/bin/echo', 'a|b', '>c', '&']],
    ['/usr/bin/find . -exec rm {} \\;', ['/usr/bin/find', '.', '-exec', 'rm', '{}', ';']],
    ['/bin/echo ";"', ['/bin/echo', ';']],
    ['/bin/echo a;b', ['/bin/echo', 'a;b']],
    ['', []],
  ];
  for (const [text, argv] of cases) t.same(splitCommand(text), argv, JSON.stringify(text));
});

t.test('bad command lines', async (t) => {
  const cases: [string, RegExp][] = [
    ['/bin/echo "open', /unterminated double quote/],
    ["/bin/echo 'open", /unterminated single quote/],
    ['/bin/echo a\\', /trailing backslash/],
    ['/bin/echo \\q', /unknown escape \\q/],
    ['/bin/echo a\\ b', /unknown escape/],
    ['/bin/echo \\x4', /bad escape/],
    ['/bin/echo \\x00', /not a valid character/],
    ['/bin/echo \\000', /not a valid character/],
    ['/bin/echo \\777', /not a valid character/],
    ['/bin/echo \\12', /bad escape/],
    ['/bin/echo \\uD800', /not a valid character/],
    ['/bin/true ; /bin/false', /lone ";"/],
  ];
  for (const [text, message] of cases) t.throws(() => splitCommand(text), { name: 'CommandError', message }, text);
});

t.test('prefixes', async (t) => {
  t.same(toCommand(['-/bin/false', 'x']), { path: '/bin/false', argv: ['/bin/false', 'x'], ignoreFailure: true });
  t.same(toCommand(['/bin/true']), { path: '/bin/true', argv: ['/bin/true'], ignoreFailure: false });
  t.same(toCommand(['true']), { path: 'true', argv: ['true'], ignoreFailure: false }, 'a bare name stays bare');
  for (const [prefix, what] of [
    ['@', '"@"'],
    ['+', '"+"'],
    ['!', '"!"'],
    ['!!', '"!"'],
    [':', '":"'],
    ['|', '"|"'],
    ['-@', '"@"'],
  ]) {
    t.throws(
      () => toCommand([`${prefix}/bin/true`]),
      { message: new RegExp(`${what.replace(/[|+]/g, '\\$&')} prefix .* not supported`) },
      prefix,
    );
  }
  t.throws(() => toCommand(['-']), /names no program/);
  t.throws(() => toCommand([]), /empty command/);
  t.throws(() => toCommand(['bin/x']), { message: /neither an absolute path nor a bare name/, hint: /absolute path/ });
  t.throws(() => toCommand(['./x']), /neither an absolute path nor a bare name/);
});

t.test('value forms of the Exec keys', async (t) => {
  const argv = (...cmds: { argv: string[] }[]) => cmds.map((c) => c.argv);
  t.same(argv(...toCommands('/bin/echo a "b c"')), [['/bin/echo', 'a', 'b c']], 'a string is one command line');
  t.same(
    argv(...toCommands(['/bin/echo', 'a b', '$X'])),
    [['/bin/echo', 'a b', '$X']],
    'an array of strings is one literal argv',
  );
  t.same(
    argv(...toCommands([['/bin/mkdir', '-p', '/tmp/x'], '-/bin/false now'])),
    [
      ['/bin/mkdir', '-p', '/tmp/x'],
      ['/bin/false', 'now'],
    ],
    'an array with an array element is a list of commands',
  );
  t.same(toCommands([]), [], 'an empty array is no command');
  t.equal(toCommands([['-/bin/false'], '/bin/true'])[0].ignoreFailure, true);
  t.throws(() => toCommands(['/bin/echo hi', '/bin/true']), {
    message: /argv\[0\] "\/bin\/echo hi" contains whitespace/,
    hint: /an array of strings is one argv; for several commands write \[\[\.\.\.\], \[\.\.\.\]\]/,
  });
  t.same(
    argv(...toCommands([['/opt/my app/run', 'x']])),
    [['/opt/my app/run', 'x']],
    'a path with a space, unambiguous',
  );
  t.throws(() => toCommands(''), /empty command/);
  t.throws(() => toCommands([[]]), /empty command/);
  t.throws(() => toCommands(3), CommandError);
  t.throws(() => toCommands([['/bin/true', 3]]), CommandError);
});
