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
    const { edu, domain, iova } = await startWithEndpointAttached(session);
    const staging = await mapStaging(session, domain);
    const at = iova(0x1000n);
    const beyond = iova(0x3000n);
    const range = { domain, virt_start: at, virt_end: at + 0xfffn };
    const flags = BigInt(VIRTIO_IOMMU_MAP_F_READ);
    const { base } = session.ram;
    await expectStatus(session, 'map', { ...range, phys_start: base, flags }, [VIRTIO_IOMMU_S_OK]);
    const outside = { domain, virt_start: beyond, virt_end: beyond + 0xfffn };
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
    const inside = await readReaches(session, edu, staging, at, base);
    const kept = await readReaches(session, edu, staging, beyond, base + 0x3000n);
    if (kept.result !== 'reached') {
      judgement.fail('dev.unmap.reserved-perform', {
        expected: `the mapping outside the range stays: a read at IOVA 0x${beyond.toString(16)} reaches it`,
        message: `after UNMAP of the page at 0x${at.toString(16)} with reserved set (S_INVAL), a read at 0x${beyond.toString(16)} did not (${kept.seen})`,
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
