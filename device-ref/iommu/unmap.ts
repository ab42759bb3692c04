// Layer: iommu.
// UNMAP: remove every mapping of a domain that lies inside [virt_start, virt_end], all or
// nothing. Statements: dev.unmap.noent, dev.unmap.bypass-domain, dev.unmap.split-status,
// dev.unmap.split-keep, dev.unmap.gaps, dev.unmap.covered (the last four in mappings.ts).
// Driver findings: drv.unmap.reserved, drv.unmap.bypass-domain, drv.unmap.first-address,
// drv.unmap.last-address, and drv.unmap.whole-mappings for an UNMAP that covers no mapping.
//
// Choices where the spec leaves them to the device: a non-zero `reserved` gets
// VIRTIO_IOMMU_S_INVAL and removes nothing (dev.unmap.reserved taken,
// dev.unmap.reserved-perform not taken), as ATTACH must do with its own reserved bytes,
// because later versions of the spec can give these bytes a meaning; virt_end below
// virt_start gets VIRTIO_IOMMU_S_INVAL; UNMAP before VIRTIO_IOMMU_F_MAP_UNMAP was negotiated
// gets VIRTIO_IOMMU_S_UNSUPP.

import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
  VIRTIO_IOMMU_S_UNSUPP,
  type UnmapDriverPart,
} from '../../dist/ts/index.js';
import { hex, hexBytes } from '../hex.js';
import type { IommuCore } from './core.js';
import { isAllZero } from './fields.js';

export function handleUnmap(core: IommuCore, request: UnmapDriverPart): number {
  const { domain: id, virt_start, virt_end } = request;
  const where = () => ({ domain: id, virt_start, virt_end });
  if (!core.negotiated(VIRTIO_IOMMU_F_MAP_UNMAP)) {
    core.findings.observe(
      'UNMAP request before VIRTIO_IOMMU_F_MAP_UNMAP was negotiated; the device answered VIRTIO_IOMMU_S_UNSUPP',
      where(),
    );
    return VIRTIO_IOMMU_S_UNSUPP;
  }
  if (!isAllZero(request.reserved)) {
    core.findings.report(
      'drv.unmap.reserved',
      `UNMAP request: reserved is ${hexBytes(request.reserved)}, not zero; the device refused it with VIRTIO_IOMMU_S_INVAL and removed nothing (dev.unmap.reserved)`,
      where(),
    );
    return VIRTIO_IOMMU_S_INVAL;
  }
  if (virt_end < virt_start) {
    core.findings.observe(
      `UNMAP request: virt_end ${hex(virt_end)} is below virt_start ${hex(virt_start)}; the device refused it with VIRTIO_IOMMU_S_INVAL`,
      where(),
    );
    return VIRTIO_IOMMU_S_INVAL;
  }
  if (!core.domainInRange(id, 'UNMAP')) return VIRTIO_IOMMU_S_RANGE;
  if (!core.rangeInInput(virt_start, virt_end, 'UNMAP')) return VIRTIO_IOMMU_S_RANGE;
  const domain = core.domains.get(id);
  if (!domain) return VIRTIO_IOMMU_S_NOENT;
  if (domain.bypass) {
    core.findings.report(
      'drv.unmap.bypass-domain',
      `UNMAP request: domain ${id} is a bypass domain; the device refused it with VIRTIO_IOMMU_S_INVAL (dev.unmap.bypass-domain)`,
      where(),
    );
    return VIRTIO_IOMMU_S_INVAL;
  }
  const result = domain.mappings.unmap(virt_start, virt_end);
  if (!result.ok) {
    const first = domain.mappings.lookup(virt_start);
    if (first && first.virt_start < virt_start) {
      core.findings.report(
        'drv.unmap.first-address',
        `UNMAP request: virt_start ${hex(virt_start)} falls inside the mapping ${hex(first.virt_start)}-${hex(first.virt_end)} without starting it; the device answered VIRTIO_IOMMU_S_RANGE and removed nothing`,
        { ...where(), mapping: first },
      );
    }
    const last = domain.mappings.lookup(virt_end);
    if (last && last.virt_end > virt_end) {
      core.findings.report(
        'drv.unmap.last-address',
        `UNMAP request: virt_end ${hex(virt_end)} falls inside the mapping ${hex(last.virt_start)}-${hex(last.virt_end)} without ending it; the device answered VIRTIO_IOMMU_S_RANGE and removed nothing`,
        { ...where(), mapping: last },
      );
    }
    return VIRTIO_IOMMU_S_RANGE;
  }
  if (result.removed === 0) {
    core.findings.report(
      'drv.unmap.whole-mappings',
      `UNMAP request: ${hex(virt_start)}-${hex(virt_end)} covers no mapping of domain ${id}; the device answered VIRTIO_IOMMU_S_OK and removed nothing`,
      where(),
    );
  }
  core.mappingsChanged(-result.removed);
  return VIRTIO_IOMMU_S_OK;
}
