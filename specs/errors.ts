import type { Where } from './types.js';

/** One problem in a spec: where, what was expected, what to do. */
export interface SpecProblem {
  where: Where;
  unit?: string; // 'web.service'
  key?: string; // 'ExecStart'
  message: string; // what is wrong and what was expected
  hint?: string; // what to do, e.g. 'did you mean "After"?'
}

export function formatProblem(p: SpecProblem): string {
  const at = `${p.where.file}:${p.where.line}`;
  const subject = [p.unit, p.key].filter(Boolean).join(': ');
  return `${at}: ${subject ? subject + ': ' : ''}${p.message}${p.hint ? ` (${p.hint})` : ''}`;
}

/** Thrown by the loader with every problem found, never just the first. */
export class SpecError extends Error {
  readonly code = 'ESPEC';
  constructor(readonly problems: SpecProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SpecError';
  }
}
