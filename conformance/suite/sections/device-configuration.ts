// Device requirements: Device configuration.

import {
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
} from '../../../dist/ts/index.js';
import { ExpectationFailure } from '../../scenario/expectation.js';
import {
  attachEndpoint,
  domainId,
  iovaAt,
  mapRange,
  needEdu,
  needFeature,
  readReaches,
  startDevice,
} from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'device-requirements-device-configuration';
export const tests = new SectionTests();

tests.it(
  '[dev.config.page-sizes] MAY offer several page sizes: each one offered can be mapped',
  async (session, judgement) => {
    const config = await startDevice(session);
    const mask = config.page_size_mask;
    if (mask === 0n) {
      // Not this MAY's failure: page_size_mask must not be 0 at all.
      throw new ExpectationFailure(
        { expected: 'a non-zero page_size_mask', message: 'page_size_mask is 0' },
        'dev.config.page-size-mask',
      );
    }
    // Each offered size up to 2 MiB, mapped at an IOVA and a physical address aligned to it.
    const sizes = [...Array(22).keys()]
      .map((bit) => 1n << BigInt(bit))
      .filter((size) => (mask & size) !== 0n);
    const offered = `page_size_mask 0x${mask.toString(16)}`;
    if ((mask & (mask - 1n)) === 0n) {
      judgement.option('dev.config.page-sizes', 'absent', `${offered}: one page size`);
      return;
    }
    if (!session.driver.has(VIRTIO_IOMMU_F_MAP_UNMAP)) {
      judgement.untested(
        'dev.config.page-sizes',
        `${offered} offers several sizes; mapping them needs F_MAP_UNMAP, not offered`,
      );
      return;
    }
    const domain = await domainId(session);
    await attachEndpoint(session, needEdu(session).endpointId, domain);
    const base = 0x40_0000n;
    for (const [i, page] of sizes.entries()) {
      const iova = iovaAt(session, config, base * BigInt(i + 1));
      // A one-byte range cannot be asked for (drv.map.virt-end): map two one-byte pages.
      const size = page === 1n ? 2n : page;
      await mapRange(session, domain, iova, session.ram.base, VIRTIO_IOMMU_MAP_F_READ, size);
    }
    judgement.option(
      'dev.config.page-sizes',
      'present',
      `${offered}: each of the ${sizes.length} sizes up to 2 MiB maps`,
    );
  },
);

tests.it(
  '[dev.config.bypass-initial] MAY start with bypass 1: if so, an unattached endpoint is in bypass',
  async (session, judgement) => {
    needFeature(session, VIRTIO_IOMMU_F_BYPASS_CONFIG, 'F_BYPASS_CONFIG');
    const { bypass } = await startDevice(session);
    if (bypass !== 0 && bypass !== 1) {
      throw new ExpectationFailure(
        { expected: 'bypass 0|1', message: `bypass reads ${bypass} on a fresh device` },
        'dev.config.bypass-value',
      );
    }
    if (bypass === 0) {
      judgement.option('dev.config.bypass-initial', 'absent', 'bypass reads 0 on a fresh device');
      return;
    }
    // Done right, bypass 1 means what it says: @ep, attached nowhere, reaches memory 1:1.
    const edu = needEdu(session);
    const { base, size } = session.staging;
    const read = await readReaches(
      session,
      edu,
      { iova: base, phys: base, size },
      session.ram.base,
      session.ram.base,
    );
    if (read.result !== 'reached') {
      throw new ExpectationFailure(
        {
          expected: `a read at 0x${session.ram.base.toString(16)} reaches it (bypass)`,
          message: `bypass reads 1 on a fresh device, but a read by the unattached @ep did not reach memory 1:1 (${read.seen})`,
        },
        'dev.bypass.identity',
      );
    }
    judgement.option(
      'dev.config.bypass-initial',
      'present',
      'bypass reads 1 on a fresh device, and an unattached endpoint reaches memory 1:1',
    );
  },
);
