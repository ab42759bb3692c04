// Device requirements: MAP request.

import { VIRTIO_IOMMU_MAP_F_WRITE, VIRTIO_IOMMU_S_OK } from '../../../dist/ts/index.js';
import { patternFor } from '../../scenario/pattern.js';
import { expectStatus, fail, startWithEndpointAttached } from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'device-requirements-map-request';
export const tests = new SectionTests();

tests.it(
  '[dev.map.write-only] a mapping with WRITE and without READ lets writes through',
  async (session) => {
    // Fill edu's buffer through an identity mapping of the staging page in @ep's domain.
    const { edu, domain, iova } = await startWithEndpointAttached(session);
    const at = iova(0x1000n);
    const { staging, ram, qtest } = session;
    const pattern = patternFor('dev.map.write-only', 16);
    await expectStatus(
      session,
      'map',
      {
        domain,
        virt_start: staging.base,
        virt_end: staging.base + 0xfffn,
        phys_start: staging.base,
        flags: 3n,
      },
      [VIRTIO_IOMMU_S_OK],
    );
    await edu.loadBuffer(pattern, { iova: staging.base, phys: staging.base, size: staging.size });
    await expectStatus(
      session,
      'map',
      {
        domain,
        virt_start: at,
        virt_end: at + 0xfffn,
        phys_start: ram.base,
        flags: BigInt(VIRTIO_IOMMU_MAP_F_WRITE),
      },
      [VIRTIO_IOMMU_S_OK],
    );
    await qtest.memset(ram.base, 16, 0);
    await edu.fromDevice(at, 16);
    const arrived = await qtest.memread(ram.base, 16);
    if (!Buffer.from(arrived).equals(pattern)) {
      fail(
        `the write reaches 0x${ram.base.toString(16)}`,
        `memory there holds ${Buffer.from(arrived).toString('hex')}`,
      );
    }
  },
);
