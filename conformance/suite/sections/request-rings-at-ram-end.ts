// Rings and buffers at the end of guest RAM. A driver may put a virtqueue anywhere in RAM, its
// rings and requests in the last pages before the end of RAM too: a device whose range checks
// are off by one there refuses requests a driver may send. (Not at guest-physical address 0:
// QEMU takes a descriptor table at 0 for a queue that is not set up, and no statement of this
// spec says a device must not.)

import { KNOWN_IOMMU_FEATURES } from '../../driver/iommu-driver.js';
import { encodeRequest } from '../../driver/requests.js';
import type { GuestRegion } from '../../memory/guest-memory.js';
import { SplitVirtqueue } from '../../virtio/split-virtqueue.js';
import { domainId, needEdu } from '../device-steps.js';
import { SectionTests } from '../harness.js';
import { expectAnsweredOk } from '../own-queues.js';
import type { Session } from '../../session.js';

export const section = 'request-layouts';
export const tests = new SectionTests();

const QUEUE_SIZE = 8;
const REGION_SIZE = 0x3000;

/** A request queue in `memory`; ATTACH and DETACH of @ep, direct and indirect, all S_OK. */
async function serveFrom(session: Session, memory: GuestRegion, where: string): Promise<void> {
  const { transport, offered } = session.driver;
  const ep = needEdu(session);
  const domain = await domainId(session, 1);
  await transport.reset();
  await transport.negotiate(offered & KNOWN_IOMMU_FEATURES);
  const requestq = await SplitVirtqueue.create(transport, 0, memory, {
    size: QUEUE_SIZE,
    slotSize: 0x1000,
  });
  await transport.driverOk();
  for (const layout of ['direct', 'indirect'] as const) {
    for (const verb of ['attach', 'detach'] as const) {
      const { readable, writableLength } = encodeRequest(verb, {
        domain,
        endpoint: BigInt(ep.endpointId),
      });
      const what = `${verb.toUpperCase()} (${layout}) on a request queue ${where}`;
      await expectAnsweredOk(
        requestq,
        {
          segments: [
            { writable: false, bytes: readable },
            { writable: true, length: writableLength },
          ],
          layout,
        },
        readable,
        writableLength,
        what,
        'the queue lies in RAM',
      );
    }
  }
}

tests.it(
  '[dev.req.status-ok] a request queue whose rings and requests fill the last pages of RAM serves ATTACH and DETACH (direct and indirect)',
  async (session) => {
    await session.driver.start();
    const end = BigInt(session.target.ramSize);
    await serveFrom(
      session,
      { base: end - BigInt(REGION_SIZE), size: REGION_SIZE },
      `in the last 0x${REGION_SIZE.toString(16)} bytes of RAM (which ends at 0x${end.toString(16)})`,
    );
  },
);
