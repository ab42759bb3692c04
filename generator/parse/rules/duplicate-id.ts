// `duplicate-id`: a statement ID names one statement; IDs are anchors, test tags and the rows
// of every conformance report.

import type { VFile } from 'vfile';
import { specError } from '../../messages.js';
import type { SourcePlace, Statement } from '../../model.js';

/** True when no earlier statement has the ID; `ids`: the IDs taken so far. */
export function isNewId(
  file: VFile,
  statement: Statement,
  ids: ReadonlyMap<string, SourcePlace>,
): boolean {
  const earlier = ids.get(statement.id);
  if (!earlier) return true;
  specError(
    file,
    `Statement ID \`${statement.id}\` is already used at ${earlier.file}:${earlier.line}; give this statement a new ID`,
    statement.source,
    'duplicate-id',
  );
  return false;
}
