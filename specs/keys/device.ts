// The [device.NAME] keys: a device unit has no section of its own in systemd; this is the one [Unit] setting that
// matters most for devices, with the default systemd gives it there.
import type { KeyDef } from '../keys.js';

export const deviceKeys: KeyDef[] = [
  {
    key: 'JobRunningTimeoutSec',
    kind: 'timeout',
    default: 90_000,
    derived: '[manager] DefaultTimeoutStartSec (90s)',
    doc: "How long a start job waits for the device to appear before it fails (the unit's result: timeout); 0 or `\"infinity\"` waits forever. systemd's [Unit] JobRunningTimeoutSec=, which for devices defaults to DefaultDeviceTimeoutSec= (90s); here [manager] DefaultTimeoutStartSec (90s).",
  },
];
