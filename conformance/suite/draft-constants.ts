// The values of the drafts' names for the suite: dist/ts holds the spec alone, so a draft's
// request types, flags and property types come from dist/drafts/spec.json, read once.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

interface DraftsModel {
  constants: { name: string; value: number; draft?: string }[];
  drafts: { name: string; featureBit: number }[];
}

let model: DraftsModel | undefined;
export const draftsModel = (): DraftsModel =>
  (model ??= JSON.parse(
    readFileSync(join(packageRoot, 'dist', 'drafts', 'spec.json'), 'utf8'),
  ) as DraftsModel);

/** The value of a draft constant, e.g. VIRTIO_IOMMU_T_IOTLB_FLUSH. */
export function draftConstant(name: string): number {
  const found = draftsModel().constants.find((c) => c.name === name);
  if (found === undefined) throw new Error(`dist/drafts/spec.json: no constant ${name}`);
  return found.value;
}

/** The PROBE property types the drafts define (VIRTIO_IOMMU_PROBE_T_* beyond the spec's). */
export function draftPropertyTypes(): Set<number> {
  return new Set(
    draftsModel()
      .constants.filter((c) => c.draft !== undefined && c.name.startsWith('VIRTIO_IOMMU_PROBE_T_'))
      .map((c) => c.value),
  );
}
