// The [path.NAME] keys: systemd.path(5)'s, with its defaults.
import type { KeyDef } from '../keys.js';

const paths = 'Absolute paths, a string or an array of strings.';

export const pathKeys: KeyDef[] = [
  {
    key: 'PathExists',
    kind: 'paths',
    default: [],
    doc: `Start Unit= while the path exists (checked again each time the unit stops). ${paths}`,
  },
  {
    key: 'PathExistsGlob',
    kind: 'paths',
    default: [],
    doc: `Start Unit= while something matches the glob (\`*\`, \`?\`, \`[...]\` within a path segment; wildcards do not match a leading dot). ${paths}`,
  },
  {
    key: 'PathChanged',
    kind: 'paths',
    default: [],
    doc: `Start Unit= when the file is closed after a write, or the path (or, for a directory, an entry in it) is created, deleted, moved or has its attributes changed. ${paths}`,
  },
  {
    key: 'PathModified',
    kind: 'paths',
    default: [],
    doc: `Like PathChanged=, and also on every write, not only when the writer closes the file. ${paths}`,
  },
  {
    key: 'DirectoryNotEmpty',
    kind: 'paths',
    default: [],
    doc: `Start Unit= while the directory holds an entry (hidden ones and backups ending in \`~\` do not count). ${paths}`,
  },
  {
    key: 'Unit',
    kind: 'unit',
    triggers: true,
    default: '',
    derived: 'the .service of the same name',
    doc: 'The unit the path unit starts. It must be defined in the spec; the synthesised default.target does not start it itself.',
  },
  {
    key: 'MakeDirectory',
    kind: 'bool',
    default: false,
    doc: 'Create the directories of PathChanged=, PathModified= and DirectoryNotEmpty= (and their parents) when the path unit starts. Default false.',
  },
  {
    key: 'DirectoryMode',
    kind: 'mode',
    default: 0o755,
    doc: 'Mode of the directories MakeDirectory= creates (less the umask). Default "0755".',
  },
  {
    key: 'TriggerLimitIntervalSec',
    kind: 'duration',
    default: 2000,
    doc: 'With TriggerLimitBurst=: a path unit that starts its unit more often than that within this span fails with result `trigger-limit-hit`. Default 2s.',
  },
  {
    key: 'TriggerLimitBurst',
    kind: 'count',
    default: 200,
    doc: 'Triggers allowed within TriggerLimitIntervalSec=; 0 disables the limit. Default 200.',
  },
];
