// Mutants marked equivalent (no device could behave differently), each with a reason. An
// entry names the file, the source line the mutant sits on (trimmed, so that moving the line
// keeps the entry), the mutated text and its replacement; it never names a line number. When
// one line holds two mutants with the same text and replacement and only one is equivalent,
// the entry also names its `column` (counted from the line's start, indentation included):
// it moves when the line's text changes, which unmatches the entry anyway, and when the line
// is indented anew, which the list's test reports as a stale entry.
//
// [{ "file": "device-ref/iommu/map.ts", "line": "if (count >= limit) {",
//    "original": "count >= limit", "replacement": "count > limit",
//    "reason": "limit is never reached by a 32-bit domain: …" }]

import { readFile } from 'node:fs/promises';
import type { Mutant } from './operators.js';

export interface EquivalentMutant {
  file: string;
  line: string;
  original: string;
  replacement: string;
  /** The mutant's column, for a line with two mutants of the same text (see above). */
  column?: number;
  reason: string;
}

/** What an equivalence entry is matched on, for a mutant of `source`. */
export function mutantKey(mutant: Mutant, source: string): Omit<EquivalentMutant, 'reason'> {
  const lineStart = source.lastIndexOf('\n', mutant.start - 1) + 1;
  const lineEnd = source.indexOf('\n', mutant.start);
  return {
    file: mutant.file,
    line: source.slice(lineStart, lineEnd === -1 ? undefined : lineEnd).trim(),
    original: mutant.original,
    replacement: mutant.replacement,
  };
}

/** The reason the mutant is equivalent, or undefined when no entry matches it. */
export function equivalenceOf(
  mutant: Mutant,
  source: string,
  entries: readonly EquivalentMutant[],
): string | undefined {
  const key = mutantKey(mutant, source);
  return entries.find(
    (entry) =>
      entry.file === key.file &&
      entry.line === key.line &&
      entry.original === key.original &&
      entry.replacement === key.replacement &&
      (entry.column === undefined || entry.column === mutant.column),
  )?.reason;
}

/** Reads and checks an equivalence file; a file that does not exist holds no entries. */
export async function loadEquivalents(path: string): Promise<EquivalentMutant[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const data: unknown = JSON.parse(text);
  const fields = ['file', 'line', 'original', 'replacement', 'reason'] as const;
  if (!Array.isArray(data)) throw new Error(`${path}: expected a JSON array of entries`);
  data.forEach((entry: unknown, i) => {
    const missing = fields.filter(
      (f) =>
        typeof (entry as Record<string, unknown>)?.[f] !== 'string' ||
        (entry as Record<string, string>)[f] === '',
    );
    if (missing.length > 0) {
      throw new Error(`${path}: entry ${i} needs a non-empty string for ${missing.join(', ')}`);
    }
    const column = (entry as Record<string, unknown>).column;
    if (column !== undefined && !(Number.isInteger(column) && (column as number) >= 1))
      throw new Error(`${path}: entry ${i} has a column that is not a whole number ≥ 1`);
  });
  return data as EquivalentMutant[];
}
