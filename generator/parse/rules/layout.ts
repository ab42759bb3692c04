// `layout`: every struct can be laid out (layout.ts: known field types and nested structs,
// natural alignment, parts in order, bit ranges that fill their container), and a variable
// array takes its length from a field of the device configuration.

import { CONFIG_STRUCT } from '../../model-facts.js';
import type { FilesByPath } from '../../messages.js';
import type { Struct } from '../../model.js';
import type { LayoutError } from '../layout.js';
import { didYouMean, type FieldPath } from '../model-index.js';

const RULE = 'layout';

export function reportLayoutErrors(errors: readonly LayoutError[], files: FilesByPath): void {
  for (const e of errors) files.error(e.message, e.source, RULE);
}

/** `configPaths`: the fields of the configuration struct; `failed`: structs not laid out. */
export function checkVariableLengths(
  structs: readonly Struct[],
  configPaths: ReadonlyMap<string, FieldPath>,
  failed: ReadonlySet<string>,
  files: FilesByPath,
): void {
  if (failed.has(CONFIG_STRUCT)) return;
  for (const s of structs) {
    for (const f of s.fields) {
      if (f.kind !== 'variable' || configPaths.has(f.lengthField)) continue;
      files.error(
        `The length of \`${f.name}\` must be a field of \`${CONFIG_STRUCT}\`; \`${f.lengthField}\` is not${didYouMean(f.lengthField, configPaths.keys())}`,
        f.source,
        RULE,
      );
    }
  }
}
