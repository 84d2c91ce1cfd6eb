// [socket.NAME]: listen addresses, the derived Service= and its checks, and what default.target leaves to the socket.
import t from 'tap';
import { parseListen } from '../../specs/listen.js';
import type { SocketConfig, TargetConfig } from '../../specs/types.js';
import { parse, problem } from './helpers.js';

const svc = '[service.app]\nExecStart = "/bin/app"\n';

t.test('listen addresses as systemd.socket(5) writes them', async (t) => {
  t.same(parseListen('8080'), { family: 'any', port: 8080 });
  t.same(parseListen('127.0.0.1:80'), { family: 'inet', host: '127.0.0.1', port: 80 });
  t.same(parseListen('[::1]:80'), { family: 'inet6', host: '::1', port: 80 });
  t.same(parseListen('[fe80::1%eth0]:80'), { family: 'inet6', host: 'fe80::1', port: 80, scope: 'eth0' });
  t.same(parseListen('/run/a.sock'), { family: 'unix', path: '/run/a.sock' });
  t.same(parseListen('@abstract'), { family: 'unix', path: '@abstract' });
  t.throws(() => parseListen('::1:80'), /write an IPv6 address in brackets/);
  t.throws(() => parseListen('70000'), /port "70000" is not 1–65535/);
  t.throws(() => parseListen('localhost:80'), /localhost is not an IPv4 address/);
  t.throws(() => parseListen('/' + 'x'.repeat(120)), /at most 107 bytes/);
});

t.test('defaults: Service= is the same-named service, ordered after the socket, which default.target does not start itself', async (t) => {
  const spec = await parse(`[socket.app]\nListenStream = "/run/app.sock"\n\n${svc}`);
  const c = spec.units['app.socket'].config as SocketConfig;
  t.match(c, { Service: 'app.service', FileDescriptorName: 'app', Accept: false, SocketMode: 0o666, Backlog: 4096, TriggerLimitBurst: 20 });
  t.same(c.Before, ['app.service']);
  t.same((spec.units['default.target'].config as TargetConfig).Wants, ['app.socket']);
});

t.test('Accept=true: the template, which default.target never starts', async (t) => {
  const spec = await parse(`[socket.app]\nListenStream = "8080"\nAccept = true\n\n[service."app@"]\nExecStart = "/bin/app"\n`);
  const c = spec.units['app.socket'].config as SocketConfig;
  t.match(c, { Service: 'app@.service', TriggerLimitBurst: 200 });
  t.same((spec.units['default.target'].config as TargetConfig).Wants, ['app.socket']);
});

t.test('bad sockets are refused with where and what to do', async (t) => {
  t.match(await problem(`[socket.app]\n\n${svc}`), { unit: 'app.socket', message: /no Listen setting/, hint: /ListenStream/ });
  t.match(await problem(`[socket.app]\nListenStream = "localhost:80"\n\n${svc}`), {
    key: 'ListenStream',
    where: { line: 2 },
    message: /localhost is not an IPv4 address/,
  });
  t.match(await problem(`[socket.app]\nListenStream = "8080"\nSocketMode = 666\n\n${svc}`), { key: 'SocketMode', hint: /write "1232"/ });
  t.match(await problem(`[socket.app]\nListenStream = "8080"\nAccept = true\nService = "app.service"\n\n${svc}`), {
    key: 'Service',
    where: { line: 4 },
    message: /must name a template/,
  });
  t.match(await problem(`[socket.app]\nListenStream = "8080"\nAccept = true\n\n${svc}`), {
    key: 'Service',
    message: /names app@\.service, which is not defined/,
  });
  t.match(await problem(`[socket.app]\nListenStream = "8080"\nService = "web.service"\n\n${svc}`), {
    key: 'Service',
    message: /names web\.service, which is not defined/,
  });
  t.match(await problem(`[socket.app]\nListenDatagram = "/run/d"\nAccept = true\n\n[service."app@"]\nExecStart = "/bin/app"\n`), {
    key: 'Accept',
    message: /only for stream and sequential-packet/,
  });
});
