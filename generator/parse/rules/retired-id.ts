// `retired-id`: an ID once retired (spec-src/retired-ids.txt) never comes back, so that an old
// report's row never means a new statement.

import type { VFile } from 'vfile';
import { specError } from '../../messages.js';
import type { Statement } from '../../model.js';

export function isNotRetired(
  file: VFile,
  statement: Statement,
  retired: ReadonlySet<string>,
): boolean {
  if (!retired.has(statement.id)) return true;
  specError(
    file,
    `Statement ID \`${statement.id}\` is retired (spec-src/retired-ids.txt) and must never be reused; choose a new ID`,
    statement.source,
    'retired-id',
  );
  return false;
}
