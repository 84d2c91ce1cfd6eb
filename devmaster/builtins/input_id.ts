// input_id: ID_INPUT_* (keyboard, mouse, touchpad, joystick, ...) from the input device's capability bitmaps in sysfs,
// with udev 252's heuristics (src/udev/udev-builtin-input_id.c). Left out: ID_INPUT_WIDTH_MM/HEIGHT_MM, which udev
// reads with the EVIOCGABS ioctl on /dev/input/eventN, outside sysfs.
import type { Device } from '../sysfs.js';
import { atou } from './cstr.js';
import type { Builtin } from './index.js';

// linux/input-event-codes.h
const EV_KEY = 0x01, EV_REL = 0x02, EV_SW = 0x05;
const ABS_X = 0x00, ABS_Y = 0x01, ABS_Z = 0x02, ABS_RX = 0x03, ABS_PRESSURE = 0x18;
const ABS_MT_SLOT = 0x2f, ABS_MT_POSITION_X = 0x35, ABS_MT_POSITION_Y = 0x36;
const REL_X = 0x00, REL_Y = 0x01, REL_HWHEEL = 0x06, REL_WHEEL = 0x08;
const BTN_MISC = 0x100, BTN_0 = 0x100, BTN_MOUSE = 0x110, BTN_JOYSTICK = 0x120, BTN_DIGI = 0x140;
const BTN_TOOL_PEN = 0x140, BTN_TOOL_FINGER = 0x145, BTN_TOUCH = 0x14a, BTN_STYLUS = 0x14b;
const BTN_DPAD_UP = 0x220, BTN_DPAD_RIGHT = 0x223, BTN_TRIGGER_HAPPY1 = 0x2c0, BTN_TRIGGER_HAPPY40 = 0x2e7;
const KEY_OK = 0x160, KEY_ALS_TOGGLE = 0x230;
const INPUT_PROP_DIRECT = 0x01, INPUT_PROP_POINTING_STICK = 0x05, INPUT_PROP_ACCELEROMETER = 0x06;
const BUS_I2C = 0x18;
/** A few keys from different groups: a joystick may have one of them, a keyboard has several. */
// KEY_LEFTCTRL CAPSLOCK NUMLOCK INSERT MUTE CALC FILE MAIL PLAYPAUSE BRIGHTNESSDOWN
const WELL_KNOWN_KEYS = [29, 58, 69, 110, 113, 140, 144, 155, 164, 224];
/** Key codes above BTN_MISC that are keys, not buttons: [start, end). */
const HIGH_KEYS = [[KEY_OK, BTN_DPAD_UP], [KEY_ALS_TOGGLE, BTN_TRIGGER_HAPPY1]];

/** A kernel bitmap in 64-bit longs (x86-64's unsigned long), long 0 first. */
type Bits = bigint[];
const test = (b: Bits, bit: number) => ((b[bit >> 6] ?? 0n) >> BigInt(bit & 63)) & 1n ? true : false;

/**
 * get_cap_mask: the attribute is hex longs separated by spaces, the most significant first; a word that does not parse
 * is skipped (its slot stays zero), words past the array's size are dropped. `max` is the highest bit (EV_MAX, ...).
 */
function capMask(dev: Device, attr: string, max: number): Bits {
  const bits: Bits = new Array(Math.floor((max - 1) / 64) + 1).fill(0n); // NBITS(max)
  const words = (dev.attr(attr) ?? '').split(' ').reverse();
  words.forEach((w, i) => {
    const v = atou(w, 16, 64);
    if (v !== undefined && i < bits.length) bits[i] = v;
  });
  return bits;
}

const hex16 = (v: string | undefined) => (v === undefined ? 0 : Number(atou(v, 16, 16) ?? 0n));

interface Caps {
  ev: Bits;
  abs: Bits;
  key: Bits;
  rel: Bits;
  props: Bits;
}

/** test_pointers: mouse, touchpad, touchscreen, tablet, joystick, accelerometer, pointing stick. */
function pointers(c: Caps, bustype: number, add: (k: string) => void): boolean {
  const hasKeys = test(c.ev, EV_KEY);
  const hasAbs = test(c.abs, ABS_X) && test(c.abs, ABS_Y);
  if (test(c.props, INPUT_PROP_ACCELEROMETER) || (!hasKeys && hasAbs && test(c.abs, ABS_Z))) {
    add('ID_INPUT_ACCELEROMETER');
    return true;
  }
  let pointingStick = test(c.props, INPUT_PROP_POINTING_STICK);
  const stylus = test(c.key, BTN_STYLUS);
  const pen = test(c.key, BTN_TOOL_PEN);
  const fingerNoPen = test(c.key, BTN_TOOL_FINGER) && !pen;
  let mouseButton = false;
  for (let b = BTN_MOUSE; b < BTN_JOYSTICK && !mouseButton; b++) mouseButton = test(c.key, b);
  const hasRel = test(c.ev, EV_REL) && test(c.rel, REL_X) && test(c.rel, REL_Y);
  // a device that claims every abs axis does not really have multitouch
  const hasMt = test(c.abs, ABS_MT_POSITION_X) && test(c.abs, ABS_MT_POSITION_Y) && !(test(c.abs, ABS_MT_SLOT) && test(c.abs, ABS_MT_SLOT - 1));
  const direct = test(c.props, INPUT_PROP_DIRECT);
  const touch = test(c.key, BTN_TOUCH);
  const padButtons = test(c.key, BTN_0) && stylus && !pen;

  // a mouse with more than 16 buttons runs into the joystick range: then none count
  let buttons = 0;
  let axes = 0;
  if (!test(c.key, BTN_JOYSTICK - 1)) {
    for (let b = BTN_JOYSTICK; b < BTN_DIGI; b++) if (test(c.key, b)) buttons++;
    for (let b = BTN_TRIGGER_HAPPY1; b <= BTN_TRIGGER_HAPPY40; b++) if (test(c.key, b)) buttons++;
    for (let b = BTN_DPAD_UP; b <= BTN_DPAD_RIGHT; b++) if (test(c.key, b)) buttons++;
  }
  for (let a = ABS_RX; a < ABS_PRESSURE; a++) if (test(c.abs, a)) axes++;

  let tablet = false, touchpad = false, absMouse = false, touchscreen = false, joystick = false;
  if (hasAbs) {
    if (stylus || pen) tablet = true;
    else if (fingerNoPen && !direct) touchpad = true;
    else if (mouseButton) absMouse = true; // VMware's USB mouse: absolute axes, no touch button
    else if (touch || direct) touchscreen = true;
    else if (buttons > 0 || axes > 0) joystick = true;
  } else if (buttons > 0 || axes > 0) joystick = true;
  if (hasMt) {
    if (stylus || pen) tablet = true;
    else if (fingerNoPen && !direct) touchpad = true;
    else if (touch || direct) touchscreen = true;
  }
  const tabletPad = tablet && padButtons;
  const mouse = !tablet && !touchpad && !joystick && mouseButton && (hasRel || !hasAbs);
  if (mouse && bustype === BUS_I2C) pointingStick = true; // there is no such thing as an i2c mouse
  // keyboards with stray joystick buttons, and "joysticks" with a single button or axis, are no joysticks
  if (joystick) {
    const known = hasKeys ? WELL_KNOWN_KEYS.filter((k) => test(c.key, k)).length : 0;
    if (known >= 4 || buttons + axes < 2) joystick = false;
  }
  if (pointingStick) add('ID_INPUT_POINTINGSTICK');
  if (mouse || absMouse) add('ID_INPUT_MOUSE');
  if (touchpad) add('ID_INPUT_TOUCHPAD');
  if (touchscreen) add('ID_INPUT_TOUCHSCREEN');
  if (joystick) add('ID_INPUT_JOYSTICK');
  if (tablet) add('ID_INPUT_TABLET');
  if (tabletPad) add('ID_INPUT_TABLET_PAD');
  return tablet || mouse || absMouse || touchpad || touchscreen || joystick || pointingStick;
}

/** test_key: any KEY_* (not BTN_*) makes a key device; all of ESC, the digits and Q to D a full keyboard. */
function keys(c: Caps, add: (k: string) => void): boolean {
  if (!test(c.ev, EV_KEY)) return false;
  let found = c.key.slice(0, BTN_MISC / 64).some((w) => w !== 0n);
  for (const [start, end] of HIGH_KEYS) for (let k = start; k < end && !found; k++) found = test(c.key, k);
  if (found) add('ID_INPUT_KEY');
  if ((c.key[0] & 0xfffffffen) === 0xfffffffen) {
    add('ID_INPUT_KEYBOARD');
    return true;
  }
  return found;
}

export const inputId: Builtin = (dev) => {
  // the capabilities are on the input device; the argument is most likely its eventN or jsN child
  let input: Device | undefined = dev;
  while (input && input.attr('capabilities/ev') === undefined) input = input.parentWith('input');
  if (!input) return [];
  const props: [string, string][] = [];
  const add = (k: string) => props.push([k, '1']);
  add('ID_INPUT');
  const c: Caps = {
    ev: capMask(input, 'capabilities/ev', 0x1f),
    abs: capMask(input, 'capabilities/abs', 0x3f),
    rel: capMask(input, 'capabilities/rel', 0x0f),
    key: capMask(input, 'capabilities/key', 0x2ff),
    props: capMask(input, 'properties', 0x1f),
  };
  const pointer = pointers(c, hex16(input.attr('id/bustype')), add);
  const key = keys(c, add);
  // some evdev nodes have only a scroll wheel
  if (!pointer && !key && test(c.ev, EV_REL) && (test(c.rel, REL_WHEEL) || test(c.rel, REL_HWHEEL))) add('ID_INPUT_KEY');
  if (test(c.ev, EV_SW)) add('ID_INPUT_SWITCH');
  return props;
};
