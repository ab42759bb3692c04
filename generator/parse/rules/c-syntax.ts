// `c-syntax`: a ```c block is written in the spec's small C notation (docs/spec-dialect.md);
// what the block parser cannot read is reported at its place in the file.

import { specError } from '../../messages.js';
import type { BlockError } from '../c-block.js';
import type { CollectedCode } from '../collect.js';
import { codePlace } from '../markdown-walk.js';

export function reportCSyntax(block: CollectedCode, errors: readonly BlockError[]): void {
  for (const e of errors) {
    const at = codePlace(block.file, block.node, e.place.line, e.place.column);
    specError(block.file, e.message, at, 'c-syntax');
  }
}
