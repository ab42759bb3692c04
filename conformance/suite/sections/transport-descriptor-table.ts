// Device requirements: The descriptor table (spec-src/09-transport.md). Every queue checks,
// as it reads each returned buffer back, that the buffer's device-readable bytes are as the
// driver wrote them (virtio/split-virtqueue.ts; a change fails dev.vq.readable-untouched in
// whatever test saw it). This test gives the device every layout the queue can make (direct,
// split over several descriptors, indirect, the reply one byte per descriptor), with
// VIRTIO_F_EVENT_IDX and VIRTIO_F_INDIRECT_DESC when offered, on a small queue that wraps,
// and then reads the descriptor table and the available ring back.

import { VIRTIO_F_INDIRECT_DESC, featureBit } from '../../virtio/constants.js';
import { encodeRequest } from '../../driver/requests.js';
import type { Segment, VirtqueueRequest } from '../../virtio/split-virtqueue.js';
import { SectionTests } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import { VIRTIO_F_EVENT_IDX, startOwnQueue } from '../transport-steps.js';

export const section = 'device-requirements-the-descriptor-table';
export const tests = new SectionTests();

/** Queue entries: small, so that a dozen requests wrap both rings. */
const QUEUE_SIZE = 8;

tests.it(
  '[dev.vq.readable-untouched] requests in every descriptor layout, on a queue that wraps, leave their device-readable buffers, the descriptor table and the available ring as the driver wrote them',
  async (session, judgement) => {
    await checkPciPlatform(session);
    const wanted = featureBit(VIRTIO_F_EVENT_IDX) | featureBit(VIRTIO_F_INDIRECT_DESC);
    const { queue, accepted } = await startOwnQueue(session, {
      features: wanted & session.driver.offered,
      size: QUEUE_SIZE,
    });
    const indirect = (accepted & featureBit(VIRTIO_F_INDIRECT_DESC)) !== 0n;
    const { readable, writableLength } = encodeRequest('detach', {
      domain: 1n,
      endpoint: BigInt(session.driver.edu?.endpointId ?? 0),
    });
    const reply: Segment = { writable: true, length: writableLength };
    const layouts: VirtqueueRequest[] = [
      { segments: [{ writable: false, bytes: readable }, reply] },
      {
        segments: [
          { writable: false, bytes: readable.subarray(0, 4) },
          { writable: false, bytes: readable.subarray(4) },
          { writable: true, length: writableLength - 1 },
          { writable: true, length: 1 },
        ],
      },
      ...(indirect
        ? [{ segments: [{ writable: false, bytes: readable }, reply], layout: 'indirect' as const }]
        : []),
    ];
    // Twice round the rings, every layout in turn.
    for (let i = 0; i < 2 * QUEUE_SIZE; i++) await queue.submit(layouts[i % layouts.length]!);
    for (const change of await queue.driverRingChanges())
      judgement.fail('dev.vq.readable-untouched', {
        expected: 'the descriptor table and the available ring as the driver wrote them',
        message: change,
      });
  },
);
