// Layer: board.
// The virtio-iommu a board builds: the device options its description gives (features, the
// first configuration values, the endpoints and their reserved regions) and the factory the
// board takes, which puts the IOMMU core behind the virtio-pci function.

import {
  FEATURE_BITS,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
  VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
} from '../../dist/ts/index.js';
import { draftFeatures } from '../iommu/drafts/drafts.js';
import {
  createVirtioIommu,
  DEVICE_LIMITS,
  type VirtioIommuOptions,
} from '../iommu/virtio-iommu.js';
import type { IommuModelFactory } from './board.js';
import type { EndpointDescription, IommuDescription } from './description.js';

const RESV_MEM_SUBTYPES = {
  RESERVED: VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
  MSI: VIRTIO_IOMMU_RESV_MEM_T_MSI,
} as const;

/**
 * The device options a board description gives. The features are the board's; the presets
 * offer VIRTIO_IOMMU_F_MAP_UNMAP and not the legacy VIRTIO_IOMMU_F_BYPASS
 * (dev.features.map-unmap, dev.features.no-legacy-bypass, dev.features.bypass-exclusive).
 */
export function iommuOptionsOf(
  config: IommuDescription,
  endpoints: readonly EndpointDescription[],
): VirtioIommuOptions {
  return {
    ...DEVICE_LIMITS,
    endpoints: endpoints.map((endpoint) => ({
      id: endpoint.endpoint,
      reservedRegions: endpoint.reserved_regions.map((region) => ({
        subtype: RESV_MEM_SUBTYPES[region.subtype],
        start: region.start,
        end: region.end,
      })),
    })),
    features: config.features.reduce(
      (bits, name) => bits | (1n << BigInt(FEATURE_BITS[name])),
      draftFeatures(config.drafts ?? []),
    ),
    drafts: config.drafts ?? [],
    pageSizeMask: config.page_size_mask,
    inputRange: config.input_range,
    domainRange: config.domain_range,
    probeSize: config.probe_size,
    bypass: config.bypass ? 1 : 0,
  };
}

/** The IOMMU model factory the board takes (BoardOptions.iommuModel). */
export const createIommuModel: IommuModelFactory = (host) =>
  createVirtioIommu(host.virtio, iommuOptionsOf(host.config, host.endpoints), (finding) =>
    host.findings.add(finding),
  );
