// Facts about the spec model that every stage shares: the parser builds the model by them, the
// emitters, drift, the renderer and the version resolver read it by them. They live beside
// model.ts, not in parse/, so that nothing downstream imports the parser's internals.

import type { Level, ScalarType } from './model.js';

/** Bytes of each scalar type of the spec's C notation. */
export const SCALAR_SIZE: Record<ScalarType, number> = { u8: 1, le16: 2, le32: 4, le64: 8 };

/** The prefix of every constant name; scenarios may leave it out (`S_INVAL`). */
export const NAME_PREFIX = 'VIRTIO_IOMMU_';

/** The device configuration struct: variable arrays take their length from its fields. */
export const CONFIG_STRUCT = 'virtio_iommu_config';

/** Constant groups the model gives a meaning to. */
export const REQUEST_TYPE_GROUP = 'VIRTIO_IOMMU_T_';
export const FEATURE_GROUP = 'VIRTIO_IOMMU_F_';
export const STATUS_GROUP = 'VIRTIO_IOMMU_S_';
export const FAULT_REASON_GROUP = 'VIRTIO_IOMMU_FAULT_R_';

/** The levels a keyword gives, in the order summaries list them. */
export const KEYWORD_LEVELS = ['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY'] as const;
/** Every level: the keyword levels, then DEFINED. */
export const LEVELS: readonly Level[] = [...KEYWORD_LEVELS, 'DEFINED'];

/** `VIRTIO_IOMMU_RESV_MEM_T_MSI` → `VIRTIO_IOMMU_RESV_MEM_T_`: up to the last one-letter segment. */
export function groupPrefix(name: string): string | undefined {
  const parts = name.split('_');
  for (let i = parts.length - 2; i > 0; i--) {
    if (parts[i].length === 1) return parts.slice(0, i + 1).join('_') + '_';
  }
  return undefined;
}

/** `virtio_iommu_req_map` → `VIRTIO_IOMMU_T_MAP`; `requestStructName` goes the other way. */
export function requestConstantName(structName: string): string {
  const m = /^(\w+?)_req_(\w+)$/.exec(structName);
  return m ? `${m[1].toUpperCase()}_T_${m[2].toUpperCase()}` : `${structName.toUpperCase()}_T_?`;
}

/** `VIRTIO_IOMMU_T_MAP` → `virtio_iommu_req_map`; undefined for a name without `_T_`. */
export function requestStructName(constantName: string): string | undefined {
  const m = /^(\w+)_T_(\w+)$/.exec(constantName);
  return m ? `${m[1].toLowerCase()}_req_${m[2].toLowerCase()}` : undefined;
}
