// Shared by the spec tests: temp spec trees and the problems a load rejects with.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { SpecError, type SpecProblem } from '../../specs/errors.js';
import { type LoadOptions, parseSpec } from '../../specs/loader.js';

/** A temp directory holding `files` (path → text); removed when the test ends. */
export function tree(t: Test, files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sysmaster-specs-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** The problems a load rejects with; fails the test when it resolves or throws something else. */
export async function problems(load: Promise<unknown>): Promise<SpecProblem[]> {
  try {
    await load;
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  throw new Error('expected a SpecError, but the spec loaded');
}

/** The one problem a spec text has (checkExecutables off unless given). */
export async function problem(text: string, opts: LoadOptions = {}): Promise<SpecProblem> {
  const list = await problems(parseSpec(text, '/specs/system.toml', { checkExecutables: false, ...opts }));
  if (list.length !== 1)
    throw new Error(`expected one problem, got:\n${list.map((p) => JSON.stringify(p)).join('\n')}`);
  return list[0];
}

/** parseSpec without the program check, for specs naming programs that need not exist. */
export function parse(text: string, opts: LoadOptions = {}) {
  return parseSpec(text, '/specs/system.toml', { checkExecutables: false, ...opts });
}
