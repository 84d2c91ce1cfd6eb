// devctl monitor against real kernel events, in udevadm monitor's format.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import t from 'tap';
import { cannotTrigger, LO } from './trigger.js';
import { MonitorSender } from '../../devmaster/monitor.js';
import { bin } from '../integration/harness.js';


t.test('monitor --kernel --property --subsystem-match net: the event, then its properties', { skip: cannotTrigger }, async (t) => {
  const child = spawn(process.execPath, [bin('devctl'), 'monitor', '--kernel', '--property', '--subsystem-match', 'net']);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const until = async (re: RegExp) => {
    for (let i = 0; i < 400 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 25));
  };
  await until(/KERNEL - the kernel uevent\n\n/);
  t.equal(out, 'monitor will print the received events for:\nKERNEL - the kernel uevent\n\n');
  // Filtered out: not net.
  fs.writeFileSync('/sys/devices/virtual/mem/null/uevent', 'change');
  // Marked with a SYNTH_UUID: other tests on this machine cause net events too, and this one is told apart.
  const uuid = randomUUID();
  fs.writeFileSync(LO, `change ${uuid}`);
  await until(new RegExp(`SYNTH_UUID=${uuid}\n[^]*?\n\n`));
  const event = out.split('\n\n').find((e) => e.includes(`SYNTH_UUID=${uuid}`)) ?? '';
  t.match(event, /^KERNEL\[\d+\.\d{6}\] change   \/devices\/virtual\/net\/lo \(net\)\nACTION=change\nDEVPATH=\/devices\/virtual\/net\/lo\nSUBSYSTEM=net\n/);
  t.match(event, /\nINTERFACE=lo\n/);
  t.notMatch(out, /mem\/null/, 'the subsystem filter');
  const code = new Promise((r) => child.on('exit', r));
  child.kill('SIGINT');
  t.equal(await code, 0, 'Ctrl-C ends it with 0');
});

t.test("monitor --udev --tag-match: processed events, in udevadm's UDEV format", { skip: process.getuid?.() === 0 ? false : 'sending to the netlink group needs root' }, async (t) => {
  const tag = `t${process.pid}`;
  const child = spawn(process.execPath, [bin('devctl'), 'monitor', '--udev', '--property', `--tag-match=${tag}`]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  for (let i = 0; i < 400 && !out.includes('rule processing\n\n'); i++) await new Promise((r) => setTimeout(r, 25));
  t.equal(out, 'monitor will print the received events for:\nUDEV - the event which udev sends out after rule processing\n\n');
  const s = new MonitorSender();
  const send = (name: string, tags: string) => s.send(new Map([['ACTION', 'add'], ['DEVPATH', `/devices/virtual/net/${name}`], ['SUBSYSTEM', 'net'], ['SEQNUM', '9'], ['TAGS', tags]]));
  send('other', ':elsewhere:');
  send('mine', `:${tag}:`);
  s.close();
  for (let i = 0; i < 400 && !out.includes('TAGS='); i++) await new Promise((r) => setTimeout(r, 25));
  t.match(out, new RegExp(`\\n\\nUDEV  \\[\\d+\\.\\d{6}\\] add      /devices/virtual/net/mine \\(net\\)\\nACTION=add\\n`));
  t.notMatch(out, /other/, 'the tag filter');
  child.kill('SIGINT');
});
