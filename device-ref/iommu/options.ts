// Layer: iommu.
// What a virtio-iommu is configured with: the endpoints behind it with their reserved
// regions, the features it offers and the first values of its configuration, all resolved
// from a board description (board/iommu-model.ts) or a captured driver's device
// (replay.ts); and the check that refuses options no device can have.

import {
  SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
  VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
} from '../../dist/ts/index.js';
import { hex } from '../hex.js';

export const U64_MAX = 0xffff_ffff_ffff_ffffn;
export const U32_MAX = 0xffff_ffff;

/** A RESV_MEM region of an endpoint, as PROBE reports it. */
export interface ReservedRegion {
  /** `VIRTIO_IOMMU_RESV_MEM_T_*`. */
  subtype: number;
  start: bigint;
  /** Inclusive. */
  end: bigint;
}

/** An endpoint behind the IOMMU, as the board declares it. */
export interface IommuEndpoint {
  /** The endpoint ID (on a PCI board, the requester ID). */
  id: number;
  reservedRegions?: readonly ReservedRegion[];
}

export interface IommuCoreOptions {
  endpoints: readonly IommuEndpoint[];
  /** The device-type feature bits the device offers (bit n is `VIRTIO_IOMMU_F_*` n). */
  features: bigint;
  pageSizeMask: bigint;
  /** The virtual addresses the device translates; the whole 64-bit space without F_INPUT_RANGE. */
  inputRange: { start: bigint; end: bigint };
  /** The domain IDs the device accepts; every 32-bit value without F_DOMAIN_RANGE. */
  domainRange: { start: number; end: number };
  /** Bytes of PROBE properties (used with F_PROBE). */
  probeSize: number;
  /**
   * The first value of `bypass` (used with F_BYPASS_CONFIG), 1 if the board wants
   * (dev.config.bypass-initial). A system reset puts it back (dev.config.bypass-system-reset).
   */
  bypass: 0 | 1;
  /** Live mappings over all domains; a MAP beyond this gets VIRTIO_IOMMU_S_NOMEM. */
  maxMappings: number;
}

/** The endpoint's reserved regions by start address, the order PROBE and translate() need. */
export function sortedRegions(endpoint: IommuEndpoint): ReservedRegion[] {
  return [...(endpoint.reservedRegions ?? [])].sort((a, b) => (a.start < b.start ? -1 : 1));
}

export function validateOptions(options: IommuCoreOptions): void {
  const fail = (message: string): never => {
    throw new Error(`IOMMU configuration: ${message}`);
  };
  // dev.config.page-size-mask
  if (options.pageSizeMask <= 0n || options.pageSizeMask > U64_MAX)
    fail('page_size_mask must be a non-zero 64-bit value');
  const { inputRange, domainRange } = options;
  if (inputRange.start < 0n || inputRange.end > U64_MAX || inputRange.start > inputRange.end) {
    fail(`input_range ${hex(inputRange.start)}-${hex(inputRange.end)} is not a 64-bit range`);
  }
  if (
    !Number.isInteger(domainRange.start) ||
    !Number.isInteger(domainRange.end) ||
    domainRange.start < 0 ||
    domainRange.end > U32_MAX ||
    domainRange.start > domainRange.end
  ) {
    fail(`domain_range ${domainRange.start}-${domainRange.end} is not a 32-bit range`);
  }
  if (!Number.isInteger(options.probeSize) || options.probeSize < 0 || options.probeSize > U32_MAX)
    fail('probe_size must be a 32-bit value');
  if (!Number.isInteger(options.maxMappings) || options.maxMappings < 1)
    fail('maxMappings must be a positive integer');
  const ids = new Set<number>();
  for (const endpoint of options.endpoints) {
    if (!Number.isInteger(endpoint.id) || endpoint.id < 0 || endpoint.id > U32_MAX)
      fail(`endpoint ID ${endpoint.id} is not a 32-bit value`);
    if (ids.has(endpoint.id)) fail(`endpoint ${endpoint.id} is declared twice`);
    ids.add(endpoint.id);
    const regions = sortedRegions(endpoint);
    regions.forEach((region, i) => {
      if (
        region.subtype !== VIRTIO_IOMMU_RESV_MEM_T_RESERVED &&
        region.subtype !== VIRTIO_IOMMU_RESV_MEM_T_MSI
      ) {
        fail(`endpoint ${endpoint.id}: unknown RESV_MEM subtype ${region.subtype}`);
      }
      if (region.start < 0n || region.end > U64_MAX || region.start > region.end) {
        fail(
          `endpoint ${endpoint.id}: reserved region ${hex(region.start)}-${hex(region.end)} is not a 64-bit range`,
        );
      }
      // dev.resv-mem.no-overlap
      const previous = regions[i - 1];
      if (previous && previous.end >= region.start)
        fail(`endpoint ${endpoint.id}: reserved regions overlap at ${hex(region.start)}`);
    });
    // dev.resv-mem.single-msi
    if (regions.filter((r) => r.subtype === VIRTIO_IOMMU_RESV_MEM_T_MSI).length > 1) {
      fail(`endpoint ${endpoint.id}: more than one MSI region`);
    }
    if (
      (options.features >> BigInt(VIRTIO_IOMMU_F_PROBE)) & 1n &&
      regions.length * SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM > options.probeSize
    ) {
      fail(
        `endpoint ${endpoint.id}: ${regions.length} RESV_MEM properties do not fit in probe_size ${options.probeSize}`,
      );
    }
  }
}
