// Compares dist/ on disk with what the generator gives, for `viommu check`: reads, never writes.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

function filesUnder(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'));
}

function firstDifference(a: string, b: string): number {
  const x = a.split('\n');
  const y = b.split('\n');
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return i + 1;
}

/** The problems of dist/ under `root`, one line each; empty when it is up to date. */
export function staleFiles(root: string, expected: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const [path, text] of expected) {
    const full = join(root, path);
    if (!existsSync(full)) {
      problems.push(`${path}: missing`);
      continue;
    }
    const actual = readFileSync(full, 'utf8');
    if (actual !== text)
      problems.push(
        `${path}: differs from what spec-src gives (from line ${firstDifference(actual, text)})`,
      );
  }
  for (const path of filesUnder(root, 'dist')) {
    if (!expected.has(path)) problems.push(`${path}: not produced by viommu gen`);
  }
  return problems.sort();
}
