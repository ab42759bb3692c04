// `duplicate-constant`: a constant is defined once, in a `#define` line or a table row.

import { specError } from '../../messages.js';
import type { SourcePlace } from '../../model.js';
import type { PendingConstant } from '../constants.js';

/** True for the first definition of a name; a later one is reported. */
export function isFirstDefinition(p: PendingConstant, seen: Map<string, SourcePlace>): boolean {
  const earlier = seen.get(p.name);
  if (!earlier) {
    seen.set(p.name, p.source);
    return true;
  }
  specError(
    p.file,
    `\`${p.name}\` is already defined at ${earlier.file}:${earlier.line}`,
    p.source,
    'duplicate-constant',
  );
  return false;
}
