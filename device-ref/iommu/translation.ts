// Layer: iommu.
// DMA translation: where an endpoint's access lands, by its bypass mode, its reserved
// regions and its domain's mappings, and the fault report the device makes for an access it
// refuses (virtio-iommu.ts carries the report to the event queue).

import {
  VIRTIO_IOMMU_FAULT_F_ADDRESS,
  VIRTIO_IOMMU_FAULT_F_READ,
  VIRTIO_IOMMU_FAULT_F_WRITE,
  VIRTIO_IOMMU_FAULT_R_DOMAIN,
  VIRTIO_IOMMU_FAULT_R_MAPPING,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
} from '../../dist/ts/index.js';
import type { DmaAccess } from '../platform/dma-translation.js';
import type { EndpointState, IommuCore } from './core.js';
import { NO_MAPPING } from './mappings.js';
import { U64_MAX } from './options.js';

/** A fault report, in the fields of `struct virtio_iommu_fault` (the reserved ones are zero). */
export interface FaultReport {
  reason: number;
  flags: number;
  endpoint: number;
  address: bigint;
}

export type CoreTranslation =
  /** `length` bytes from the address map contiguously to guest-physical `pa`. */
  | { ok: true; pa: bigint; length: number }
  /** The access is refused; `fault` is the report for the driver, if the device makes one. */
  | { ok: false; fault?: FaultReport };

/**
 * Translates the first bytes of an access of `length` bytes at `iova` by `endpointId`.
 * An endpoint in bypass mode reaches pa = iova (dev.bypass.identity). Otherwise its
 * reserved regions come first: an MSI doorbell is never translated, a RESERVED region
 * is never reachable (dev.resv-mem.contained); then an unattached endpoint is refused
 * with R_DOMAIN (dev.bypass.unattached-blocked), and an attached one reaches what its
 * domain maps with the permission the access needs (dev.map.write-protect; a mapping
 * without VIRTIO_IOMMU_MAP_F_READ refuses reads: dev.map.write-only is not taken),
 * else R_MAPPING. An endpoint the board did not declare is refused without a report.
 */
export function translate(
  core: IommuCore,
  endpointId: number,
  iova: bigint,
  length: number,
  access: DmaAccess,
): CoreTranslation {
  const endpoint = core.endpoints.get(endpointId);
  if (!endpoint) return { ok: false };
  let room = U64_MAX - iova + 1n;
  if (!core.inBypass(endpoint)) {
    for (const region of endpoint.reservedRegions) {
      if (iova < region.start) {
        if (region.start - iova < room) room = region.start - iova;
        break;
      }
      if (iova <= region.end) {
        if (region.subtype === VIRTIO_IOMMU_RESV_MEM_T_MSI) {
          return { ok: true, pa: iova, length: clip(length, region.end - iova + 1n) };
        }
        return {
          ok: false,
          fault: fault(
            endpoint,
            endpoint.domain ? VIRTIO_IOMMU_FAULT_R_MAPPING : VIRTIO_IOMMU_FAULT_R_DOMAIN,
            iova,
            access,
          ),
        };
      }
    }
    const domain = endpoint.domain;
    if (!domain)
      return {
        ok: false,
        fault: fault(endpoint, VIRTIO_IOMMU_FAULT_R_DOMAIN, iova, access),
      };
    const mappings = domain.mappings;
    const handle = mappings.find(iova);
    const needed = access === 'write' ? VIRTIO_IOMMU_MAP_F_WRITE : VIRTIO_IOMMU_MAP_F_READ;
    if (handle === NO_MAPPING || (mappings.flagsOf(handle) & needed) === 0) {
      return {
        ok: false,
        fault: fault(endpoint, VIRTIO_IOMMU_FAULT_R_MAPPING, iova, access),
      };
    }
    const virtStart = mappings.virtStartOf(handle);
    const mapped = mappings.virtEndOf(handle) - iova + 1n;
    return {
      ok: true,
      pa: mappings.physStartOf(handle) + (iova - virtStart),
      length: clip(length, mapped < room ? mapped : room),
    };
  }
  return { ok: true, pa: iova, length: clip(length, room) };
}

/** Every report gives the address (dev.fault.address-optional not taken). */
function fault(
  endpoint: EndpointState,
  reason: number,
  address: bigint,
  access: DmaAccess,
): FaultReport {
  const kind = access === 'write' ? VIRTIO_IOMMU_FAULT_F_WRITE : VIRTIO_IOMMU_FAULT_F_READ;
  return { reason, flags: kind | VIRTIO_IOMMU_FAULT_F_ADDRESS, endpoint: endpoint.id, address };
}

function clip(length: number, available: bigint): number {
  return available < BigInt(length) ? Number(available) : length;
}
