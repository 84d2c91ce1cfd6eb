/**
 * The layered DAG workload every benchmark shares: `layers` × `width` units, each Requires+After two units of the
 * layer above, every payload signalling readiness and then sleeping.
 */
export interface DagOptions {
  layers: number;
  width: number;
  /** The payload's readiness step (a shell fragment). */
  ready: string;
  /** A number that marks the payload's sleep, to find its processes in /proc. */
  marker: string;
}

/** The DAG the benchmarks run, sized by BENCH_LAYERS and BENCH_WIDTH, Type=notify via systemd-notify. */
export function dagOptions(marker: string): DagOptions {
  return {
    layers: Number(process.env.BENCH_LAYERS ?? 10),
    width: Number(process.env.BENCH_WIDTH ?? 30),
    ready: 'systemd-notify --ready',
    marker,
  };
}

export function dagNames(o: DagOptions): string[][] {
  return Array.from({ length: o.layers }, (_, l) => Array.from({ length: o.width }, (_, i) => `l${l}u${i}`));
}

export function dagParents(o: DagOptions, l: number, i: number): string[] {
  if (l === 0) return [];
  return [`l${l - 1}u${i}`, `l${l - 1}u${(i + 1) % o.width}`];
}

export function payload(o: DagOptions): string {
  return `${o.ready}; exec sleep ${o.marker}`;
}

/** The DAG as a sysmaster spec (Type=notify). */
export function dagSpec(o: DagOptions): string {
  const out = ['[manager]', 'DefaultTimeoutStartSec = "300s"', 'DefaultTimeoutStopSec = "30s"', ''];
  dagNames(o).forEach((layer, l) =>
    layer.forEach((name, i) => {
      const deps = JSON.stringify(dagParents(o, l, i).map((p) => `${p}.service`));
      out.push(`[service.${name}]`, 'Type = "notify"', 'NotifyAccess = "all"', `ExecStart = ["/bin/sh", "-c", ${JSON.stringify(payload(o))}]`);
      out.push(`Requires = ${deps}`, `After = ${deps}`, '');
    }),
  );
  return out.join('\n');
}
