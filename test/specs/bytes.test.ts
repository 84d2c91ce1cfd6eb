import t from 'tap';
import { formatBytes, parseBytes } from '../../specs/bytes.js';

t.test('sizes: K, M, G, T are powers of 1024; a bare number is bytes', async (t) => {
  t.equal(parseBytes('8M'), 8 * 1024 ** 2);
  t.equal(parseBytes(' 512K '), 512 * 1024);
  t.equal(parseBytes('1.5G'), 1.5 * 1024 ** 3);
  t.equal(parseBytes('2T'), 2 * 1024 ** 4);
  t.equal(parseBytes('100'), 100);
  t.equal(parseBytes(4096), 4096);
  t.equal(parseBytes('1.3K'), 1331, 'a fraction of a byte is dropped');
  for (const bad of ['8 MB', '8m', '-1', '', 'K', '1e3']) t.equal(parseBytes(bad), null, JSON.stringify(bad));
  for (const bad of [-1, 1.5, NaN]) t.equal(parseBytes(bad), null, String(bad));
});

t.test('formatting gives the shortest exact spelling, which parses back', async (t) => {
  t.same([8 * 1024 ** 2, 1536, 1024, 1000, 0, 3 * 1024 ** 4].map(formatBytes), ['8M', '1536', '1K', '1000', '0', '3T']);
  for (const n of [8 * 1024 ** 2, 1536, 1000, 0, 5 * 1024 ** 3]) t.equal(parseBytes(formatBytes(n)), n);
});
