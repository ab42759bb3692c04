// Layer: iommu.
// Draft probe-limits (spec-src/10-probe-limits.md), for a board with
// `"drafts": ["probe-limits"]`: the PROBE reply of every endpoint carries, after its RESV_MEM
// properties, a PAGE_SIZE_MASK property with the board's page_size_mask and an INPUT_RANGE
// property with its input_range. The draft's feature is VIRTIO_IOMMU_F_PROBE itself.
//
// Statements: dev.probe-limits.page-size-nonzero, dev.probe-limits.page-size-subset,
// dev.probe-limits.input-range-order, dev.probe-limits.reserved.

import {
  SIZEOF_VIRTIO_IOMMU_PROBE_PROPERTY,
  SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM,
} from '../../../dist/ts/index.js';
import type { IommuCore } from '../core.js';
import { draftConstant } from './draft-constants.js';
import type { DraftExtension } from './drafts.js';

/** struct virtio_iommu_probe_page_size_mask: head, u8 reserved[4], le64 mask. */
const PAGE_SIZE_MASK_SIZE = 16;
/** struct virtio_iommu_probe_input_range: head, u8 reserved[4], le64 start, le64 end. */
const INPUT_RANGE_SIZE = 24;

export class ProbeLimits implements DraftExtension {
  readonly #properties: Uint8Array;

  /** Throws when an endpoint's properties would not fit in probe_size. */
  constructor(core: IommuCore) {
    const { options } = core;
    this.#properties = new Uint8Array(PAGE_SIZE_MASK_SIZE + INPUT_RANGE_SIZE);
    const view = new DataView(this.#properties.buffer);
    const head = (at: number, type: string, size: number) => {
      view.setUint16(at, draftConstant(`VIRTIO_IOMMU_PROBE_T_${type}`), true);
      view.setUint16(at + 2, size - SIZEOF_VIRTIO_IOMMU_PROBE_PROPERTY, true);
    };
    head(0, 'PAGE_SIZE_MASK', PAGE_SIZE_MASK_SIZE);
    view.setBigUint64(8, options.pageSizeMask, true);
    head(PAGE_SIZE_MASK_SIZE, 'INPUT_RANGE', INPUT_RANGE_SIZE);
    view.setBigUint64(PAGE_SIZE_MASK_SIZE + 8, options.inputRange.start, true);
    view.setBigUint64(PAGE_SIZE_MASK_SIZE + 16, options.inputRange.end, true);
    for (const endpoint of options.endpoints) {
      const regions = endpoint.reservedRegions?.length ?? 0;
      const needed = regions * SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM + this.#properties.length;
      if (needed > options.probeSize)
        throw new Error(
          `IOMMU configuration: endpoint ${endpoint.id}: ${regions} RESV_MEM properties and the probe-limits draft's PAGE_SIZE_MASK and INPUT_RANGE need ${needed} bytes, more than probe_size ${options.probeSize}`,
        );
    }
  }

  probeProperties(): Uint8Array {
    return this.#properties;
  }
}
