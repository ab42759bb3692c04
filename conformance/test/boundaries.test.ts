// conformance meets the device only over the socket and takes spec facts only from the
// generated dist/ts (README.md, "Layout"): no source of it, tests included, imports
// generator/, device-ref/ or any other folder of the project.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import ts from 'typescript';
import { packageRoot } from '../package-root.js';

const conformance = join(packageRoot, 'conformance');

/** Every TypeScript source under conformance/, as `folder/file.ts` with forward slashes. */
const sources = readdirSync(conformance, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.ts'))
  .map((name) => name.split(sep).join('/'));

/** The project folder a relative import of `path` lands in (`conformance`, `dist`, …). */
function foldersImportedBy(path: string): { specifier: string; folder: string }[] {
  const text = readFileSync(join(conformance, path), 'utf8');
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map(({ fileName }) => fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      const target = normalize(join('conformance', dirname(path), specifier));
      return { specifier, folder: target.split(sep).slice(0, 2).join('/') };
    });
}

describe('conformance boundaries', () => {
  it('finds the sources and their relative imports', () => {
    assert.ok(sources.includes('suite/harness.ts'));
    assert.ok(sources.flatMap(foldersImportedBy).length > 300);
  });

  it('imports nothing outside conformance/ but dist/ts', () => {
    const outside = sources.flatMap((path) =>
      foldersImportedBy(path)
        .filter(({ folder }) => !folder.startsWith('conformance/') && folder !== 'dist/ts')
        .map(({ specifier }) => `conformance/${path}: ${specifier}`),
    );
    assert.deepEqual(outside, []);
  });
});
