// Model-based tests of a unit statechart with @xstate/graph: the machine as pure logic that keeps what each
// transition asked for, and the shortest path to each private state, to replay through a real actor.
import type { AdjacencyMap } from '@xstate/graph';
import { fromTransition, initialTransition, transition, type AnyStateMachine, type EventFromLogic, type InputFrom, type SnapshotFrom } from 'xstate';

type Effects<M extends AnyStateMachine> = ReturnType<typeof transition<M>>[1];

/**
 * `machine` as transition logic for getAdjacencyMap, and the effects (actions) each transition asked for, by its
 * event: an event that changes nothing returns the very snapshot it got, so the snapshot cannot key them. It reuses
 * the traversal's actor scope: xstate's transition() would build a throwaway actor per call.
 */
export function recording<M extends AnyStateMachine>(machine: M) {
  const effects = new WeakMap<object, Effects<M>>();
  const logic = fromTransition(
    (snap: SnapshotFrom<M>, event: EventFromLogic<M>, scope) => {
      const actions: Effects<M> = [];
      const collect = { ...scope, actionExecutor: (a: Effects<M>[number]) => void actions.push(a) };
      const next = machine.transition(snap, event, collect as unknown as Parameters<M['transition']>[2]) as SnapshotFrom<M>;
      effects.set(event, actions);
      return next;
    },
    ({ input }: { input: InputFrom<M> }) => initialTransition(machine, input)[0] as SnapshotFrom<M>,
  );
  return { logic, effectsOf: (event: EventFromLogic<M>): Effects<M> => effects.get(event) ?? [] };
}

/**
 * The events of a shortest path from the initial state to the first state of each private state, by BFS over the
 * adjacency map (`serialize` must be the one the map was built with).
 */
export function pathsByState<S extends { context: { value: unknown } }, E>(
  adjacency: AdjacencyMap<S, E>,
  serialize: (snapshot: S['context']) => string,
): Map<string, E[]> {
  const rows = adjacency as Record<string, { state: S; transitions: Record<string, { event: E; state: S }> }>;
  const [start] = Object.keys(rows);
  const via = new Map<string, { from: string; event: E } | null>([[start, null]]);
  const paths = new Map<string, E[]>();
  for (const key of via.keys()) {
    const state = String(rows[key].state.context.value);
    if (!paths.has(state)) {
      const events: E[] = [];
      for (let at = via.get(key); at; at = via.get(at.from)) events.unshift(at.event);
      paths.set(state, events);
    }
    for (const { event, state: next } of Object.values(rows[key].transitions)) {
      const to = serialize(next.context);
      if (!via.has(to)) via.set(to, { from: key, event });
    }
  }
  return paths;
}
