// ForwardToSyslog: each record as a datagram on the syslog socket, in the form journald forwards (RFC 3164 as
// syslog(3) writes it: `<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE`), so rsyslog and syslog-ng file it as usual.
import { sendDatagram, unixDgramSocket, type SysError } from '../reconciler/sys.js';
import type { LogRecord } from './store.js';

/** syslog(3)'s LOG_DAEMON: services and the manager alike. */
const DAEMON = 3;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function syslogLine(r: LogRecord): string {
  const d = new Date(r.time);
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  // The identifier is the unit's name without its type, as a service's own syslog(3) calls would mostly say.
  const ident = r.unit.replace(/\.service$/, '');
  return `<${DAEMON * 8 + r.priority}>${stamp} ${ident}${r.pid ? `[${r.pid}]` : ''}: ${r.message}`;
}

/**
 * A sender to the syslog socket (/dev/log, or SYSMASTER_SYSLOG_SOCKET), never blocking the log process: `busy`
 * when the syslog daemon is behind (the datagram is dropped, as journald's forwarding drops it), `gone` when no
 * syslog daemon listens.
 */
export function syslogSender(path: string): (datagram: string) => 'sent' | 'busy' | 'gone' {
  let fd: number | null = null;
  return (datagram) => {
    try {
      fd ??= unixDgramSocket(true);
      sendDatagram(fd, path, Buffer.from(datagram));
      return 'sent';
    } catch (err) {
      return (err as SysError).code === 'EAGAIN' ? 'busy' : 'gone';
    }
  };
}
