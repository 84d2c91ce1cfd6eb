import t from 'tap';
import { LineSplitter, MAX_LINE, prefixer } from '../../reconciler/output.js';

function split(chunks: (string | Buffer)[], end = true): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c);
  if (end) s.end();
  return lines;
}

t.test('LineSplitter', async (t) => {
  t.same(split(['a\nb\n']), ['a', 'b']);
  t.same(split(['a', 'b', '\nc']), ['ab', 'c'], 'a line across chunks; the partial last line at the end');
  t.same(split(['a\nparti'], false), ['a'], 'a partial line waits for more');
  t.same(split(['\n\n']), ['', ''], 'empty lines are lines');
  t.same(split(['']), []);
  const euro = Buffer.from('€\n'); // 3 bytes + newline
  t.same(split([euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)]), ['€'], 'a character split across chunks');
  const big = 'x'.repeat(MAX_LINE);
  t.same(split([big + '\n']).map((l) => l.length), [MAX_LINE], 'exactly MAX_LINE: one line');
  t.same(split([big, '\nnext\n']).map((l) => l.length), [MAX_LINE, 4], 'the newline after a cut at a chunk end ends that piece');
  t.same(split([big + 'yy\n']).map((l) => l.length), [MAX_LINE, 2], 'longer: cut');
  t.same(split([big.slice(10), big.slice(0, 20) + '\n']).map((l) => l.length), [MAX_LINE, 10], 'cut across chunks');
  t.same(split(['x'.repeat(3 * MAX_LINE)], false).length, 3, 'no newline at all: emitted every MAX_LINE bytes');
});

t.test('prefixer', async (t) => {
  t.equal(prefixer('web.service', { color: false })('hello'), 'web.service | hello');
  t.equal(prefixer('db', { color: false, width: 6 })('x'), 'db     | x');
  const a = prefixer('web.service', { color: true })('hello');
  t.match(a, /\x1b\[\d+mweb\.service\x1b\[39m/, 'coloured name');
  t.equal(prefixer('web.service', { color: true })('hello'), a, 'the same colour every time');
  const colours = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n) => prefixer(n, { color: true })('').slice(0, 5)));
  t.ok(colours.size > 1, 'different units get different colours');
});
