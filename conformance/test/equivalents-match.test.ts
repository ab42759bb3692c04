// Every entry of the equivalence list names a mutant that today's device-ref sources give.
// An entry is keyed by its line's text, so an edit to that line leaves the entry naming
// nothing: the mutant it excused then counts again, and the stale entry must be mended.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';
import { loadEquivalents, mutantKey } from '../mutation/equivalents.js';
import { findMutants } from '../mutation/operators.js';
import { DEFAULT_FILES, sourceFiles } from '../mutation/select.js';

const LIST = join(packageRoot, 'conformance', 'mutation', 'equivalent-mutants.json');

describe('mutation: the equivalence list', () => {
  it('names only mutants of the sources a run mutates', async () => {
    const entries = await loadEquivalents(LIST);
    const keys = new Set<string>();
    for (const file of await sourceFiles(packageRoot, DEFAULT_FILES)) {
      const source = await readFile(join(packageRoot, file), 'utf8');
      for (const mutant of findMutants(file, source))
        keys.add(JSON.stringify(mutantKey(mutant, source)));
    }
    const stale = entries.filter(
      ({ file, line, original, replacement }) =>
        !keys.has(JSON.stringify({ file, line, original, replacement })),
    );
    assert.deepEqual(
      stale.map((e) => `${e.file}: ${e.line} (${e.original} → ${e.replacement})`),
      [],
    );
  });

  it('gives each entry one reason: no two entries name the same mutant', async () => {
    const entries = await loadEquivalents(LIST);
    const seen = new Set<string>();
    const twice = entries.filter(({ file, line, original, replacement }) => {
      const key = JSON.stringify({ file, line, original, replacement });
      if (seen.has(key)) return true;
      seen.add(key);
      return false;
    });
    assert.deepEqual(twice, []);
  });
});
