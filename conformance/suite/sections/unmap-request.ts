// Device requirements: UNMAP request.

import {
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_OK,
  statusName,
} from '../../../dist/ts/index.js';
import {
  expectStatus,
  mapStaging,
  readReaches,
  startWithEndpointAttached,
} from '../device-steps.js';
import { SectionTests } from '../harness.js';

export const section = 'device-requirements-unmap-request';
export const tests = new SectionTests();

tests.it(
  '[dev.unmap.reserved-perform] MAY remove the mappings of an UNMAP it refuses for reserved: if so, only those',
  async (session, judgement) => {
    const { edu } = await startWithEndpointAttached(session);
    const staging = await mapStaging(session);
    const range = { domain: 1n, virt_start: 0x1000n, virt_end: 0x1fffn };
    const flags = BigInt(VIRTIO_IOMMU_MAP_F_READ);
    const { base } = session.ram;
    await expectStatus(session, 'map', { ...range, phys_start: base, flags }, [VIRTIO_IOMMU_S_OK]);
    const outside = { domain: 1n, virt_start: 0x3000n, virt_end: 0x3fffn };
    await expectStatus(session, 'map', { ...outside, phys_start: base + 0x3000n, flags }, [
      VIRTIO_IOMMU_S_OK,
    ]);
    const unmap = await session.driver.request('unmap', { ...range, reserved: 1n });
    if (unmap.status !== VIRTIO_IOMMU_S_INVAL) {
      // The option is about an UNMAP refused with S_INVAL; S_OK is dev.unmap.reserved's.
      const got =
        unmap.status === undefined ? `used length ${unmap.usedLen}` : statusName(unmap.status);
      judgement.untested(
        'dev.unmap.reserved-perform',
        `UNMAP with reserved set returned ${got}, not S_INVAL`,
      );
      return;
    }
    const inside = await readReaches(session, edu, staging, 0x1000n, base);
    const kept = await readReaches(session, edu, staging, 0x3000n, base + 0x3000n);
    if (kept.result !== 'reached') {
      judgement.fail('dev.unmap.reserved-perform', {
        expected: 'the mapping outside the range stays: a read at IOVA 0x3000 reaches it',
        message: `after UNMAP 0x1000-0x1fff with reserved set (S_INVAL), a read at 0x3000 did not (${kept.seen})`,
      });
      return;
    }
    judgement.option(
      'dev.unmap.reserved-perform',
      inside.result === 'reached' ? 'absent' : 'present',
      inside.result === 'reached'
        ? 'S_INVAL, and the mapping stays'
        : 'S_INVAL, and the mapping in the range is gone; the one outside stays',
    );
  },
);
