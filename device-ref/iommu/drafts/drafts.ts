// Layer: iommu.
// The draft extensions a board can ask for (`"drafts"` in its iommu description): each one
// adds its feature bit to the offer and serves the requests its draft defines, before the
// spec's own handlers see them, or adds the PROBE properties its draft defines.

import type { DescriptorChain } from '../../virtio/device-model.js';
import type { IommuCore } from '../core.js';
import { draftFeatureBit } from './draft-constants.js';
import { LazyIotlbFlush } from './lazy-iotlb-flush.js';
import { ProbeLimits } from './probe-limits.js';

export type DraftName = 'lazy-iotlb-flush' | 'probe-limits';

export interface DraftExtension {
  /** A draft's request handling: the bytes to write, or undefined to leave the request to the spec's handlers. */
  serve?(type: number, chain: DescriptorChain): Uint8Array | undefined;
  /** A draft's PROBE properties, written after the spec's ones for endpoint `endpoint`. */
  probeProperties?(endpoint: number): Uint8Array;
}

/** The feature bits `drafts` add to the device's offer. */
export function draftFeatures(drafts: readonly DraftName[]): bigint {
  return drafts.reduce((bits, name) => bits | (1n << BigInt(draftFeatureBit(name))), 0n);
}

/** The extensions for `drafts` on `core`; undefined when there are none (the spec alone). */
export function draftExtension(
  drafts: readonly DraftName[],
  core: IommuCore,
): Required<DraftExtension> | undefined {
  const extensions = drafts.map((name): DraftExtension => {
    switch (name) {
      case 'lazy-iotlb-flush':
        return new LazyIotlbFlush(core);
      case 'probe-limits':
        return new ProbeLimits(core);
    }
  });
  if (extensions.length === 0) return undefined;
  return {
    serve(type, chain) {
      for (const extension of extensions) {
        const written = extension.serve?.(type, chain);
        if (written !== undefined) return written;
      }
      return undefined;
    },
    probeProperties(endpoint) {
      const parts = extensions.map((extension) => extension.probeProperties?.(endpoint));
      return Buffer.concat(parts.filter((part) => part !== undefined));
    },
  };
}
