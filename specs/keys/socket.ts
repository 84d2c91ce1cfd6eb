// The [socket.NAME] keys: systemd.socket(5)'s, with its defaults.
import type { KeyDef } from '../keys.js';

const listenNote =
  'A port (`"8080"`: IPv6 and IPv4), `"127.0.0.1:8080"`, `"[::1]:8080"`, a path (`"/run/app.sock"`) or an abstract name (`"@app"`); a string or an array of strings.';

export const socketKeys: KeyDef[] = [
  { key: 'ListenStream', kind: 'listens', default: [], doc: `Stream (TCP or AF_UNIX SOCK_STREAM) sockets to listen on. ${listenNote}` },
  { key: 'ListenDatagram', kind: 'listens', default: [], doc: `Datagram (UDP or AF_UNIX SOCK_DGRAM) sockets. ${listenNote}` },
  {
    key: 'ListenSequentialPacket',
    kind: 'listens',
    default: [],
    doc: 'AF_UNIX SOCK_SEQPACKET sockets: a path or an @abstract name; a string or an array of strings.',
  },
  { key: 'ListenFIFO', kind: 'listens', default: [], doc: 'FIFOs (named pipes) to create and open: absolute paths.' },
  {
    key: 'Accept',
    kind: 'bool',
    default: false,
    doc: '`false`: the service starts on the first connection and gets the listening sockets (LISTEN_FDS, from fd 3). `true`: every connection gets an instance of the template service `NAME@.service` with the connection as fd 3. Default false.',
  },
  {
    key: 'Service',
    kind: 'unit',
    triggers: true,
    default: '',
    derived: '`NAME.service`, or the template `NAME@.service` with Accept=true',
    doc: 'The service the socket starts. It must be defined in the spec; the synthesised default.target does not start it itself.',
  },
  { key: 'SocketMode', kind: 'mode', default: 0o666, doc: 'Mode of AF_UNIX socket files and FIFOs. Default "0666".' },
  { key: 'DirectoryMode', kind: 'mode', default: 0o755, doc: 'Mode of the directories made for socket files and FIFOs. Default "0755".' },
  { key: 'SocketUser', kind: 'name', default: null, doc: 'Owner of AF_UNIX socket files and FIFOs. Default: the manager\'s user.' },
  { key: 'SocketGroup', kind: 'name', default: null, doc: 'Group of AF_UNIX socket files and FIFOs. Default: the manager\'s group.' },
  { key: 'Backlog', kind: 'count', default: 4096, doc: 'listen(2) backlog: connections the kernel queues before the service accepts (capped by net.core.somaxconn). Default 4096.' },
  {
    key: 'MaxConnections',
    kind: 'count',
    default: 64,
    doc: 'With Accept=true, connections served at once; more are closed at once. Default 64.',
  },
  {
    key: 'FileDescriptorName',
    kind: 'string',
    default: '',
    derived: 'the socket unit\'s name without `.socket`',
    doc: 'The name of this socket\'s fds in LISTEN_FDNAMES (sd_listen_fds_with_names).',
  },
  { key: 'RemoveOnStop', kind: 'bool', default: false, doc: 'Remove socket files and FIFOs when the socket stops. Default false.' },
  { key: 'ReusePort', kind: 'bool', default: false, doc: 'SO_REUSEPORT on the sockets. Default false.' },
  {
    key: 'TriggerLimitIntervalSec',
    kind: 'duration',
    default: 2000,
    doc: 'With TriggerLimitBurst=: a socket triggered more often than that within this span fails with result `trigger-limit-hit`. Default 2s.',
  },
  {
    key: 'TriggerLimitBurst',
    kind: 'count',
    default: 0,
    derived: '20, or 200 with Accept=true',
    doc: 'Triggers allowed within TriggerLimitIntervalSec=; 0 disables the limit.',
  },
];
