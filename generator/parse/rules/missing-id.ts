// `missing-id`: a requirement item starts with its statement ID in inline code; the ID is the
// statement's permanent anchor and what tests name it by.

import { specError } from '../../messages.js';
import type { CollectedRequirement } from '../collect.js';

/** The item's ID; undefined, and reported, when the item has none. */
export function requirementId(
  req: CollectedRequirement,
): NonNullable<CollectedRequirement['id']> | undefined {
  if (req.id) return req.id;
  specError(
    req.file,
    'A requirement item must start with its ID in inline code, such as `dev.attach.reserved`',
    req.item,
    'missing-id',
  );
  return undefined;
}
