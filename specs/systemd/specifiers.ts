// systemd's % specifiers (systemd.unit(5) "Specifiers"), for the system manager running as root: the
// directories are the system ones and %u/%h are root's, as systemd resolves them for PID 1.
export class SpecifierError extends Error {}

/** systemd's unit_name_unescape(): `-` is `/`, `\xNN` a byte. */
export function unescapeName(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})|-/g, (m, hex: string | undefined) =>
    hex ? String.fromCharCode(parseInt(hex, 16)) : '/',
  );
}

/** The parts of a unit name the specifiers read: `foo@bar.service` → foo, bar, service. */
export function nameParts(name: string): { prefix: string; instance: string; type: string } {
  const dot = name.lastIndexOf('.');
  const stem = name.slice(0, dot);
  const at = stem.indexOf('@');
  return {
    prefix: at < 0 ? stem : stem.slice(0, at),
    instance: at < 0 ? '' : stem.slice(at + 1),
    type: name.slice(dot + 1),
  };
}

const fixed: Record<string, string> = {
  t: '/run',
  S: '/var/lib',
  C: '/var/cache',
  L: '/var/log',
  E: '/etc',
  T: '/tmp',
  V: '/var/tmp',
  h: '/root',
  u: 'root',
  U: '0',
  g: 'root',
  G: '0',
  s: '/bin/sh',
};

/** Expands every specifier in `value` for unit `name`. Throws SpecifierError on one systemd does not have here. */
export function expandSpecifiers(value: string, name: string): string {
  const { prefix, instance } = nameParts(name);
  const dash = prefix.lastIndexOf('-');
  const last = dash < 0 ? prefix : prefix.slice(dash + 1);
  const by: Record<string, string> = {
    ...fixed,
    n: name,
    N: name.slice(0, name.lastIndexOf('.')),
    p: prefix,
    P: unescapeName(prefix),
    i: instance,
    I: unescapeName(instance),
    j: last,
    J: unescapeName(last),
    f: '/' + unescapeName(instance || prefix).replace(/^\/+/, ''),
    '%': '%',
  };
  return value.replace(/%(.?)/g, (m, c: string) => {
    if (c in by) return by[c];
    throw new SpecifierError(
      c ? `specifier %${c} is not supported` : 'a lone "%" at the end (write %% for a literal "%")',
    );
  });
}
