// Requests laid out as the driver may lay them out. A virtio device must not assume any
// particular arrangement of descriptors (virtio 1.4, "Message Framing"), so a request whose
// device-readable part is split anywhere, even one byte per descriptor, or put in an
// indirect table, means what it means in one piece: the same status, and the same effect,
// read by DMA. And a driver may make as many buffers available at once as the queue has
// entries: a request queue filled to its size is served like any other.

import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_OK,
} from '../../../dist/ts/index.js';
import { domainId, needEdu, needFeature } from '../device-steps.js';
import { arm, expectLanding } from '../effects.js';
import { ExpectationFailure } from '../../scenario/expectation.js';
import { SectionTests } from '../harness.js';
import { expectOkSplit, startWithOwnQueues } from '../own-queues.js';
import { encodeRequest } from '../../driver/requests.js';

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

/** The size of the queue the next test fills: small, so that filling it is cheap. */
const FULL = 8;

tests.it(
  `[dev.req.status-ok] ${FULL} ATTACH requests made available at once fill a request queue of ${FULL} entries: each is answered S_OK`,
  async (session) => {
    const ep = needEdu(session);
    await session.driver.start();
    const domain = await domainId(session, 1);
    const { requestq } = await startWithOwnQueues(session, FULL);
    const { readable, writableLength } = encodeRequest('attach', {
      domain,
      endpoint: BigInt(ep.endpointId),
    });
    const segments = [
      { writable: false, bytes: readable },
      { writable: true, length: writableLength },
    ];
    for (let i = 0; i < FULL; i++) await requestq.post({ segments, layout: 'indirect' });
    await requestq.notify();
    let used;
    try {
      used = await requestq.waitUsed(FULL);
    } catch (error) {
      throw new ExpectationFailure({
        expected: `all ${FULL} requests answered`,
        message: `with the avail ring filled to the queue size (${FULL}), the device did not answer them all: ${(error as Error).message}`,
      });
    }
    const statuses = used.map((u) => (u.usedLen >= 4 ? u.writtenBytes[0] : undefined));
    if (used.length !== FULL || statuses.some((s) => s !== VIRTIO_IOMMU_S_OK))
      throw new ExpectationFailure({
        expected: `${FULL} replies of S_OK`,
        message: `with the avail ring filled to the queue size, the device answered ${used.length} requests, statuses ${statuses.join(', ')}`,
      });
  },
);
