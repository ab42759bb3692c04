// `constant-value`: the members of a group have distinct values, so that a value names one
// member (a status, a request type, a feature bit).

import { specError } from '../../messages.js';
import type { PendingConstant } from '../constants.js';

/** Reports `p` when a member of its group already has its value; `values`: value → name. */
export function checkDistinctValue(
  p: PendingConstant,
  prefix: string,
  values: ReadonlyMap<number, string>,
): void {
  const clash = values.get(p.value);
  if (!clash) return;
  specError(
    p.file,
    `\`${p.name}\` has the same value ${p.value} as \`${clash}\` in group \`${prefix}*\``,
    p.source,
    'constant-value',
  );
}
