// Device requirements: UNMAP request.

import {
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_OK,
} from '../../../dist/ts/index.js';
import { expectStatus, startWithEndpointAttached } from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'device-requirements-unmap-request';
export const tests = new SectionTests();

tests.it(
  '[dev.unmap.reserved-perform] UNMAP with reserved set: S_OK, or S_INVAL with or without the removal',
  async (session) => {
    await startWithEndpointAttached(session);
    const range = { domain: 1n, virt_start: 0x1000n, virt_end: 0x1fffn };
    await expectStatus(
      session,
      'map',
      { ...range, phys_start: session.ram.base, flags: BigInt(VIRTIO_IOMMU_MAP_F_READ) },
      [VIRTIO_IOMMU_S_OK],
    );
    await expectStatus(session, 'unmap', { ...range, reserved: 1n }, [
      VIRTIO_IOMMU_S_OK,
      VIRTIO_IOMMU_S_INVAL,
    ]);
    // Whatever it did, the range can be unmapped now and then holds no mapping.
    await expectStatus(session, 'unmap', range, [VIRTIO_IOMMU_S_OK]);
  },
);
