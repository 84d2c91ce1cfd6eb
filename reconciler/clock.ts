// The machine's boot and a process's start on the wall clock: what timers' OnBootSec= and OnStartupSec= count from.
import fs from 'node:fs';
import { startTime } from './proc.js';
import { libcFunction } from './sys.js';

/** When the machine booted, in ms since the epoch by the wall clock at `now` (/proc/uptime counts CLOCK_BOOTTIME). */
export function bootTime(now = Date.now()): number {
  return now - Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
}

const SC_CLK_TCK = 2;
let ticksPerSecond: number | undefined;

/** How long after the boot `pid` started, in ms (/proc/PID/stat counts clock ticks), or null when it is gone. */
export function startedAfterBoot(pid: number): number | null {
  const ticks = startTime(pid);
  ticksPerSecond ??= libcFunction<(name: number) => number>('long sysconf(int name)')(SC_CLK_TCK);
  return ticks === null ? null : (Number(ticks) * 1000) / ticksPerSecond;
}
