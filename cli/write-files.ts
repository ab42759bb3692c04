// Writes a set of generated files all or nothing: every file goes to a temporary sibling
// first, and only when all are written are they renamed into place.

import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function writeFilesAtomically(root: string, files: Map<string, string>): void {
  const staged: [string, string][] = [];
  try {
    for (const [path, content] of files) {
      const target = join(root, path);
      mkdirSync(dirname(target), { recursive: true });
      const temp = `${target}.${process.pid}.tmp`;
      writeFileSync(temp, content);
      staged.push([temp, target]);
    }
  } catch (error) {
    for (const [temp] of staged) rmSync(temp, { force: true });
    throw error;
  }
  for (const [temp, target] of staged) renameSync(temp, target);
}
