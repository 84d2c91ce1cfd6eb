// What a processed event leaves on the machine, as udev's udev_event_execute_rules() leaves it: the device node's
// owner, group and mode; the /dev symlinks (links.ts); a renamed network interface; the database record and tag
// index. Returns the properties to broadcast: the event's, the rules', DEVLINKS, TAGS, CURRENT_TAGS and
// USEC_INITIALIZED, as udevd sends them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { DbRecord, DeviceDb } from './db.js';
import type { LinkStacks } from './links.js';
import type { Outcome } from './outcome.js';

export interface Effects {
  db: DeviceDb;
  links: LinkStacks;
  /** /dev, or a test's directory. */
  devDir: string;
}

export interface Applied {
  properties: Map<string, string>;
  warnings: string[];
}

/** The device node of a DEVNAME (`sda` or `/dev/sda`) under the /dev in use. */
export const nodePath = (devDir: string, devname: string | undefined): string | undefined =>
  devname ? path.join(devDir, devname.replace(/^\/dev\//, '')) : undefined;

const monotonicUsec = () => Number(process.hrtime.bigint() / 1000n);

export function applyEvent(
  fx: Effects,
  event: { action: string; properties: Record<string, string> },
  id: string,
  outcome: Outcome,
): Applied {
  const warnings: string[] = [];
  const old = fx.db.read(id);
  const devnode = nodePath(fx.devDir, event.properties.DEVNAME);
  const usecInitialized = Number(outcome.properties.get('USEC_INITIALIZED')) || old?.usecInitialized || monotonicUsec();
  let links = outcome.links;

  if (event.action === 'remove') {
    links = old?.links ?? [];
    for (const l of links) note(warnings, fx.links.release(l, id));
    fx.db.remove(id);
  } else {
    if (outcome.name && event.properties.INTERFACE && outcome.name !== event.properties.INTERFACE) {
      note(warnings, rename(event.properties.INTERFACE, outcome.name));
    }
    if (devnode) note(warnings, permissions(devnode, outcome));
    for (const l of old?.links ?? []) if (!links.includes(l)) note(warnings, fx.links.release(l, id));
    // Only devices with a node get links, as in udev.
    if (devnode) for (const l of links) note(warnings, fx.links.claim(l, id, devnode, outcome.linkPriority));
    else links = [];
    const record: DbRecord = {
      links,
      linkPriority: outcome.linkPriority,
      usecInitialized,
      properties: [...outcome.dbProperties],
      tags: outcome.allTags,
      currentTags: outcome.tags,
      persist: outcome.dbPersist,
    };
    fx.db.write(id, record);
  }

  // The evaluator's properties, with the node and links where this devmaster keeps them (its /dev).
  const props = new Map(outcome.properties);
  if (devnode) props.set('DEVNAME', devnode);
  props.set('USEC_INITIALIZED', String(usecInitialized));
  if (links.length) props.set('DEVLINKS', links.map((l) => path.join(fx.devDir, l)).join(' '));
  else props.delete('DEVLINKS');
  return { properties: props, warnings: [...warnings, ...outcome.warnings] };
}

function note(warnings: string[], w: string | null): void {
  if (w) warnings.push(w);
}

/** OWNER=/GROUP=/MODE= on the node (names resolved by the evaluator); a GROUP= without MODE= makes it 0660, as udev does. */
function permissions(devnode: string, o: Outcome): string | null {
  if (o.uid === undefined && o.gid === undefined && o.mode === undefined) return null;
  try {
    const st = fs.statSync(devnode);
    const uid = o.uid ?? st.uid;
    const gid = o.gid ?? st.gid;
    const mode = o.mode !== undefined ? parseInt(o.mode, 8) : o.gid !== undefined ? 0o660 : st.mode & 0o7777;
    if (st.uid !== uid || st.gid !== gid) fs.chownSync(devnode, uid, gid);
    if ((st.mode & 0o7777) !== mode) fs.chmodSync(devnode, mode);
    return null;
  } catch (e) {
    // A node the kernel has not made (or already removed) has nothing to set, as udev skips it.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return `${devnode}: cannot set OWNER/GROUP/MODE: ${(e as Error).message}`;
  }
}

/** NAME= on a network interface: iproute2 renames it (the interface must be down, as the kernel requires). */
function rename(from: string, to: string): string | null {
  const r = spawnSync('ip', ['link', 'set', 'dev', from, 'name', to], { encoding: 'utf8' });
  if (r.status === 0) return null;
  return `NAME="${to}": cannot rename ${from}: ${(r.stderr || r.error?.message || `ip exited ${r.status}`).trim()}`;
}
