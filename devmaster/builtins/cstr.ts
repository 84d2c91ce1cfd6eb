// The C string handling the builtins lean on, with the C semantics their output depends on: systemd 252's safe_ato*()
// (src/basic/parse-util.c), glibc's sscanf() for the few conversions the builtins use, and udev's name sanitizers
// (udev_replace_whitespace/udev_replace_chars in src/shared/udev-util.c, encode_devnode_name in device-nodes.c).
// The sanitizers work on bytes, as C does: a truncation can cut a UTF-8 sequence, and what is left is then replaced.

const SPACE = ' \t\n\v\f\r'; // isspace() in the C locale
const WHITESPACE = ' \t\n\r'; // systemd's WHITESPACE

function digit(c: string | undefined, base: number): number {
  if (c === undefined) return -1;
  const v = parseInt(c, 36);
  return Number.isNaN(v) || v >= base ? -1 : v;
}

/** strtoul()/strtol() on `s` from `i`, reading at most `width` characters: the magnitude, its sign, where it stopped. */
function strtox(s: string, i: number, base: number, width = Infinity): { neg: boolean; v: bigint; end: number } | undefined {
  const stop = Math.min(s.length, i + width);
  let neg = false;
  if (i < stop && (s[i] === '+' || s[i] === '-')) neg = s[i++] === '-';
  if ((base === 0 || base === 16) && s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X') && i + 2 < stop && digit(s[i + 2], 16) >= 0) {
    i += 2;
    base = 16;
  } else if (base === 0) base = s[i] === '0' ? 8 : 10;
  const start = i;
  let v = 0n;
  for (; i < stop && digit(s[i], base) >= 0; i++) v = v * BigInt(base) + BigInt(digit(s[i], base));
  return i === start ? undefined : { neg, v, end: i };
}

/**
 * safe_atou_full/safe_atolu_full/safe_atou16_full...: an unsigned number of `bits` bits, the whole string (leading
 * whitespace allowed); base 0 takes 0x, 0 (octal), and systemd's 0b/0o. Undefined where systemd returns an error.
 */
export function atou(s: string, base: 0 | 10 | 16 = 0, bits = 32): bigint | undefined {
  s = s.replace(/^[ \t\n\r]+/, '');
  if (base === 0 && /^0[bBoO]/.test(s)) return atouIn(s.slice(2), /^0[bB]/.test(s) ? 2 : 8, bits);
  return atouIn(s, base, bits);
}

function atouIn(s: string, base: number, bits: number): bigint | undefined {
  let i = 0;
  while (i < s.length && SPACE.includes(s[i])) i++;
  const r = strtox(s, i, base);
  if (!r || r.end !== s.length || r.v >= 1n << 64n) return undefined;
  if (r.v !== 0n && s[0] === '-') return undefined; // systemd refuses what strtoul would wrap
  return r.v < 1n << BigInt(bits) ? r.v : undefined;
}

/** safe_atoi: a C int, the whole string, base 0 as atou. */
export function atoi(s: string): number | undefined {
  s = s.replace(/^[ \t\n\r]+/, '');
  let base = 0;
  if (/^0[bBoO]/.test(s)) {
    base = /^0[bB]/.test(s) ? 2 : 8;
    s = s.slice(2);
  }
  let i = 0;
  while (i < s.length && SPACE.includes(s[i])) i++;
  const r = strtox(s, i, base);
  if (!r || r.end !== s.length) return undefined;
  const v = r.neg ? -r.v : r.v;
  return v >= -(1n << 31n) && v < 1n << 31n ? Number(v) : undefined;
}

/**
 * sscanf(s, fmt) for the conversions the builtins use: %u %d %x %s, each with an optional width and '*'. Returns the
 * converted values in order; its length is sscanf's return value (the number of assignments).
 */
export function sscanf(s: string, fmt: string): (number | string)[] {
  const out: (number | string)[] = [];
  let i = 0;
  const skip = () => {
    while (i < s.length && SPACE.includes(s[i])) i++;
  };
  for (let f = 0; f < fmt.length; f++) {
    const c = fmt[f];
    if (SPACE.includes(c)) {
      skip();
      continue;
    }
    if (c !== '%') {
      if (s[i] !== c) return out;
      i++;
      continue;
    }
    const m = /^(\*?)(\d*)([udxs])/.exec(fmt.slice(f + 1));
    if (!m) throw new Error(`sscanf: unsupported conversion in '${fmt}'`);
    f += m[0].length;
    const width = m[2] ? Number(m[2]) : Infinity;
    skip();
    let v: number | string;
    if (m[3] === 's') {
      const start = i;
      while (i < s.length && i - start < width && !SPACE.includes(s[i])) i++;
      if (i === start) return out;
      v = s.slice(start, i);
    } else {
      const r = strtox(s, i, m[3] === 'x' ? 16 : 10, width);
      if (!r) return out;
      i = r.end;
      const n = BigInt.asUintN(32, r.neg ? -r.v : r.v);
      v = m[3] === 'd' ? Number(BigInt.asIntN(32, n)) : Number(n);
    }
    if (!m[1]) out.push(v);
  }
  return out;
}

/** utf8_encoded_valid_unichar: the length of the valid UTF-8 character at `i`, or 0 when it is not one. */
export function utf8Char(b: Uint8Array, i: number): number {
  const c = b[i];
  // the leading 1 bits of the first byte give the length, up to the old 6-byte forms
  const len = c < 0x80 ? 1 : c < 0xc0 || c >= 0xfe ? 0 : Math.clz32(~(c << 24));
  if (len <= 1) return len;
  if (i + len > b.length) return 0;
  let u = c & (0xff >> (len + 1));
  for (let k = 1; k < len; k++) {
    if ((b[i + k] & 0xc0) !== 0x80) return 0;
    u = (u << 6) | (b[i + k] & 0x3f);
  }
  const need = u < 0x80 ? 1 : u < 0x800 ? 2 : u < 0x10000 ? 3 : u < 0x200000 ? 4 : u < 0x4000000 ? 5 : 6;
  const valid = u < 0x110000 && (u & 0xfffff800) !== 0xd800 && !(u >= 0xfdd0 && u <= 0xfdef) && (u & 0xfffe) !== 0xfffe;
  return need === len && valid ? len : 0;
}

/** utf8_is_valid() and !string_has_cc(): what udev 252 (with Debian's CVE-2026-40225 fix) asks of a kernel string. */
export function cleanText(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; ) {
    if (b[i] < 0x20 || b[i] === 0x7f) return false;
    const n = utf8Char(b, i);
    if (n === 0) return false;
    i += n;
  }
  return true;
}

const allowed = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || '#+-.:=@_'.includes(String.fromCharCode(c));

/**
 * udev_replace_whitespace(str, to, len): leading and trailing whitespace dropped, each inner run made one '_', reading
 * at most `len` bytes of the input and writing at most `len`.
 */
export function replaceWhitespace(s: string, len: number): Buffer {
  const b = Buffer.from(s);
  const out: number[] = [];
  let i = 0;
  while (i < b.length && WHITESPACE.includes(String.fromCharCode(b[i]))) i++;
  let space = false;
  for (; out.length < len && i < len && i < b.length && b[i] !== 0; i++) {
    if (SPACE.includes(String.fromCharCode(b[i]))) {
      space = true;
      continue;
    }
    if (space) {
      if (out.length + 1 >= len) break;
      out.push(0x5f);
      space = false;
    }
    out.push(b[i]);
  }
  return Buffer.from(out);
}

/** udev_replace_chars(str, NULL): everything but plain ASCII name characters, "\x" and valid UTF-8 becomes '_'. */
export function replaceChars(b: Buffer): string {
  const out = Buffer.from(b);
  for (let i = 0; i < out.length; ) {
    if (allowed(out[i])) i++;
    else if (out[i] === 0x5c && out[i + 1] === 0x78) i += 2;
    else {
      const n = utf8Char(out, i);
      if (n > 1) i += n;
      else out[i++] = 0x5f;
    }
  }
  return out.toString();
}

/** encode_devnode_name: valid UTF-8 and name characters kept, every other byte (and '\') written as \xNN. */
export function encodeDevnodeName(s: string): string {
  const b = Buffer.from(s.split('\0')[0]);
  let out = '';
  for (let i = 0; i < b.length; ) {
    const n = utf8Char(b, i);
    if (n > 1) {
      out += b.subarray(i, i + n).toString();
      i += n;
    } else {
      out += b[i] === 0x5c || !allowed(b[i]) ? `\\x${b[i].toString(16).padStart(2, '0')}` : String.fromCharCode(b[i]);
      i++;
    }
  }
  return out;
}
