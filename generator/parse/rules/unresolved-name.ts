// `unresolved-name`: every name in inline code resolves to a struct, field, constant, group or
// statement ID of the model, so a typo in the spec is an error, with the likely intended name.

import { specError } from '../../messages.js';
import type { CollectedName } from '../collect.js';
import { NameHints } from '../model-index.js';

const NUMBER = /^(0x[0-9a-fA-F]+|[0-9]+)$/;

export function checkNamesResolve(
  names: readonly CollectedName[],
  known: ReadonlySet<string>,
): void {
  const hints = new NameHints(known);
  for (const n of names) {
    if (NUMBER.test(n.name) || known.has(n.name)) continue;
    specError(
      n.file,
      `\`${n.name}\` is not a name of the model (struct, field, constant, group or statement ID)${hints.hint(n.name)}`,
      n.node,
      'unresolved-name',
    );
  }
}
