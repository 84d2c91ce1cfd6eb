// Listen addresses as systemd.socket(5) writes them: a port, an IPv4 or [IPv6] address with a port, a file system
// path, or an @abstract name. Pure: the core's socket effects (units/socket.ts) bind what this returns.
import { isIP } from 'node:net';

export type ListenAddress =
  | { family: 'inet' | 'inet6'; host: string; port: number; scope?: string }
  /** A port alone: IPv6 any with IPv4 too (dual stack), IPv4 any where there is no IPv6. */
  | { family: 'any'; port: number }
  | { family: 'unix'; path: string };

export class ListenError extends Error {}

const expected = 'a port ("8080"), an address and port ("127.0.0.1:8080", "[::1]:8080"), a path ("/run/app.sock") or an abstract name ("@app")';
export const expectListen = expected;

function port(text: string, what: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new ListenError(`${JSON.stringify(what)}: port ${JSON.stringify(text)} is not 1–65535`);
  return n;
}

export function parseListen(text: string): ListenAddress {
  const t = text.trim();
  if (t.startsWith('/') || t.startsWith('@')) {
    if (Buffer.byteLength(t) >= 108) throw new ListenError(`${JSON.stringify(t)}: a socket path has at most 107 bytes`);
    if (t.length < 2) throw new ListenError(`${JSON.stringify(t)}: empty socket name`);
    return { family: 'unix', path: t };
  }
  if (/^\d+$/.test(t)) return { family: 'any', port: port(t, t) };
  const v6 = /^\[([^\]%]+)(?:%([^\]]+))?\]:(\d+)$/.exec(t);
  if (v6) {
    if (isIP(v6[1]) !== 6) throw new ListenError(`${JSON.stringify(t)}: ${v6[1]} is not an IPv6 address`);
    return { family: 'inet6', host: v6[1], port: port(v6[3], t), ...(v6[2] && { scope: v6[2] }) };
  }
  if (/:.*:/.test(t) && !t.startsWith('[')) throw new ListenError(`${JSON.stringify(t)}: write an IPv6 address in brackets, as in "[::1]:80"`);
  const v4 = /^([^:]+):(\d+)$/.exec(t);
  if (v4) {
    if (isIP(v4[1]) !== 4) throw new ListenError(`${JSON.stringify(t)}: ${v4[1]} is not an IPv4 address (write IPv6 in brackets: "[::1]:80")`);
    return { family: 'inet', host: v4[1], port: port(v4[2], t) };
  }
  throw new ListenError(`${JSON.stringify(t)} is not a listen address: expected ${expected}`);
}
