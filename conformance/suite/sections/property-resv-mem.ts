// Device requirements: Property RESV_MEM.

import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
  VIRTIO_IOMMU_S_OK,
  statusName,
  type ProbeResvMem,
} from '../../../dist/ts/index.js';
import type { Session } from '../../session.js';
import { attachEndpoint, domainId, fail, needEdu, needFeature } from '../device-steps.js';
import { SectionTests, Untested } from '../harness.js';
import { probeEndpoint } from './probe-request.js';

export const section = 'device-requirements-property-resv_mem';
export const tests = new SectionTests();

async function regions(
  session: Session,
): Promise<{ regions: ProbeResvMem[]; probed: Awaited<ReturnType<typeof probeEndpoint>> }> {
  const probed = await probeEndpoint(session);
  const found = probed.entries.flatMap((e) => (e.kind === 'resv_mem' ? [e.property] : []));
  if (found.length === 0) throw new Untested('the device reports no RESV_MEM property for @ep');
  return { regions: found, probed };
}

tests.it(
  '[dev.resv-mem.reserved] RESV_MEM properties carry zeroes in reserved',
  async (session) => {
    const { regions: found, probed } = await regions(session);
    for (const region of found) {
      if (region.reserved.some((byte) => byte !== 0))
        fail(
          'reserved 000000',
          `reserved is ${Buffer.from(region.reserved).toString('hex')}`,
          probed,
        );
    }
  },
);

tests.it(
  '[dev.resv-mem.single-msi] at most one RESV_MEM property of subtype MSI per endpoint',
  async (session) => {
    const { regions: found, probed } = await regions(session);
    const msi = found.filter((r) => r.subtype === VIRTIO_IOMMU_RESV_MEM_T_MSI).length;
    if (msi > 1) fail('at most one MSI region', `${msi} MSI regions`, probed);
  },
);

tests.it(
  '[dev.resv-mem.no-overlap] the RESV_MEM ranges of an endpoint do not overlap',
  async (session) => {
    const { regions: found, probed } = await regions(session);
    const sorted = [...found].sort((a, b) => (a.start < b.start ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.start <= sorted[i - 1]!.end)
        fail(
          'disjoint ranges',
          `0x${sorted[i - 1]!.start.toString(16)}-0x${sorted[i - 1]!.end.toString(16)} overlaps 0x${sorted[i]!.start.toString(16)}`,
          probed,
        );
    }
  },
);

tests.it(
  '[dev.resv-mem.map-refused] MAP over a RESV_MEM region of the endpoint is refused',
  async (session) => {
    needFeature(session, VIRTIO_IOMMU_F_MAP_UNMAP, 'F_MAP_UNMAP');
    const edu = needEdu(session);
    const { regions: found } = await regions(session);
    const region = found[0]!;
    const domain = await domainId(session);
    await attachEndpoint(session, edu.endpointId, domain);
    const page = 0x1000n;
    const start = region.start & ~(page - 1n);
    const result = await session.driver.request('map', {
      domain,
      virt_start: start,
      virt_end: start + page - 1n,
      phys_start: session.ram.base,
      flags: BigInt(VIRTIO_IOMMU_MAP_F_READ),
    });
    if (result.status === VIRTIO_IOMMU_S_OK || result.status === undefined) {
      const got =
        result.status === undefined ? `used length ${result.usedLen}` : statusName(result.status);
      fail(
        'a status other than S_OK',
        `MAP of 0x${start.toString(16)}, inside RESV_MEM 0x${region.start.toString(16)}-0x${region.end.toString(16)}, returned ${got}`,
        result,
      );
    }
  },
);
