// Dependency keywords → atoms, once, at load (systemd's unit-dependency-atom.c). Past this file nothing reads a
// keyword: the transaction builder and the job engine act on atoms only.
import type { UnitCommon } from '../specs/types.js';
import type { AtomGraph, Atoms } from '../transactions/types.js';

function emptyAtoms(): Atoms {
  return {
    pullInStart: [],
    pullInStartIgnored: [],
    pullInVerify: [],
    pullInStop: [],
    propagateStop: [],
    propagateRestart: [],
    boundBy: [],
    propagateStartFailure: [],
    after: [],
    before: [],
    onFailure: [],
    onSuccess: [],
  };
}

const ATOM_NAMES = Object.keys(emptyAtoms()) as (keyof Atoms)[];

/** Every unit gets its atoms; references to units outside `units` are ignored (the loader reported them). */
export function buildAtomGraph(units: Record<string, UnitCommon>): AtomGraph {
  // Sets deduplicate; insertion order keeps the output stable.
  const sets = new Map<string, Record<keyof Atoms, Set<string>>>();
  for (const name of Object.keys(units)) {
    sets.set(name, Object.fromEntries(ATOM_NAMES.map((k) => [k, new Set<string>()])) as Record<keyof Atoms, Set<string>>);
  }
  const put = (unit: string, atom: keyof Atoms, other: string) => {
    // systemd drops dependencies on oneself silently; so do we.
    if (unit !== other && sets.has(unit) && sets.has(other)) sets.get(unit)![atom].add(other);
  };
  /** `dependent` needs `dep` hard: start it, fail with it, stop and restart with it. */
  const requires = (dependent: string, dep: string) => {
    put(dependent, 'pullInStart', dep);
    put(dep, 'propagateStop', dependent);
    put(dep, 'propagateRestart', dependent);
    put(dep, 'propagateStartFailure', dependent);
  };

  for (const [name, u] of Object.entries(units)) {
    for (const dep of u.Requires) requires(name, dep);
    for (const other of u.RequiredBy) requires(other, name);
    for (const dep of u.BindsTo) {
      requires(name, dep);
      put(dep, 'boundBy', name);
    }
    for (const dep of u.Wants) put(name, 'pullInStartIgnored', dep);
    for (const other of u.WantedBy) put(other, 'pullInStartIgnored', name);
    for (const dep of u.Requisite) {
      put(name, 'pullInVerify', dep);
      // systemd's RequisiteOf also propagates stop and restart, like RequiredBy.
      put(dep, 'propagateStop', name);
      put(dep, 'propagateRestart', name);
      put(dep, 'propagateStartFailure', name);
    }
    for (const group of u.PartOf) {
      put(group, 'propagateStop', name);
      put(group, 'propagateRestart', name);
    }
    for (const other of u.Conflicts) {
      put(name, 'pullInStop', other);
      put(other, 'pullInStop', name);
    }
    for (const other of u.After) {
      put(name, 'after', other);
      put(other, 'before', name);
    }
    for (const other of u.Before) {
      put(name, 'before', other);
      put(other, 'after', name);
    }
    for (const other of u.OnFailure) put(name, 'onFailure', other);
    for (const other of u.OnSuccess) put(name, 'onSuccess', other);
  }

  const graph: AtomGraph = {};
  for (const [name, atomSets] of sets) {
    const atoms = emptyAtoms();
    for (const k of ATOM_NAMES) atoms[k] = [...atomSets[k]];
    graph[name] = atoms;
  }
  return graph;
}
