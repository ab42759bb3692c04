// Device requirements: Device configuration.

import {
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_S_OK,
} from '../../../dist/ts/index.js';
import {
  expectStatus,
  fail,
  needFeature,
  startDevice,
  startWithEndpointAttached,
} from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'device-requirements-device-configuration';
export const tests = new SectionTests();

tests.it(
  '[dev.config.page-sizes] every page size page_size_mask offers can be mapped',
  async (session) => {
    const { config, domain } = await startWithEndpointAttached(session);
    // Each offered size up to 2 MiB, mapped at an IOVA and a physical address aligned to it.
    const sizes = [...Array(22).keys()]
      .map((bit) => 1n << BigInt(bit))
      .filter((size) => (config.page_size_mask & size) !== 0n);
    if (sizes.length === 0)
      fail(
        'a non-zero page_size_mask below 4 MiB',
        `page_size_mask is 0x${config.page_size_mask.toString(16)}`,
      );
    const base = 0x40_0000n;
    for (const [i, page] of sizes.entries()) {
      const iova = base * BigInt(i + 1);
      // A one-byte range cannot be asked for (drv.map.virt-end): map two one-byte pages.
      const size = page === 1n ? 2n : page;
      await expectStatus(
        session,
        'map',
        {
          domain,
          virt_start: iova,
          virt_end: iova + size - 1n,
          phys_start: session.ram.base,
          flags: BigInt(VIRTIO_IOMMU_MAP_F_READ),
        },
        [VIRTIO_IOMMU_S_OK],
      );
    }
  },
);

tests.it('[dev.config.bypass-initial] bypass holds 0 or 1 on a fresh device', async (session) => {
  needFeature(session, VIRTIO_IOMMU_F_BYPASS_CONFIG, 'F_BYPASS_CONFIG');
  const { bypass } = await startDevice(session);
  if (bypass !== 0 && bypass !== 1) fail('bypass 0|1', `bypass reads ${bypass} on a fresh device`);
});
