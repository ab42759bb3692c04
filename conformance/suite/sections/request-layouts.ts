// Requests whose device-readable part is split over several descriptors. A virtio device
// must not assume any particular arrangement of descriptors (virtio 1.4, "Message Framing"),
// so a request split anywhere, even one byte per descriptor, or put in an indirect table,
// means what it means in one piece: the same status, and the same effect, read by DMA.

import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
} from '../../../dist/ts/index.js';
import { domainId, needEdu, needFeature } from '../device-steps.js';
import { arm, expectLanding } from '../effects.js';
import { SectionTests } from '../harness.js';
import { expectOkSplit, startWithOwnQueues } from '../own-queues.js';

export const section = 'request-layouts';
export const tests = new SectionTests();

const RW = BigInt(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE);
const ONE_BYTE_EACH = Array.from({ length: 64 }, () => 1);

tests.it(
  '[dev.req.status-ok] ATTACH and MAP with the device-readable part split (head apart, one byte per descriptor, indirect): S_OK, and the mapping translates',
  async (session) => {
    needFeature(session, VIRTIO_IOMMU_F_MAP_UNMAP, 'F_MAP_UNMAP');
    const ep = needEdu(session);
    await session.driver.start();
    const config = await session.driver.readConfig();
    const domain = await domainId(session, 1);
    const queues = await startWithOwnQueues(session);
    const { base: staging, size } = session.staging;
    const ram = session.ram.base;
    // The head in a descriptor of its own, then the rest.
    await expectOkSplit(
      queues,
      'attach',
      { domain, endpoint: BigInt(ep.endpointId) },
      [4],
      'direct',
    );
    // The staging page, identity-mapped, one byte per descriptor.
    await expectOkSplit(
      queues,
      'map',
      {
        domain,
        virt_start: staging,
        virt_end: staging + BigInt(size) - 1n,
        phys_start: staging,
        flags: RW,
      },
      ONE_BYTE_EACH,
      'direct',
    );
    await arm(session, ep);
    // A page from the start of input_range to @ram + 0x3000, in an indirect table of 3 + 5 + … bytes.
    const iova = config.input_range.start + 0x1_0000n;
    await expectOkSplit(
      queues,
      'map',
      { domain, virt_start: iova, virt_end: iova + 0xfffn, phys_start: ram + 0x3000n, flags: RW },
      [3, 5, 7, 11, 13],
      'indirect',
    );
    await expectLanding(
      session,
      { edu: ep, iova: iova + 0x10n, label: `@ep at 0x${(iova + 0x10n).toString(16)}` },
      ram + 0x3010n,
      'after MAP requests whose device-readable part was split over several descriptors',
    );
  },
);
