// systemd's socket_verify(): a socket listens somewhere, and Accept=yes starts instances of a template.
import type { SpecProblem } from '../errors.js';
import { isTemplate } from '../loader.js';
import type { SocketConfig, UnitSpec } from '../types.js';

const LISTEN = ['ListenStream', 'ListenDatagram', 'ListenSequentialPacket', 'ListenFIFO'] as const;

/** `failed`: keys whose value was already reported wrong (the rule then says nothing of them). */
export function socketRules(unit: UnitSpec, failed: ReadonlySet<string>): SpecProblem[] {
  const c = unit.config as SocketConfig;
  const at = (key: string) => unit.keys[key] ?? unit.where;
  const out: SpecProblem[] = [];
  if (!LISTEN.some((k) => c[k].length > 0 || failed.has(k))) {
    out.push({
      where: unit.where,
      unit: unit.name,
      message: 'Unit has no Listen setting (ListenStream=, ListenDatagram=, ListenFIFO=, ...). Refusing.',
      hint: 'add e.g. ListenStream = "/run/app.sock" or ListenStream = "8080"',
    });
  }
  if (failed.has('Accept') || failed.has('Service')) return out;
  if (c.Accept && !isTemplate(c.Service)) {
    out.push({
      where: at('Service'),
      unit: unit.name,
      key: 'Service',
      message: `Accept=true starts one instance per connection, so Service= must name a template ("name@.service"), not ${c.Service}`,
      hint: `define [service."${unit.name.replace(/\.socket$/, '')}@"] and leave Service= out, or set Accept = false`,
    });
  }
  if (!c.Accept && isTemplate(c.Service)) {
    out.push({
      where: at('Service'),
      unit: unit.name,
      key: 'Service',
      message: `${c.Service} is a template: only Accept=true sockets start instances of one`,
      hint: 'name a service, or set Accept = true',
    });
  }
  if (c.Accept && (c.ListenDatagram.length || c.ListenFIFO.length)) {
    out.push({
      where: at(c.ListenDatagram.length ? 'ListenDatagram' : 'ListenFIFO'),
      unit: unit.name,
      key: 'Accept',
      message: 'Accept=true works only for stream and sequential-packet sockets (there is no connection to accept on a datagram socket or a FIFO)',
      hint: 'set Accept = false, or move these to another socket unit',
    });
  }
  return out;
}
