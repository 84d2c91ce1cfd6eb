// What running the rules on one event decided (devmaster/evaluate.ts makes it): the daemon applies it (device node,
// links, database, RUN programs) and broadcasts the result. Kept apart so the daemon, the evaluator and `devctl test`
// share one shape.

export interface RunItem {
  /** The command after substitutions: a program's argv[0] is a path or a name under /lib/udev. */
  command: string;
  builtin: boolean;
  /** Where it was added, for `devctl test` and error messages. */
  file: string;
  line: number;
}

export interface Outcome {
  /** The device's properties after the rules: the event's, the old db's, and every ENV{}=/IMPORT, in order. */
  properties: Map<string, string>;
  /** NAME= on a network interface: the name to rename it to. Ignored for other devices, as udev 252 does. */
  name?: string;
  /** Symlinks relative to /dev (SYMLINK=), in the order they were added. */
  links: string[];
  /** OPTIONS+="link_priority=N". */
  linkPriority: number;
  /** OWNER=/GROUP= as given (a name or a number), MODE= in octal text; undefined when no rule set them. */
  owner?: string;
  group?: string;
  mode?: string;
  /** The tags of this event (TAG=/TAG+=/TAG-=). */
  tags: string[];
  /** RUN{program} and RUN{builtin} items, run after the event is applied. */
  run: RunItem[];
  /** OPTIONS+="db_persist". */
  dbPersist: boolean;
  /** OPTIONS+="watch" / "nowatch": whether to watch the device node for close-after-write. */
  watch?: boolean;
  /** OPTIONS+="static_node=..." seen (only meaningful at rules load, as in udev). */
  staticNodes: string[];
  /** Problems met while evaluating (an unsupported builtin, a program that failed or timed out). */
  warnings: string[];
}
