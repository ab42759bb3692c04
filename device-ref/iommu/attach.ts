// Layer: iommu.
// ATTACH: put an endpoint into a domain, creating the domain when no domain has that ID.
// Statements: dev.attach.reserved, dev.attach.unknown-flags, dev.attach.noent,
// dev.attach.bypass-mismatch, dev.attach.move, dev.attach.move-as-detach,
// dev.attach.effective. The device never answers VIRTIO_IOMMU_S_UNSUPP: a domain holds any
// number of endpoints (dev.attach.shared-domain, dev.attach.shared-domain-unsupp), an
// endpoint can always move (dev.attach.move-unsupp), and every endpoint is compatible with
// every other (dev.attach.compatible, dev.attach.incompatible).

import {
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
  type AttachDriverPart,
} from '../../dist/ts/index.js';
import { hex, hexBytes } from '../hex.js';
import type { IommuCore } from './core.js';
import { isAllZero } from './fields.js';

export function handleAttach(core: IommuCore, request: AttachDriverPart): number {
  const { domain: id, endpoint: endpointId, flags } = request;
  if (!isAllZero(request.reserved)) {
    core.findings.report(
      'drv.attach.reserved',
      `ATTACH request: reserved is ${hexBytes(request.reserved)}, not zero; the device refused it with VIRTIO_IOMMU_S_INVAL (dev.attach.reserved)`,
      { domain: id, endpoint: endpointId },
    );
    return VIRTIO_IOMMU_S_INVAL;
  }
  const known = core.negotiated(VIRTIO_IOMMU_F_BYPASS_CONFIG) ? VIRTIO_IOMMU_ATTACH_F_BYPASS : 0;
  const unknown = (flags & ~known) >>> 0;
  if (unknown !== 0) {
    const why =
      unknown === VIRTIO_IOMMU_ATTACH_F_BYPASS
        ? 'VIRTIO_IOMMU_ATTACH_F_BYPASS needs VIRTIO_IOMMU_F_BYPASS_CONFIG, which was not negotiated'
        : `flags ${hex(unknown)} are not defined`;
    core.findings.observe(
      `ATTACH request: ${why}; the device refused it with VIRTIO_IOMMU_S_INVAL (dev.attach.unknown-flags)`,
      {
        domain: id,
        endpoint: endpointId,
        flags,
      },
    );
    return VIRTIO_IOMMU_S_INVAL;
  }
  const endpoint = core.endpoints.get(endpointId);
  if (!endpoint) return VIRTIO_IOMMU_S_NOENT;
  if (!core.domainInRange(id, 'ATTACH')) return VIRTIO_IOMMU_S_RANGE;
  const bypass = (flags & VIRTIO_IOMMU_ATTACH_F_BYPASS) !== 0;
  const existing = core.domains.get(id);
  if (existing && existing.bypass !== bypass) {
    if (existing.bypass) {
      core.findings.report(
        'drv.attach.bypass-flag-set',
        `ATTACH request: domain ${id} is a bypass domain, but the request lacks VIRTIO_IOMMU_ATTACH_F_BYPASS; the device refused it with VIRTIO_IOMMU_S_INVAL`,
        { domain: id, endpoint: endpointId },
      );
    } else {
      core.findings.report(
        'drv.attach.bypass-flag-clear',
        `ATTACH request: domain ${id} is an ordinary domain, but the request sets VIRTIO_IOMMU_ATTACH_F_BYPASS; the device refused it with VIRTIO_IOMMU_S_INVAL`,
        { domain: id, endpoint: endpointId },
      );
    }
    return VIRTIO_IOMMU_S_INVAL;
  }
  if (core.negotiated(VIRTIO_IOMMU_F_PROBE) && !endpoint.probed) {
    core.findings.report(
      'drv.init.probe-before-attach',
      `ATTACH request: endpoint ${endpointId} goes into domain ${id} without a PROBE request before; the device attached it`,
      { domain: id, endpoint: endpointId },
    );
  }
  core.attach(endpoint, id, bypass);
  return VIRTIO_IOMMU_S_OK;
}
