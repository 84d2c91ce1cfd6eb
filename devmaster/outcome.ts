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
  /**
   * The device's properties after the rules, in sd-device's order: the event's, every ENV{}=/IMPORT/builtin, then
   * USEC_INITIALIZED, DEVLINKS, TAGS, CURRENT_TAGS. On `remove` the old db's come in after the event's (udev reads
   * the db into the removed device); on other actions they do not (udev's event device is sealed).
   */
  properties: Map<string, string>;
  /** The properties the database keeps (its E: lines): those set by rules, imports and builtins, not the kernel's. */
  dbProperties: Map<string, string>;
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
  /** OWNER=/GROUP= resolved (/etc/passwd, /etc/group); unknown names are dropped with a warning, as udev does. */
  uid?: number;
  gid?: number;
  /** The tags of this event (TAG=/TAG+=/TAG-=): the db's Q: lines. */
  tags: string[];
  /** Every tag (the db's G: lines): the old db's, kept unless TAG= cleared them, plus this event's. */
  allTags: string[];
  /** RUN{program} and RUN{builtin} items, run after the event is applied. */
  run: RunItem[];
  /** OPTIONS+="db_persist". */
  dbPersist: boolean;
  /** OPTIONS+="watch" / "nowatch": whether to watch the device node for close-after-write. */
  watch?: boolean;
  /** OPTIONS+="static_node=..." seen (only meaningful at rules load, as in udev). */
  staticNodes: string[];
  /** OPTIONS+="log_level=...": the syslog level (0-7) to log the rest of this event at; undefined after `reset`. */
  logLevel?: number;
  /** Every rule line whose keys all matched (its assignments were applied, its GOTO taken), in order. */
  matched: { file: string; line: number }[];
  /** Problems met while evaluating (an unsupported builtin, a program that failed or timed out). */
  warnings: string[];
}
