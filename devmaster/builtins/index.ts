// udev's builtin commands (IMPORT{builtin}, RUN{builtin}): each reads the device and returns properties to add, as
// udev's udev_builtin_add_property() adds them. A builtin named in rules.ts's `builtins` list but absent here is
// unsupported: the evaluator reports it and the IMPORT does not match, never a silent skip.
import type { Device } from '../sysfs.js';
import { inputId } from './input_id.js';
import { netId } from './net_id.js';
import { pathId } from './path_id.js';
import { usbId } from './usb_id.js';

/** argv[0] is the builtin's name. Returns the properties to add, or null when the builtin fails (the IMPORT fails). */
export type Builtin = (device: Device, argv: string[]) => [string, string][] | null;

export const builtinTable: Record<string, Builtin> = { input_id: inputId, net_id: netId, path_id: pathId, usb_id: usbId };
