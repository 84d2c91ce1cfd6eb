// "did you mean": the candidate a typo most likely stands for, or nothing when none is close.
import { distance } from 'fastest-levenshtein';

export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const all = [...candidates];
  const lower = word.toLowerCase();
  const sameCase = all.find((c) => c.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  const letters = (w: string): string => [...w.toLowerCase()].sort().join('');
  let best: string | undefined;
  let bestDistance = (word.length <= 4 ? 1 : Math.max(2, Math.floor(word.length / 4))) + 1;
  for (const c of all) {
    const d = distance(lower, c.toLowerCase());
    // On a tie, prefer the same letters in another order: a swap costs Levenshtein two edits.
    const swapped = d === bestDistance && letters(c) === letters(word) && letters(best ?? '') !== letters(word);
    if (d < bestDistance || swapped) [best, bestDistance] = [c, d];
  }
  return best;
}
