import type { Where } from './types.js';

/** One problem in a spec: where, what was expected, what to do. */
export interface SpecProblem {
  where: Where;
  unit?: string; // 'web.service'
  key?: string; // 'ExecStart'
  message: string; // what is wrong and what was expected
  hint?: string; // what to do, e.g. 'did you mean "After"?'
}

/** A TOML parse error (@iarna/toml's) as a line (1-based, 1 when unknown) and a message with the column. */
export function tomlError(e: unknown): { line: number; message: string } {
  const err = e as Error & { line?: number; col?: number };
  const what = err.message.split('\n')[0]!.replace(/ at row \d+, col \d+, pos \d+:$/, '');
  return {
    line: typeof err.line === 'number' ? err.line + 1 : 1,
    message: `invalid TOML: ${what}${err.col !== undefined ? ` (column ${err.col + 1})` : ''}`,
  };
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
