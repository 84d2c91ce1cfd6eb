// Writing a device's uevent file makes the kernel send an event for it: the devmaster tests' way to cause real ones.
import fs from 'node:fs';

export const LO = '/sys/class/net/lo/uevent';

/** Why events cannot be caused here, or false when they can. */
export const cannotTrigger: string | false = (() => {
  try {
    fs.accessSync(LO, fs.constants.W_OK);
    return false;
  } catch (e) {
    return `cannot write ${LO}: ${(e as Error).message}`;
  }
})();
