// Every entry of the equivalence list, and of the list of conforming mutants (survivors whose
// behaviour the spec allows), names a mutant that today's device-ref sources give. An entry
// is keyed by its line's text, so an edit to that line leaves the entry naming nothing: the
// mutant it excused then counts again, and the stale entry must be mended. An entry that
// names a column must name a mutant at that column of its line. No mutant is in both lists.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { loadEquivalents, mutantKey, type EquivalentMutant } from '../mutation/equivalents.js';
import { findMutants } from '../mutation/operators.js';
import { DEFAULT_FILES, sourceFiles } from '../mutation/select.js';

const LISTS = ['equivalent-mutants.json', 'conforming-mutants.json'].map((name) =>
  join(packageRoot, 'conformance', 'mutation', name),
);
const bothLists = async (): Promise<EquivalentMutant[]> =>
  (await Promise.all(LISTS.map((list) => loadEquivalents(list)))).flat();

describe('mutation: the equivalence list and the conforming list', () => {
  it('names only mutants of the sources a run mutates', async () => {
    const entries = await bothLists();
    const keys = new Set<string>();
    for (const file of await sourceFiles(packageRoot, DEFAULT_FILES)) {
      const source = await readFile(join(packageRoot, file), 'utf8');
      for (const mutant of findMutants(file, source)) {
        const key = mutantKey(mutant, source);
        keys.add(JSON.stringify(key));
        keys.add(JSON.stringify({ ...key, column: mutant.column }));
      }
    }
    const stale = entries.filter(
      ({ file, line, original, replacement, column }) =>
        !keys.has(JSON.stringify({ file, line, original, replacement, column })),
    );
    assert.deepEqual(
      stale.map(
        (e) =>
          `${e.file}: ${e.line} (${e.original} → ${e.replacement}${e.column === undefined ? '' : `, column ${e.column}`})`,
      ),
      [],
    );
  });

  it('gives each mutant one entry in one list, with one reason', async () => {
    const entries = await bothLists();
    const seen = new Set<string>();
    // An entry without a column names every column of its key, so it clashes with any other.
    const twice = entries.filter(({ file, line, original, replacement, column }) => {
      const key = JSON.stringify({ file, line, original, replacement });
      const place = `${key}@${column ?? '*'}`;
      const clash =
        seen.has(place) || seen.has(`${key}@*`) || (column === undefined && seen.has(key));
      seen.add(place).add(key);
      return clash;
    });
    assert.deepEqual(twice, []);
  });
});
