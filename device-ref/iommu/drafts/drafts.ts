// The draft extensions a board can ask for (`"drafts"` in its iommu description): each one
// adds its feature bit to the offer and serves the requests its draft defines, before the
// spec's own handlers see them.

import type { DescriptorChain } from '../../virtio/device-model.js';
import type { IommuCore } from '../core.js';
import { draftFeatureBit } from './draft-constants.js';
import { LazyIotlbFlush } from './lazy-iotlb-flush.js';

export type DraftName = 'lazy-iotlb-flush';

/** A draft's request handling: the bytes to write, or undefined to leave the request to the spec's handlers. */
export interface DraftExtension {
  serve(type: number, chain: DescriptorChain): Uint8Array | undefined;
}

/** The feature bits `drafts` add to the device's offer. */
export function draftFeatures(drafts: readonly DraftName[]): bigint {
  return drafts.reduce((bits, name) => bits | (1n << BigInt(draftFeatureBit(name))), 0n);
}

/** The extensions for `drafts` on `core`; undefined when there are none (the spec alone). */
export function draftExtension(
  drafts: readonly DraftName[],
  core: IommuCore,
): DraftExtension | undefined {
  const extensions = drafts.map((name) => {
    switch (name) {
      case 'lazy-iotlb-flush':
        return new LazyIotlbFlush(core);
    }
  });
  if (extensions.length === 0) return undefined;
  return {
    serve(type, chain) {
      for (const extension of extensions) {
        const written = extension.serve(type, chain);
        if (written !== undefined) return written;
      }
      return undefined;
    },
  };
}
