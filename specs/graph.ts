// Dependency cycles. An edge a → b means "a waits for b" (ordering) or "a requires b" (requirements); `key` says
// which setting of which unit made it, so the message can point at it.

export interface Edge {
  from: string;
  to: string;
  /** The unit whose setting made the edge, and the setting (After, Before, Requires, ...). */
  unit: string;
  key: string;
  /** The name as written in that setting. */
  named: string;
}

/** One shortest cycle per strongly connected component, each starting at its alphabetically first unit. */
export function findCycles(edges: readonly Edge[]): Edge[][] {
  const out = new Map<string, Edge[]>();
  for (const e of edges) {
    if (!out.has(e.from)) out.set(e.from, []);
    if (!out.has(e.to)) out.set(e.to, []);
    out.get(e.from)!.push(e);
  }
  for (const list of out.values()) list.sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));

  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const { to } of out.get(v)!) {
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(v, Math.min(low.get(v)!, index.get(to)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...out.keys()].sort()) if (!index.has(v)) visit(v);

  const cycles: Edge[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = component.sort()[0];
    const selfLoop = out.get(start)!.find((e) => e.to === start);
    if (component.length === 1 && !selfLoop) continue;
    cycles.push(selfLoop ? [selfLoop] : shortestLoop(start, members, out));
  }
  return cycles.sort((a, b) => (a[0].from < b[0].from ? -1 : 1));
}

/** Breadth-first from `start` back to itself, staying inside its component. */
function shortestLoop(start: string, members: ReadonlySet<string>, out: ReadonlyMap<string, Edge[]>): Edge[] {
  const via = new Map<string, Edge>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const e of out.get(v)!) {
      if (!members.has(e.to) || via.has(e.to)) continue;
      via.set(e.to, e);
      if (e.to === start) {
        const loop: Edge[] = [];
        for (let edge = e; ; edge = via.get(edge.from)!) {
          loop.unshift(edge);
          if (edge.from === start) return loop;
        }
      }
      queue.push(e.to);
    }
  }
  throw new Error(`no cycle through ${start}`); // unreachable: start is in a non-trivial component
}

/** `a.service → b.service → a.service` */
export function cycleText(cycle: readonly Edge[]): string {
  return [cycle[0].from, ...cycle.map((e) => e.to)].join(' → ');
}
