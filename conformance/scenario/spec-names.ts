// Names of the spec as scenarios write them: a constant by its full name, and the short
// form scenarios and evidence use (`S_INVAL`).

import { CONSTANTS_BY_NAME } from '../../dist/ts/index.js';
import { SuiteError } from './expectation.js';

/** A constant of the spec by name (`VIRTIO_IOMMU_S_OK`). */
export function constantValue(name: string): number {
  const value = CONSTANTS_BY_NAME.get(name);
  if (value === undefined) throw new SuiteError(`${name} is not a constant of the spec`);
  return value;
}

/** `VIRTIO_IOMMU_S_INVAL` → `S_INVAL`, as scenarios write it. */
export function shortName(name: string): string {
  return name.replace(/^VIRTIO_IOMMU_/, '');
}
