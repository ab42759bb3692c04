// Layer: iommu.
// MAP: map the virtual range [virt_start, virt_end] of a domain onto the physical range
// that starts at phys_start. Statements: dev.map.unknown-flags, dev.map.alignment,
// dev.map.noent, dev.map.bypass-domain, dev.resv-mem.map-refused, dev.map.overlap.
//
// Choices where the spec leaves them to the device: virt_end <= virt_start (which breaks
// drv.map.virt-end, even for a one-byte range at byte granularity) gets
// VIRTIO_IOMMU_S_INVAL; a physical range that would run past 2^64 - 1 gets
// VIRTIO_IOMMU_S_RANGE; a MAP beyond the device's mapping limit gets VIRTIO_IOMMU_S_NOMEM;
// MAP before VIRTIO_IOMMU_F_MAP_UNMAP was negotiated gets VIRTIO_IOMMU_S_UNSUPP.

import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_MAP_F_MMIO,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_NOMEM,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
  VIRTIO_IOMMU_S_UNSUPP,
  type MapDriverPart,
} from '../../dist/ts/index.js';
import { hex } from '../hex.js';
import type { IommuCore } from './core.js';
import { U64_MAX } from './options.js';

const DEFINED_FLAGS = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE | VIRTIO_IOMMU_MAP_F_MMIO;

export function handleMap(core: IommuCore, request: MapDriverPart): number {
  const { domain: id, virt_start, virt_end, phys_start, flags } = request;
  const where = () => ({ domain: id, virt_start, virt_end, phys_start, flags });
  if (!core.negotiated(VIRTIO_IOMMU_F_MAP_UNMAP)) {
    core.findings.observe(
      'MAP request before VIRTIO_IOMMU_F_MAP_UNMAP was negotiated; the device answered VIRTIO_IOMMU_S_UNSUPP',
      where(),
    );
    return VIRTIO_IOMMU_S_UNSUPP;
  }
  // dev.map.unknown-flags
  const known = core.negotiated(VIRTIO_IOMMU_F_MMIO)
    ? DEFINED_FLAGS
    : DEFINED_FLAGS & ~VIRTIO_IOMMU_MAP_F_MMIO;
  if ((flags & ~known) >>> 0 !== 0) {
    if ((flags & ~DEFINED_FLAGS) >>> 0 !== 0) {
      core.findings.report(
        'drv.map.flags-undefined',
        `MAP request: flags ${hex(flags)} has bits that the spec does not define; the device refused it with VIRTIO_IOMMU_S_INVAL`,
        where(),
      );
    }
    if ((flags & ~known & VIRTIO_IOMMU_MAP_F_MMIO) !== 0) {
      core.findings.report(
        'drv.map.mmio-feature',
        'MAP request: VIRTIO_IOMMU_MAP_F_MMIO is set but VIRTIO_IOMMU_F_MMIO was not negotiated; the device refused it with VIRTIO_IOMMU_S_INVAL',
        where(),
      );
    }
    return VIRTIO_IOMMU_S_INVAL;
  }
  if (virt_end <= virt_start) {
    core.findings.report(
      'drv.map.virt-end',
      `MAP request: virt_end ${hex(virt_end)} is not above virt_start ${hex(virt_start)}; the device refused it with VIRTIO_IOMMU_S_INVAL`,
      where(),
    );
    return VIRTIO_IOMMU_S_INVAL;
  }
  if (!core.domainInRange(id, 'MAP')) return VIRTIO_IOMMU_S_RANGE;
  if (!core.rangeInInput(virt_start, virt_end, 'MAP')) return VIRTIO_IOMMU_S_RANGE;
  const granule = core.granularity;
  if (
    virt_start % granule !== 0n ||
    phys_start % granule !== 0n ||
    (virt_end + 1n) % granule !== 0n
  ) {
    return VIRTIO_IOMMU_S_RANGE;
  }
  if (phys_start + (virt_end - virt_start) > U64_MAX) return VIRTIO_IOMMU_S_RANGE;
  const domain = core.domains.get(id);
  if (!domain) return VIRTIO_IOMMU_S_NOENT;
  if (domain.bypass) {
    core.findings.report(
      'drv.map.bypass-domain',
      `MAP request: domain ${id} is a bypass domain; the device refused it with VIRTIO_IOMMU_S_INVAL (dev.map.bypass-domain)`,
      where(),
    );
    return VIRTIO_IOMMU_S_INVAL;
  }
  const reserved = core.reservedOverlap(domain, virt_start, virt_end);
  if (reserved) {
    core.findings.report(
      'drv.resv-mem.no-map',
      `MAP request: ${hex(virt_start)}-${hex(virt_end)} overlaps the reserved region ${hex(reserved.region.start)}-${hex(reserved.region.end)} of endpoint ${reserved.endpoint}; the device refused it with VIRTIO_IOMMU_S_INVAL (dev.resv-mem.map-refused)`,
      { ...where(), endpoint: reserved.endpoint, region: reserved.region },
    );
    return VIRTIO_IOMMU_S_INVAL;
  }
  // dev.map.overlap comes before the mapping limit: a full device still says what is wrong.
  if (!core.canMap)
    return domain.mappings.overlaps(virt_start, virt_end)
      ? VIRTIO_IOMMU_S_INVAL
      : VIRTIO_IOMMU_S_NOMEM;
  if (!domain.mappings.map({ virt_start, virt_end, phys_start, flags }))
    return VIRTIO_IOMMU_S_INVAL;
  core.mappingsChanged(1);
  return VIRTIO_IOMMU_S_OK;
}
