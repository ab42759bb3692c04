// `constant-group`: every constant belongs to a group by its name (`VIRTIO_IOMMU_S_*`): the
// header, the TS module and the scenarios look constants up by group.

import { groupPrefix } from '../../model-facts.js';
import { specError } from '../../messages.js';
import type { PendingConstant } from '../constants.js';

/** The group prefix of `p`'s name; undefined, and reported, when the name has none. */
export function constantGroup(p: PendingConstant): string | undefined {
  const prefix = groupPrefix(p.name);
  if (prefix) return prefix;
  specError(
    p.file,
    `\`${p.name}\` belongs to no group; name constants PREFIX_X_NAME, where X is one letter (T, S, F, R…)`,
    p.source,
    'constant-group',
  );
  return undefined;
}
