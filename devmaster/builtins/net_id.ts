// net_id: the predictable interface names (ID_NET_NAME_ONBOARD/SLOT/PATH/MAC, enp0s3, enx02fc00000001) of udev 252's
// src/udev/udev-builtin-net_id.c under its naming schemes (src/shared/netif-naming-scheme.c), all from sysfs.
// Left out: ID_OUI_FROM_DATABASE, which udev looks up in the hwdb; and the EFI SystemdOptions variable and a
// container's PID 1 command line as places for net.naming-scheme= (only /proc/cmdline and $NET_NAMING_SCHEME are read).
import fs from 'node:fs';
import path from 'node:path';
import { Device } from '../sysfs.js';
import { atoi, atou, cleanText, sscanf } from './cstr.js';
import type { Builtin } from './index.js';

// The naming-scheme flags that change what net_id names (the others are for NAME= and MAC policies).
const SR_IOV_V = 1 << 0, NPAR_ARI = 1 << 1, INFINIBAND = 1 << 2, ZERO_ACPI_INDEX = 1 << 3, NETDEVSIM = 1 << 6;
const LABEL_NOPREFIX = 1 << 7, BRIDGE_NO_SLOT = 1 << 9, SLOT_FUNCTION_ID = 1 << 10, INDEX_16BIT = 1 << 11;
const XEN_VIF = 1 << 13, BRIDGE_MULTIFUNCTION_SLOT = 1 << 14, DEVICETREE_ALIASES = 1 << 15;

/** Each scheme adds flags to the one before; "latest" is the last, the default of udev 252's build. */
const SCHEMES = ([
  ['v238', 0],
  ['v239', SR_IOV_V | NPAR_ARI],
  ['v240', INFINIBAND | ZERO_ACPI_INDEX],
  ['v241', 0],
  ['v243', NETDEVSIM | LABEL_NOPREFIX],
  ['v245', 0],
  ['v247', BRIDGE_NO_SLOT],
  ['v249', SLOT_FUNCTION_ID | INDEX_16BIT],
  ['v250', XEN_VIF],
  ['v251', BRIDGE_MULTIFUNCTION_SLOT],
  ['v252', DEVICETREE_ALIASES],
] as [string, number][]).map(([name], i, all): [string, number] => [name, all.slice(0, i + 1).reduce((f, [, added]) => f | added, 0)]);
const LATEST = SCHEMES[SCHEMES.length - 1];

interface Scheme {
  name: string;
  flags: number;
}

/** naming_scheme(): $NET_NAMING_SCHEME wins, unless it starts with ':', then net.naming-scheme= on the kernel line. */
export function namingScheme(env = process.env.NET_NAMING_SCHEME, cmdline = readCmdline()): Scheme {
  const fromLine = cmdline
    .split(/\s+/)
    .filter((w) => w.startsWith('net.naming-scheme='))
    .pop()
    ?.slice('net.naming-scheme='.length);
  const want = env === undefined ? fromLine : env.startsWith(':') ? (fromLine ?? env.slice(1)) : env;
  const hit = want === 'latest' ? LATEST : SCHEMES.find(([n]) => n === want);
  const [name, flags] = hit ?? LATEST; // an unknown name is ignored, as udev does
  return { name, flags };
}

function readCmdline(): string {
  try {
    return process.env.SYSTEMD_PROC_CMDLINE ?? fs.readFileSync('/proc/cmdline', 'utf8');
  } catch {
    return '';
  }
}

const ARPHRD_ETHER = 1, ARPHRD_SLIP = 256, ARPHRD_INFINIBAND = 32;
/** Names live in char[ALTIFNAMSIZ]: one that does not fit is no name. */
const fit = (s: string) => (Buffer.byteLength(s) < 128 ? s : '');
const fitted = (s: string) => fit(s) || undefined;

interface Link {
  iftype: number;
  devtype?: string;
  physPort?: string;
  hwaddr?: number[];
}

interface Names {
  /** The PCI device is the direct parent (virtio aside): a plain PCI NIC, not one behind USB or BCMA. */
  direct?: boolean;
  pcidev?: Device;
  pciSlot: string;
  pciPath: string;
  pciOnboard: string;
  pciLabel?: string;
}

const newNames = (): Names => ({ pciSlot: '', pciPath: '', pciOnboard: '' });

/** parse_hw_addr: xx:xx:.. or xx-xx-.. (1-byte fields) or xxxx.xxxx.. (2-byte fields). IP forms never give 6 bytes. */
function hwAddr(s: string): number[] | undefined {
  const sep = s[s.search(/[^0-9a-fA-F]|$/)];
  const size = sep === '.' ? 2 : sep === ':' || sep === '-' ? 1 : 0;
  if (!size) return undefined;
  const fields = s.split(sep);
  if (fields.length > 20 / size || fields.some((f) => !/^[0-9a-fA-F]+$/.test(f) || f.length > size * 2)) return undefined;
  const bytes = fields.flatMap((f) => (size === 1 ? [parseInt(f, 16)] : [parseInt(f, 16) >> 8, parseInt(f, 16) & 0xff]));
  return [4, 16, 6, 20].includes(bytes.length) ? bytes : undefined;
}

/** A kernel string udev 252 (with Debian's CVE-2026-40225 fix) accepts: valid UTF-8 without control characters. */
function textAttr(dev: Device, name: string): string | undefined {
  try {
    const raw = fs.readFileSync(path.join(dev.syspath, name));
    let b = raw.subarray(0, raw.indexOf(0) < 0 ? raw.length : raw.indexOf(0)); // a C string
    while (b.length && (b[b.length - 1] === 0x0a || b[b.length - 1] === 0x0d)) b = b.subarray(0, -1);
    return cleanText(b) ? b.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** skip_virtio: there is at most one virtio bus per parent. Undefined when the walk leaves the tree. */
function skipVirtio(dev: Device | undefined): Device | undefined {
  while (dev && dev.subsystem === 'virtio') dev = dev.parent();
  return dev;
}

/** get_virtfn_info: for an SR-IOV virtual function, its physical function and the "vN" suffix. */
function virtfn(pcidev: Device): { physfn: Device; suffix: string } | undefined {
  const physfn = pcidev.child('physfn');
  if (!physfn) return undefined;
  for (const name of fs.readdirSync(physfn.syspath)) {
    const m = /^virtfn(\d+)$/.exec(name);
    if (m && physfn.child(name)?.devpath === pcidev.devpath) return { physfn, suffix: `v${m[1]}` };
  }
  return undefined;
}

/** is_pci_multifunction: bit 7 of the header type, byte 14 of the config space. */
function multifunction(dev: Device): boolean {
  try {
    const fd = fs.openSync(path.join(dev.syspath, 'config'), 'r');
    try {
      const b = Buffer.alloc(15);
      return fs.readSync(fd, b, 0, 15, 0) === 15 && (b[14] & 0x80) !== 0;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** is_pci_bridge: subclass 04 in the modalias (pci:v...sc04i..). */
function bridge(dev: Device): boolean {
  const v = dev.attr('modalias');
  if (!v?.startsWith('pci:')) return false;
  const p = v.lastIndexOf('s');
  return p >= 0 && v[p + 1] === 'c' && v.slice(p + 2, p + 4) === '04';
}

/** dev_port, the port of a multi-port PCI function; 0 when absent or unparsable. */
function devPort(dev: Device, link: Link): bigint {
  const attr = dev.attr('dev_port');
  if (attr === undefined) return 0n;
  let port = number(attr);
  // older kernels put an IPoIB port in dev_id instead
  const id = dev.attr('dev_id');
  if (port === 0n && link.iftype === ARPHRD_INFINIBAND && id !== undefined) port = number(id);
  return port;
}

/** safe_atolu_full(s, 10): a decimal unsigned long, 0 when it is not one (the C variable keeps its 0). */
const number = (s: string | undefined) => (s === undefined ? undefined : atou(s, 10, 64)) ?? 0n;

/** The front-panel port name, else "d<dev_port>" when there are several ports. */
const portSuffix = (link: Link, port: bigint) => (link.physPort ? `n${link.physPort}` : port > 0n ? `d${port}` : '');

/** dev_pci_onboard: the firmware's index (ACPI _DSM, else SMBIOS type 41) and label. */
function pciOnboard(dev: Device, link: Link, n: Names, scheme: Scheme): void {
  const pcidev = n.pcidev!;
  const attr = pcidev.attr('acpi_index') ?? pcidev.attr('index');
  const idx = attr === undefined ? undefined : atou(attr, 0, 64);
  if (idx === undefined) return;
  if (idx === 0n && !(scheme.flags & ZERO_ACPI_INDEX)) return;
  // firmwares report rubbish indexes (VMware: 2^24-1); past the cut-off an index is no index
  if (idx > (scheme.flags & INDEX_16BIT ? 0xffffn : 0x3fffn)) return;
  const port = number(dev.attr('dev_port'));
  n.pciOnboard = fit(`o${idx}${portSuffix(link, port)}`);
  n.pciLabel = textAttr(pcidev, 'label');
}

/** parse_hotplug_slot_from_function_id: s390's slot directory is named after function_id. */
function functionIdSlot(dev: Device, slots: string, scheme: Scheme): number | 'stop' | undefined {
  if (!(scheme.flags & SLOT_FUNCTION_ID)) return undefined;
  const attr = dev.attr('function_id');
  if (attr === undefined) return undefined;
  const id = atou(attr, 0, 64);
  if (id === undefined || id <= 0n || id > 0xffffffffn) return 'stop';
  return fs.existsSync(path.join(slots, id.toString(16).padStart(8, '0'))) ? Number(id) : 'stop';
}

/** dev_pci_slot: "p<bus>s<slot>f<func>" from the PCI address, and "s<slot>..." from a hotplug slot (ACPI _SUN). */
function pciSlot(dev: Device, link: Link, n: Names, scheme: Scheme): void {
  const pcidev = n.pcidev!;
  const ids = sscanf(pcidev.sysname, '%x:%x:%x.%u') as number[];
  if (ids.length !== 4) return;
  let [domain] = ids;
  const [, bus, slot] = ids;
  let func = ids[3];
  // ARI: up to 256 functions, the slot bits are the high bits of the function number
  if (scheme.flags & NPAR_ARI && pcidev.attr('ari_enabled') === '1') func += slot * 8;
  const port = devPort(dev, link);
  const f = () => (func > 0 || multifunction(pcidev) ? `f${func}` : '');
  n.pciPath = fit(`${domain > 0 ? `P${domain}` : ''}p${bus}s${slot}${f()}${portSuffix(link, port)}`);

  const pci = Device.fromSubsystemSysname('subsystem', 'pci', dev.root);
  if (!pci) return;
  const slots = path.join(pci.syspath, 'slots');
  let entries: string[];
  try {
    entries = fs.readdirSync(slots);
  } catch {
    return;
  }
  let hotplug = 0;
  for (let d: Device | undefined = pcidev; d; d = d.parentWith('pci')) {
    const byId = functionIdSlot(d, slots, scheme);
    if (byId === 'stop') return;
    if (byId !== undefined) {
      hotplug = byId;
      domain = 0; // s390: one function, one slot; the domain is not part of the name
      break;
    }
    for (const e of entries) {
      const i = atou(e, 0, 32);
      if (i === undefined || i <= 0n) continue;
      const address = pci.attr(`slots/${e}/address`);
      if (address === undefined || !d.sysname.startsWith(address)) continue;
      hotplug = Number(i);
      // a bridge's slot would be claimed by every device behind it; a multifunction device may still use it
      if (scheme.flags & BRIDGE_NO_SLOT && bridge(d)) {
        if (scheme.flags & BRIDGE_MULTIFUNCTION_SLOT && !multifunction(pcidev)) return;
        if (!(scheme.flags & BRIDGE_MULTIFUNCTION_SLOT)) return;
      }
      break;
    }
    if (hotplug > 0) break;
  }
  if (hotplug > 0) n.pciSlot = fit(`${domain > 0 ? `P${domain}` : ''}s${hotplug}${f()}${portSuffix(link, port)}`);
}

/** names_pci: the PCI device above (virtio skipped); a virtual function is named after its physical one plus "vN". */
function pciNames(dev: Device, link: Link, n: Names, scheme: Scheme): boolean {
  const parent = skipVirtio(dev.parent());
  if (!parent) return false;
  if (parent.subsystem === 'pci') {
    n.direct = true;
    n.pcidev = parent;
  } else {
    n.pcidev = dev.parentWith('pci');
    if (!n.pcidev) return false;
  }
  const vf = scheme.flags & SR_IOV_V ? virtfn(n.pcidev) : undefined;
  if (!vf) {
    pciOnboard(dev, link, n, scheme);
    pciSlot(dev, link, n, scheme);
    return true;
  }
  const pf = { ...newNames(), pcidev: vf.physfn };
  pciOnboard(dev, link, pf, scheme);
  pciSlot(dev, link, pf, scheme);
  const plus = (s: string) => (s && Buffer.byteLength(s + vf.suffix) < 128 ? s + vf.suffix : '');
  n.pciOnboard = plus(pf.pciOnboard);
  n.pciSlot = plus(pf.pciSlot);
  n.pciPath = plus(pf.pciPath);
  return true;
}

/** names_usb: "u<port>u<port>..." with "c<config>" and "i<interface>" unless they are the usual 1 and 0. */
function usbPorts(dev: Device): string | undefined {
  const m = /^[^-]*-([^:]*):([^.]*)\.(.*)$/.exec(dev.parentWith('usb', 'usb_interface')?.sysname ?? '');
  if (!m) return undefined;
  const [, ports, config, intf] = m;
  return fitted(`u${ports.replaceAll('.', 'u')}${config !== '1' ? `c${config}` : ''}${intf !== '0' ? `i${intf}` : ''}`);
}

/** names_bcma: "b<core>" on the Broadcom bus, nothing for the usual core 0. */
function bcmaCore(dev: Device): string | undefined {
  const d = dev.parentWith('bcma');
  const ids = d ? sscanf(d.sysname, 'bcma%*u:%u') : [];
  if (ids.length !== 1) return undefined;
  return ids[0] ? `b${ids[0]}` : '';
}

/** names_ccw: IBM Z's channel bus id, leading zeros and dots dropped (0.0.0600 → c600). */
function ccw(dev: Device): string | undefined {
  const d = skipVirtio(dev.parent());
  if (!d || (d.subsystem !== 'ccw' && d.subsystem !== 'ccwgroup')) return undefined;
  const id = d.sysname;
  const len = Buffer.byteLength(id);
  if (len !== 8 && len !== 9) return undefined;
  const start = id.length - id.replace(/^[.0]+/, '').length;
  return `c${id.slice(start < len ? start : len - 1)}`;
}

/** names_vio: IBM POWER's virtual I/O slot, from /sys/devices/vio/<bus><slot>/net/ethN. */
function vio(dev: Device): string | undefined {
  if (dev.parent()?.subsystem !== 'vio') return undefined;
  const ids = sscanf(`/sys${dev.devpath}`, '/sys/devices/vio/%4x%4x/net/eth%u');
  return ids.length === 3 ? `v${ids[1]}` : undefined;
}

/** names_platform: ARM64 ACPI platform devices, "a<vendor><model>i<instance>" from /sys/devices/platform/HISI00C2:00. */
function platform(dev: Device): string | undefined {
  if (dev.parent()?.subsystem !== 'platform') return undefined;
  const sys = `/sys${dev.devpath}`;
  const base = '/sys/devices/platform/vvvvPPPP'.length;
  if (sys.length < base + 1) return undefined;
  // the vendor is an ACPI id (4 letters or digits) or a PNP id (3 letters)
  const acpi = sys[base] === ':';
  const ids = sscanf(sys, acpi ? '/sys/devices/platform/%4s%4x:%2x/net/eth%u' : '/sys/devices/platform/%3s%4x:%2x/net/eth%u');
  if (ids.length !== 4) return undefined;
  const [vendor, model, instance] = ids as [string, number, number];
  if (!(acpi ? /^[A-Z0-9]*$/ : /^[A-Z]*$/).test(vendor)) return undefined;
  return `a${vendor.toLowerCase()}${model.toString(16)}i${instance}`;
}

function netdevsim(dev: Device, link: Link, scheme: Scheme): string | undefined {
  if (!(scheme.flags & NETDEVSIM) || !link.physPort) return undefined;
  const d = dev.parentWith('netdevsim');
  const ids = d ? sscanf(d.sysname, 'netdevsim%u') : [];
  return ids.length === 1 ? fitted(`i${ids[0]}n${link.physPort}`) : undefined;
}

/** names_xen: a Xen netfront's "X<n>" from /sys/devices/vif-<n>/; the backend's xen-backend is left alone. */
function xen(dev: Device, scheme: Scheme): string | undefined {
  if (!(scheme.flags & XEN_VIF) || dev.parent()?.subsystem !== 'xen') return undefined;
  const m = /^\/devices\/+vif-(0|[1-9]\d*)\//.exec(dev.devpath);
  return m && Number(m[1]) <= 0xffffffff ? `X${m[1]}` : undefined;
}

/** Paths compared as path_equal does: by components, with "." and repeated or trailing '/' ignored. */
const samePath = (a: string, b: string) => {
  const parts = (p: string) => `${p.startsWith('/')}:${p.split('/').filter((c) => c && c !== '.').join('/')}`;
  return parts(a) === parts(b);
};

/** dev_devicetree_onboard: "d<N>" when the devicetree's aliases name the parent's node ethernet<N>. */
function devicetree(dev: Device, scheme: Scheme): string | undefined {
  if (!(scheme.flags & DEVICETREE_ALIASES)) return undefined;
  const node = dev.parent()?.child('of_node');
  // udev opens /proc/device-tree, the kernel's link to this directory
  const tree = Device.find(path.join(dev.root, 'firmware/devicetree/base'), dev.root);
  if (!node || !tree || !node.devpath.startsWith(`${tree.devpath}/`)) return undefined;
  const ofPath = node.devpath.slice(tree.devpath.length);
  const aliases = tree.child('aliases');
  if (!aliases) return undefined;
  let names: string[];
  try {
    names = fs.readdirSync(aliases.syspath);
  } catch {
    return undefined;
  }
  for (const alias of names) {
    if (!alias.startsWith('ethernet')) continue;
    const target = aliases.attr(alias)?.split('\0')[0];
    if (target === undefined || !samePath(ofPath, target)) continue;
    const index = alias.slice('ethernet'.length);
    const i = index === '' ? 0n : atou(index, 0, 32);
    if (i === undefined) return undefined;
    // "ethernet" and "ethernet0" would both be d0
    if (i === 0n && aliases.attr(index === '' ? 'ethernet0' : 'ethernet') !== undefined) return undefined;
    return `d${i}`;
  }
  return undefined;
}

/** get_link_info: what the kernel says of the link; undefined (the builtin fails) without ifindex, iflink or type. */
function linkInfo(dev: Device): (Link & { ifindex: number; iflink: number }) | undefined {
  const ifindex = dev.ifindex;
  const iflink = atoi(dev.attr('iflink') ?? '');
  const iftype = atoi(dev.attr('type') ?? '');
  if (ifindex === undefined || iflink === undefined || iftype === undefined) return undefined;
  const address = dev.attr('address');
  const physPort = textAttr(dev, 'phys_port_name') || undefined;
  return { ifindex, iflink, iftype, devtype: dev.devtype, physPort, hwaddr: address === undefined ? undefined : hwAddr(address) };
}

export const netId: Builtin = (dev) => {
  const link = linkInfo(dev);
  if (!link) return null;
  const scheme = namingScheme();
  // stacked devices (VLANs, ...) are named after what they sit on
  if (link.ifindex !== link.iflink) return [];
  let prefix: string;
  if (link.iftype === ARPHRD_ETHER) prefix = 'en';
  else if (link.iftype === ARPHRD_INFINIBAND && scheme.flags & INFINIBAND) prefix = 'ib';
  else if (link.iftype === ARPHRD_SLIP) prefix = 'sl';
  else return [];
  if (link.devtype === 'wlan') prefix = 'wl';
  else if (link.devtype === 'wwan') prefix = 'ww';

  const props: [string, string][] = [['ID_NET_NAMING_SCHEME', scheme.name]];
  const add = (k: string, name: string) => {
    if (fit(name)) props.push([k, name]);
  };
  // a MAC name only for a permanent (NET_ADDR_PERM) 6-byte address; InfiniBand's 20 bytes do not fit a name
  if (link.iftype !== ARPHRD_INFINIBAND && link.hwaddr?.length === 6 && atou(dev.attr('addr_assign_type') ?? '') === 0n) {
    add('ID_NET_NAME_MAC', `${prefix}x${link.hwaddr.map((b) => b.toString(16).padStart(2, '0')).join('')}`);
  }
  const dt = prefix === 'en' ? devicetree(dev, scheme) : undefined;
  if (dt) add('ID_NET_NAME_ONBOARD', prefix + dt);

  // each bus below names the device and ends the search
  const one = (k: string, name: string | undefined) => {
    if (name === undefined) return false;
    add(k, prefix + name);
    return true;
  };
  if (one('ID_NET_NAME_PATH', ccw(dev)) || one('ID_NET_NAME_SLOT', vio(dev)) || one('ID_NET_NAME_PATH', platform(dev))) return props;
  if (one('ID_NET_NAME_PATH', netdevsim(dev, link, scheme)) || one('ID_NET_NAME_SLOT', xen(dev, scheme))) return props;

  const n = newNames();
  if (!pciNames(dev, link, n, scheme)) return props;
  if (n.direct) {
    if (n.pciOnboard) add('ID_NET_NAME_ONBOARD', prefix + n.pciOnboard);
    // an empty label is a label: udev adds ID_NET_LABEL_ONBOARD= then
    const label = n.pciLabel === undefined ? undefined : (scheme.flags & LABEL_NOPREFIX ? '' : prefix) + n.pciLabel;
    if (label !== undefined && Buffer.byteLength(label) < 128) props.push(['ID_NET_LABEL_ONBOARD', label]);
    if (n.pciPath) add('ID_NET_NAME_PATH', prefix + n.pciPath);
    if (n.pciSlot) add('ID_NET_NAME_SLOT', prefix + n.pciSlot);
    return props;
  }
  const tail = usbPorts(dev) ?? bcmaCore(dev);
  if (tail !== undefined) {
    if (n.pciPath) add('ID_NET_NAME_PATH', prefix + n.pciPath + tail);
    if (n.pciSlot) add('ID_NET_NAME_SLOT', prefix + n.pciSlot + tail);
  }
  return props;
};
