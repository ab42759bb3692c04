// Layer: iommu.
// DETACH: take an endpoint out of a domain; the domain ceases to exist with its last
// endpoint. Statements: dev.detach.reserved, dev.detach.noent, dev.detach.not-attached
// (taken: VIRTIO_IOMMU_S_INVAL), dev.detach.isolation.

import {
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
  type DetachDriverPart,
} from '../../dist/ts/index.js';
import type { IommuCore } from './core.js';
import { hexBytes } from '../hex.js';
import { isAllZero } from './fields.js';

export function handleDetach(core: IommuCore, request: DetachDriverPart): number {
  const { domain: id, endpoint: endpointId } = request;
  if (!isAllZero(request.reserved)) {
    core.findings.report(
      'drv.detach.reserved',
      `DETACH request: reserved is ${hexBytes(request.reserved)}, not zero; the device disregarded it (dev.detach.reserved)`,
      { domain: id, endpoint: endpointId },
    );
  }
  const endpoint = core.endpoints.get(endpointId);
  if (!endpoint) return VIRTIO_IOMMU_S_NOENT;
  if (!core.domainInRange(id, 'DETACH')) return VIRTIO_IOMMU_S_RANGE;
  if (endpoint.domain?.id !== id) return VIRTIO_IOMMU_S_INVAL;
  core.detach(endpoint);
  return VIRTIO_IOMMU_S_OK;
}
