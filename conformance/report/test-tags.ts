// Which suite tests check which statements, read from the suite's own source: a test names the
// statements it checks in its title, `it('[dev.attach.noent] [dev.detach.noent] …', …)`. The
// files are scanned as text, never imported, so a suite that does not compile still reports.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface TaggedTest {
  /** The title as written, tags included. */
  title: string;
  /** The title without its tags. */
  name: string;
  statements: string[];
  /** Relative to the base folder given to readTestTags, with `/` separators. */
  file: string;
  line: number;
}

/** `it(`, `describe(`, `it.only(`, … followed by a quoted title. */
const TITLED_CALL =
  /\b(?:it|describe|context|specify)(?:\.(?:only|skip))?\s*\(\s*(['"`])((?:\\[\s\S]|(?!\1)[^\\])*)\1/g;
const TAG = /\[((?:dev|drv)\.[a-z0-9][a-z0-9.-]*)\]/g;

/** After these characters a `/` starts a regular expression, not a division. */
const BEFORE_REGEX = /[(,=:[!&|?{};+\-*%<>~^]/;

/**
 * `source` with every comment blanked out, newlines kept, so that an example in a comment
 * (`s.it('[dev.x] does y', …)`) is no test and line numbers stay right. Strings, templates and
 * regular expressions are skipped whole, so `//` inside them is no comment.
 */
function blankComments(source: string): string {
  let out = '';
  let last = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === '/' && (next === '/' || next === '*')) {
      const close = next === '/' ? source.indexOf('\n', i) : source.indexOf('*/', i + 2);
      const end = close < 0 ? source.length : next === '/' ? close : close + 2;
      out += source.slice(i, end).replace(/[^\n]/g, ' ');
      i = end;
      continue;
    }
    if (
      c === "'" ||
      c === '"' ||
      c === '`' ||
      (c === '/' && (last === '' || BEFORE_REGEX.test(last)))
    ) {
      let j = i + 1;
      let inClass = false;
      while (j < source.length) {
        const d = source[j];
        if (d === '\\') j++;
        else if (d === '\n' && c !== '`') break;
        else if (c !== '/' && d === c) break;
        else if (c === '/' && d === '[') inClass = true;
        else if (c === '/' && d === ']') inClass = false;
        else if (c === '/' && d === '/' && !inClass) break;
        j++;
      }
      out += source.slice(i, j + 1);
      last = c;
      i = j + 1;
      continue;
    }
    out += c;
    if (!/\s/.test(c)) last = c;
    i++;
  }
  return out;
}

/** The tagged tests of one source text; tags in comments do not count. */
export function scanTestTags(source: string, file: string): TaggedTest[] {
  const tests: TaggedTest[] = [];
  const code = blankComments(source);
  for (const m of code.matchAll(TITLED_CALL)) {
    const title = m[2].replace(/\\([\s\S])/g, '$1');
    const statements = [...title.matchAll(TAG)].map((t) => t[1]);
    if (!statements.length) continue;
    tests.push({
      title,
      name: title.replace(TAG, '').replace(/\s+/g, ' ').trim(),
      statements,
      file,
      line: code.slice(0, m.index).split('\n').length,
    });
  }
  return tests;
}

/** Every tagged test in the `.ts` files under `suiteDir`; none when the folder does not exist. */
export function readTestTags(suiteDir: string, baseDir: string): TaggedTest[] {
  if (!existsSync(suiteDir)) return [];
  return readdirSync(suiteDir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .sort()
    .flatMap((name) => {
      const path = join(suiteDir, name);
      return scanTestTags(readFileSync(path, 'utf8'), relative(baseDir, path).split(sep).join('/'));
    });
}
