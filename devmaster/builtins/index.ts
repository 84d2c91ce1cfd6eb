// udev's builtin commands (IMPORT{builtin}, RUN{builtin}): each reads the device and returns properties to add, as
// udev's udev_builtin_add_property() adds them. A builtin named in rules.ts's `builtins` list but absent here is
// unsupported: the evaluator reports it and the IMPORT does not match, never a silent skip.
import type { Device } from '../sysfs.js';

/** argv[0] is the builtin's name. Returns the properties to add, or null when the builtin fails (the IMPORT fails). */
export type Builtin = (device: Device, argv: string[]) => [string, string][] | null;

export const builtinTable: Record<string, Builtin> = {};
