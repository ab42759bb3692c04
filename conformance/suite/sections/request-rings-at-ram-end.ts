// Rings and buffers at the end of guest RAM. A driver may put a virtqueue anywhere in RAM, its
// rings and requests in the last pages before the end of RAM too: a device whose range checks
// are off by one there refuses requests a driver may send. (Not at guest-physical address 0:
// QEMU takes a descriptor table at 0 for a queue that is not set up, and no statement of this
// spec says a device must not.) The available ring may end at RAM's last byte: the driver area
// is 6 + 2 * queue size bytes (virtio's table of virtqueue part sizes), used_event included.

import { VIRTIO_IOMMU_S_OK, VIRTQUEUE, statusName } from '../../../dist/ts/index.js';
import { KNOWN_IOMMU_FEATURES } from '../../driver/iommu-driver.js';
import { encodeRequest } from '../../driver/requests.js';
import type { GuestRegion } from '../../memory/guest-memory.js';
import { pollUntil } from '../../qtest/poll.js';
import { ExpectationFailure, toHex } from '../../scenario/expectation.js';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_DEVICE_NEEDS_RESET,
  featureBit,
} from '../../virtio/constants.js';
import { encodeRequestChain } from '../../virtio/split-ring.js';
import { SplitVirtqueue } from '../../virtio/split-virtqueue.js';
import { domainId, needEdu } from '../device-steps.js';
import { SectionTests } from '../harness.js';
import { expectAnsweredOk } from '../own-queues.js';
import { VIRTIO_F_EVENT_IDX, hex } from '../transport-steps.js';
import type { Session } from '../../session.js';

export const section = 'request-layouts';
export const tests = new SectionTests();

const QUEUE_SIZE = 8;
const REGION_SIZE = 0x3000;
const PAGE = 0x1000n;
/** The available ring: flags, idx, one entry per descriptor, used_event. */
const AVAIL_RING_SIZE = 6 + 2 * QUEUE_SIZE;
const USED_WAIT_MS = 1000;

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
  '[dev.req.status-ok] a request queue whose rings and requests fill the last pages of RAM serves ATTACH and DETACH (direct and indirect), and one whose available ring ends at the last byte of RAM serves ATTACH',
  async (session) => {
    await session.driver.start();
    const end = BigInt(session.target.ramSize);
    await serveFrom(
      session,
      { base: end - BigInt(REGION_SIZE), size: REGION_SIZE },
      `in the last 0x${REGION_SIZE.toString(16)} bytes of RAM (which ends at 0x${end.toString(16)})`,
    );
    await availRingAtRamEnd(session);
  },
);

/**
 * A request queue whose available ring ends at RAM's last byte (its descriptor table, used ring
 * and buffers in the page below), with VIRTIO_F_EVENT_IDX where offered so that used_event, the
 * ring's last word, counts: an ATTACH made available there is answered S_OK and the device does
 * not ask for a reset. The descriptors and ring entries are written by hand.
 */
async function availRingAtRamEnd(session: Session): Promise<void> {
  const { transport, offered } = session.driver;
  const { qtest } = session;
  const ep = needEdu(session);
  const domain = await domainId(session, 1);
  const end = BigInt(session.target.ramSize);
  const page = end - 2n * PAGE;
  const queue = {
    size: QUEUE_SIZE,
    desc: page,
    device: page + 0x100n,
    driver: end - BigInt(AVAIL_RING_SIZE),
  };
  const request = page + 0x400n;
  const reply = page + 0x600n;
  const { readable, writableLength } = encodeRequest('attach', {
    domain,
    endpoint: BigInt(ep.endpointId),
  });
  const table = new Uint8Array(32);
  encodeRequestChain(
    table,
    { address: request, length: readable.length },
    { address: reply, length: writableLength },
  );
  await transport.reset();
  const { accepted } = await transport.negotiate(
    featureBit(VIRTIO_F_VERSION_1) | (offered & featureBit(VIRTIO_F_EVENT_IDX)),
  );
  await qtest.memset(page, Number(2n * PAGE), 0);
  await transport.configureQueue(VIRTQUEUE.requestq, queue);
  await transport.enableQueue(VIRTQUEUE.requestq);
  await transport.driverOk();
  await Promise.all([
    qtest.memwrite(request, readable),
    qtest.memwrite(reply, new Uint8Array(writableLength).fill(0xff)),
    qtest.memwrite(queue.desc, table),
    qtest.writew(queue.driver + 2n, 1), // avail idx; ring[0] (descriptor 0) and used_event are 0
  ]);
  await transport.notify(VIRTQUEUE.requestq);
  const where = `an available ring at ${hex(queue.driver)}+${AVAIL_RING_SIZE} (RAM ends at ${hex(end)}; features ${hex(accepted)})`;
  await pollUntil(async () => ((await qtest.readw(queue.device + 2n)) === 1 ? true : undefined), {
    timeoutMs: USED_WAIT_MS,
    what: `the ATTACH on ${where} to be used`,
  });
  const [written, status] = await Promise.all([
    qtest.memread(reply, writableLength),
    transport.readStatus(),
  ]);
  const replyStatus = written[writableLength - 4]!;
  if (replyStatus !== VIRTIO_IOMMU_S_OK || (status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) !== 0)
    throw new ExpectationFailure({
      request: toHex(readable),
      reply: toHex(written),
      expected: 'status VIRTIO_IOMMU_S_OK, DEVICE_NEEDS_RESET clear',
      message: `ATTACH on ${where} returned ${statusName(replyStatus)}, device status ${hex(status)}`,
    });
}
