// Where the package's own files are, wherever it is run from.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The folder that holds package.json, schemas/, spec-src/ and dist/. */
export const packageRoot = findRoot(dirname(fileURLToPath(import.meta.url)));
