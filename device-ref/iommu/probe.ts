// Layer: iommu.
// PROBE: the properties of an endpoint, here one RESV_MEM property per reserved region the
// board gives it. Statements: dev.probe.reserved, dev.probe.noent,
// dev.probe.property-reserved, dev.probe.length, dev.probe.next-offset,
// dev.probe.short-buffer-untouched, dev.probe.short-buffer-inval, dev.probe.zero-fill,
// dev.resv-mem.reserved. (dev.probe.unoffered-* belong to the dispatcher, which does not
// call this handler unless VIRTIO_IOMMU_F_PROBE was negotiated.)

import {
  encodeProbeResvMem,
  SIZEOF_VIRTIO_IOMMU_PROBE_PROPERTY,
  SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM,
  VIRTIO_IOMMU_PROBE_T_RESV_MEM,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  type ProbeDriverPart,
} from '../../dist/ts/index.js';
import type { IommuCore } from './core.js';
import { hexBytes } from '../hex.js';
import { isAllZero } from './fields.js';

export interface ProbeResult {
  status: number;
  /**
   * The bytes for `properties`: probe_size bytes, or all the room there is when the driver
   * gave less (then all zero).
   */
  properties: Uint8Array;
}

/**
 * `room`: the bytes the driver left for `properties` before the tail. `draftProperties`: the
 * properties of the board's drafts for an endpoint, written after its RESV_MEM ones (their
 * room in probe_size is checked when the device is built).
 */
export function handleProbe(
  core: IommuCore,
  request: ProbeDriverPart,
  room: number,
  draftProperties?: (endpoint: number) => Uint8Array,
): ProbeResult {
  const probeSize = core.options.probeSize;
  const { endpoint: endpointId } = request;
  if (!isAllZero(request.reserved)) {
    core.findings.report(
      'drv.probe.reserved',
      `PROBE request: reserved is ${hexBytes(request.reserved)}, not zeroes; the device disregarded it (dev.probe.reserved)`,
      { endpoint: endpointId },
    );
  }
  if (room !== probeSize) {
    const outcome =
      room < probeSize
        ? 'the device refused it with VIRTIO_IOMMU_S_INVAL and wrote no property'
        : `the device wrote ${probeSize} bytes of properties and the tail right after them`;
    core.findings.report(
      'drv.probe.buffer-size',
      `PROBE request: the driver gave ${room} bytes for properties instead of probe_size = ${probeSize}; ${outcome}`,
      {
        endpoint: endpointId,
        room,
        probe_size: probeSize,
      },
    );
    if (room < probeSize) return { status: VIRTIO_IOMMU_S_INVAL, properties: new Uint8Array(room) };
  }
  const properties = new Uint8Array(probeSize);
  const endpoint = core.endpoints.get(endpointId);
  if (!endpoint) return { status: VIRTIO_IOMMU_S_NOENT, properties };
  const resvMemEnd = endpoint.reservedRegions.length * SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM;
  endpoint.reservedRegions.forEach((region, i) =>
    encodeProbeResvMem(
      properties,
      {
        head: {
          type: VIRTIO_IOMMU_PROBE_T_RESV_MEM,
          reserved: 0,
          length: SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM - SIZEOF_VIRTIO_IOMMU_PROBE_PROPERTY,
        },
        subtype: region.subtype,
        reserved: new Uint8Array(3),
        start: region.start,
        end: region.end,
      },
      i * SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM,
    ),
  );
  if (draftProperties) properties.set(draftProperties(endpointId), resvMemEnd);
  endpoint.probed = true;
  return { status: VIRTIO_IOMMU_S_OK, properties };
}
