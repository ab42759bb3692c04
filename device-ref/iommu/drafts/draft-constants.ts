// Layer: iommu.
// The values of the drafts' names: dist/ts holds the spec alone, so a draft's feature bit,
// request type and flags come from dist/drafts/spec.json (written by `viommu gen`), read once.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../../package-root.js';

interface DraftsModel {
  constants: { name: string; value: number }[];
  drafts: { name: string; featureBit: number }[];
}

let model: DraftsModel | undefined;

function draftsModel(): DraftsModel {
  if (model) return model;
  const path = join(findPackageRoot(), 'dist', 'drafts', 'spec.json');
  if (!existsSync(path))
    throw new Error('dist/drafts/spec.json is missing: run `viommu gen` first');
  return (model = JSON.parse(readFileSync(path, 'utf8')) as DraftsModel);
}

/** The value of a draft constant, e.g. VIRTIO_IOMMU_T_IOTLB_FLUSH. */
export function draftConstant(name: string): number {
  const constant = draftsModel().constants.find((c) => c.name === name);
  if (constant === undefined) throw new Error(`dist/drafts/spec.json: no constant ${name}`);
  return constant.value;
}

/** The feature bit a draft needs, e.g. 7 for lazy-iotlb-flush. */
export function draftFeatureBit(draft: string): number {
  const found = draftsModel().drafts.find((d) => d.name === draft);
  if (found === undefined) throw new Error(`dist/drafts/spec.json: no draft ${draft}`);
  return found.featureBit;
}
