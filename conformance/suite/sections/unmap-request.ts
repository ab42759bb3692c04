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
    const { domain, iova } = await startWithEndpointAttached(session);
    const at = iova(0x1000n);
    const range = { domain, virt_start: at, virt_end: at + 0xfffn };
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
