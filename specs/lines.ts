// Where each table and key of a TOML file was written. @iarna/toml reports lines only for syntax errors, so this
// scanner walks the (already successfully parsed) text once and records the first line of every key path:
// table headers, `key =` lines, each prefix of a dotted key, and keys of inline tables.

/** Line numbers by key path; `at` falls back to the nearest enclosing path that was written. */
export class Lines {
  private readonly byPath = new Map<string, number>();

  record(path: readonly string[], line: number): void {
    const id = path.join('\0');
    if (!this.byPath.has(id)) this.byPath.set(id, line);
  }

  /** The line of `path`, else of its longest written prefix, else 1. */
  at(path: readonly string[]): number {
    for (let n = path.length; n > 0; n--) {
      const line = this.byPath.get(path.slice(0, n).join('\0'));
      if (line !== undefined) return line;
    }
    return 1;
  }
}

const bare = /[A-Za-z0-9_-]/;

export function scanLines(text: string): Lines {
  const lines = new Lines();
  let i = 0;
  let line = 1;
  let table: string[] = [];

  const skipBlanks = (): void => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  /** Blanks, newlines and comments. */
  const skipTrivia = (): void => {
    for (;;) {
      skipBlanks();
      if (text[i] === '#') while (i < text.length && text[i] !== '\n') i++;
      if (text[i] === '\r') i++;
      else if (text[i] === '\n') {
        i++;
        line++;
      } else return;
    }
  };
  const skipLine = (): void => {
    while (i < text.length && text[i] !== '\n') i++;
  };
  /** A string starting at i (any of the four TOML forms); returns its text with basic escapes decoded. */
  const string = (): string => {
    const q = text[i];
    const multi = text.startsWith(q.repeat(3), i);
    const open = multi ? 3 : 1;
    const start = i + open;
    let j = start;
    while (j < text.length) {
      if (q === '"' && text[j] === '\\') {
        if (text[j + 1] === '\n') line++;
        j += 2;
      } else if (text.startsWith(multi ? q.repeat(3) : q, j)) break;
      else {
        if (text[j] === '\n') line++;
        j++;
      }
    }
    const raw = text.slice(start, j);
    i = j + open;
    while (multi && text[i] === q) i++; // up to two quotes may close a multi-line string: """a""""
    if (q === "'") return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      return raw;
    }
  };
  const simpleKey = (): string => {
    if (text[i] === '"' || text[i] === "'") return string();
    const start = i;
    while (i < text.length && bare.test(text[i])) i++;
    return text.slice(start, i);
  };
  const dottedKey = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipBlanks();
      parts.push(simpleKey());
      skipBlanks();
      if (text[i] !== '.') return parts;
      i++;
    }
  };
  /** `a.b.c = value`, recording every prefix under `base`. */
  const keyValue = (base: readonly string[]): void => {
    const key = dottedKey();
    for (let n = 1; n <= key.length; n++) lines.record([...base, ...key.slice(0, n)], line);
    skipBlanks();
    if (text[i] === '=') i++;
    skipBlanks();
    value([...base, ...key]);
  };
  const value = (path: readonly string[]): void => {
    const c = text[i];
    if (c === '"' || c === "'") string();
    else if (c === '[') {
      i++;
      for (;;) {
        skipTrivia();
        if (i >= text.length || text[i] === ']') break;
        const before = i;
        value(path);
        skipTrivia();
        if (text[i] === ',') i++;
        else if (i === before) i++; // never stall on text this scanner does not understand
      }
      i++;
    } else if (c === '{') {
      i++;
      for (;;) {
        skipBlanks();
        if (i >= text.length || text[i] === '}' || text[i] === '\n') break;
        const before = i;
        keyValue(path);
        skipBlanks();
        if (text[i] === ',') i++;
        else if (i === before) i++;
      }
      i++;
    } else {
      while (i < text.length && !/[\s,\]}#]/.test(text[i])) i++;
    }
  };

  for (;;) {
    skipTrivia();
    if (i >= text.length) return lines;
    if (text[i] === '[') {
      i += text[i + 1] === '[' ? 2 : 1;
      table = dottedKey();
      for (let n = 1; n <= table.length; n++) lines.record(table.slice(0, n), line); // [a.b] defines a too
    } else {
      const before = i;
      keyValue(table);
      if (i === before) i++;
    }
    skipLine();
  }
}
