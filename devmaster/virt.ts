// What CONST{arch}, CONST{virt} and IMPORT{cmdline} see of the machine, named as systemd names it (src/basic/
// architecture.c, virt.c, proc-cmdline.c), found from files only: no CPUID, no native code.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { splitCommand } from './spawn.js';

/** architecture_to_string(uname_architecture()) for uname's machine names. */
export function architecture(machine = os.machine()): string {
  if (/^i[3-6]86$/.test(machine)) return 'x86';
  if (/^armv.*b$/.test(machine)) return 'arm-be';
  if (/^arm/.test(machine)) return 'arm';
  const names: Record<string, string> = {
    x86_64: 'x86-64', aarch64: 'arm64', aarch64_be: 'arm64-be', ppc64le: 'ppc64-le', ppc64: 'ppc64', ppcle: 'ppc-le',
    ppc: 'ppc', s390x: 's390x', s390: 's390', riscv64: 'riscv64', riscv32: 'riscv32', loongarch64: 'loongarch64',
    mips64: 'mips64-le', mips: 'mips-le', ia64: 'ia64', alpha: 'alpha', sparc64: 'sparc64', parisc64: 'parisc64',
  };
  return names[machine] ?? machine;
}

const CONTAINERS = ['systemd-nspawn', 'lxc-libvirt', 'lxc', 'openvz', 'docker', 'podman', 'rkt', 'wsl', 'proot', 'pouch'];
const DMI_VENDORS: [string, string][] = [
  ['KVM', 'kvm'], ['OpenStack', 'kvm'], ['KubeVirt', 'kvm'], ['Amazon EC2', 'amazon'], ['QEMU', 'qemu'],
  ['VMware', 'vmware'], ['VMW', 'vmware'], ['innotek GmbH', 'oracle'], ['VirtualBox', 'oracle'],
  ['Oracle Corporation', 'oracle'], ['Xen', 'xen'], ['Bochs', 'bochs'], ['Parallels', 'parallels'], ['BHYVE', 'bhyve'],
  ['Hyper-V', 'microsoft'], ['Apple Virtualization', 'apple'], ['Google Compute Engine', 'google'],
];

/**
 * detect_virtualization() as systemd-detect-virt does it, from files only: a container first (/proc/vz without
 * /proc/bc, WSL in osrelease, /run/host/container-manager, /run/systemd/container, PID 1's $container when readable,
 * /run/.containerenv, /.dockerenv), else a VM from the DMI vendor strings (/sys/class/dmi/id), /sys/hypervisor/type,
 * or the cpuinfo `hypervisor` flag ("vm-other": systemd names the hypervisor from CPUID, which needs native code).
 * Not done: proot's tracer check and the cgroup-namespace guess (container-other). `root` is for tests.
 */
export function detectVirtualization(root = '/'): string {
  const at = (p: string) => path.join(root, p);
  const read = (p: string) => {
    try {
      return fs.readFileSync(at(p), 'utf8');
    } catch {
      return undefined;
    }
  };
  const exists = (p: string) => fs.existsSync(at(p));
  const files = () => (exists('run/.containerenv') ? 'podman' : exists('.dockerenv') ? 'docker' : 'none');
  const translate = (name: string) => (name === 'oci' ? (files() === 'none' ? 'container-other' : files()) : CONTAINERS.includes(name) ? name : 'container-other');
  if (exists('proc/vz') && !exists('proc/bc')) return 'openvz';
  if (/Microsoft|WSL/.test(read('proc/sys/kernel/osrelease') ?? '')) return 'wsl';
  for (const f of ['run/host/container-manager', 'run/systemd/container']) {
    const name = read(f)?.split('\n')[0];
    if (name) return translate(name);
  }
  const environ = read('proc/1/environ')?.split('\0').find((e) => e.startsWith('container='));
  if (environ && environ.length > 'container='.length) return translate(environ.slice('container='.length));
  if (files() !== 'none') return files();
  for (const f of ['product_name', 'sys_vendor', 'board_vendor', 'bios_vendor', 'product_version']) {
    const s = read(`sys/class/dmi/id/${f}`)?.split('\n')[0];
    const hit = s === undefined ? undefined : DMI_VENDORS.find(([v]) => s.startsWith(v));
    if (hit) return hit[1];
  }
  if (read('sys/hypervisor/type')?.trim() === 'xen') return 'xen';
  if (/^flags\s*:.*\bhypervisor\b/m.test(read('proc/cpuinfo') ?? '')) return 'vm-other';
  return 'none';
}

const isContainer = (virt: string) => CONTAINERS.includes(virt) || virt === 'container-other';

/** proc_cmdline(): PID 1's command line inside a container (the kernel's is the host's), else /proc/cmdline. */
export function kernelCmdline(virt: string): string {
  try {
    if (isContainer(virt)) return fs.readFileSync('/proc/1/cmdline', 'utf8').split('\0').join(' ').trim();
    return fs.readFileSync('/proc/cmdline', 'utf8');
  } catch {
    return '';
  }
}

/** proc_cmdline_get_key(key, VALUE_OPTIONAL): the last `key=value` (or bare `key`: "1") wins; `-` and `_` are alike; `rd.` words only in the initrd. */
export function cmdlineValue(cmdline: string, key: string, initrd = false): string | undefined {
  const norm = (s: string) => s.replace(/-/g, '_');
  const k = norm(key);
  let found: string | undefined;
  for (const word of splitCommand(cmdline)) {
    if (word.startsWith('rd.') && !initrd) continue;
    const w = norm(word);
    if (w === k) found ??= '1';
    else if (w.startsWith(`${k}=`)) found = word.slice(key.length + 1);
  }
  return found;
}
