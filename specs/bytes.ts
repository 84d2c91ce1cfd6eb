// Sizes in bytes, as systemd writes them ("8M", "512K", "1.5G"): K, M, G, T, P and E are powers of 1024. One regular
// expression serves the editor schema (specs/schema.json) and the parser, so both accept the same text.

const factor: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5, E: 1024 ** 6 };

export const bytesPattern = String.raw`^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)\s*$`;
const whole = new RegExp(bytesPattern);

/** A size ("8M") or a number of bytes → whole bytes (a fraction of a byte is dropped); null when it is not one. */
export function parseBytes(v: string | number): number | null {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 ? v : null;
  const m = whole.exec(v);
  return m ? Math.floor(Number(m[1]) * factor[m[2]]) : null;
}

/** Bytes → the shortest exact spelling: 8388608 → "8M". */
export function formatBytes(n: number): string {
  const [suffix, f] = Object.entries(factor).reverse().find(([, f]) => n % f === 0 && n >= f) ?? ['', 1];
  return `${n / f}${suffix}`;
}
