// Chains at the queue's limit. A descriptor chain may be as long as the queue has entries
// (virtio 1.4, "The Virtqueue Descriptor Table": the queue size is the longest possible chain),
// and an indirect table may hold as many descriptors as that too. A device that counts one
// too many, and so refuses a chain exactly at the limit, fails requests a driver may send.

import { VIRTIO_PCI_COMMON_CFG } from '../../../dist/ts/index.js';
import { encodeRequest } from '../../driver/requests.js';
import { domainId, needEdu } from '../device-steps.js';
import { SectionTests } from '../harness.js';
import { cut, expectAnsweredOk, startWithOwnQueues } from '../own-queues.js';
import type { DescriptorLayout, Segment } from '../../virtio/split-virtqueue.js';
import { PollTimeoutError } from '../../qtest/poll.js';
import { startOwnQueue } from '../transport-steps.js';
import { VIRTIO_F_INDIRECT_DESC, featureBit } from '../../virtio/constants.js';

export const section = 'request-layouts';
export const tests = new SectionTests();

/** Queue sizes to try: the smallest that holds a request in pieces, and a larger one. */
const SIZES = [8, 16];

tests.it(
  '[dev.req.status-ok] a request whose chain is exactly as long as the queue (queue_size descriptors, direct or in an indirect table) is answered S_OK',
  async (session) => {
    const ep = needEdu(session);
    await session.driver.start();
    const domain = await domainId(session, 1);
    for (const size of SIZES) {
      const { requestq } = await startWithOwnQueues(session, size);
      for (const layout of ['direct', 'indirect'] as DescriptorLayout[]) {
        for (const verb of ['attach', 'detach'] as const) {
          const { readable, writableLength } = encodeRequest(verb, {
            domain,
            endpoint: BigInt(ep.endpointId),
          });
          // size - 1 device-readable descriptors (one byte each, the last takes the rest),
          // and the device-writable tail in the last one.
          const pieces = cut(
            readable,
            Array.from({ length: size - 2 }, () => 1),
          );
          const segments: Segment[] = [
            ...pieces.map((bytes) => ({ writable: false, bytes })),
            { writable: true, length: writableLength },
          ];
          const what = `${verb.toUpperCase()} in a chain of ${segments.length} ${layout} descriptors on a queue of ${size} entries`;
          await expectAnsweredOk(
            requestq,
            { segments, layout },
            readable,
            writableLength,
            what,
            'the chain is as long as the queue allows',
          );
        }
      }
    }
  },
);

tests.it(
  '[dev.pci.queue-size] request queues of 1 entry (indirect requests), 2 entries and the maximum serve requests past their wrap',
  async (session, judgement) => {
    const { transport, offered } = session.driver;
    await transport.reset();
    const maximum = await transport.queueMaxSize(0);
    const indirect = (offered & featureBit(VIRTIO_F_INDIRECT_DESC)) !== 0n;
    const { readable, writableLength } = encodeRequest('detach', {
      domain: 1n,
      endpoint: BigInt(session.driver.edu?.endpointId ?? 0),
    });
    const segments: Segment[] = [
      { writable: false, bytes: readable },
      { writable: true, length: writableLength },
    ];
    // The smallest sizes and the largest (each queue takes guest memory of its own).
    const sizes = [...new Set([indirect ? 1 : 2, 2, maximum])].filter((s) => s <= maximum);
    for (const size of sizes) {
      const { queue } = await startOwnQueue(session, {
        size,
        features: indirect ? featureBit(VIRTIO_F_INDIRECT_DESC) : 0n,
      });
      await transport.common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, 0);
      const shown = await transport.common.read16(VIRTIO_PCI_COMMON_CFG.queue_size.offset);
      if (shown !== size)
        judgement.fail('dev.pci.queue-size', {
          expected: `queue_size ${size}, the size the driver wrote`,
          message: `queue_size reads ${shown} (the maximum is ${maximum})`,
        });
      const layout: DescriptorLayout = size === 1 ? 'indirect' : 'direct';
      // One more request than entries (up to 5): the available ring wraps.
      for (let n = 0; n <= Math.min(size, 4); n++) {
        try {
          await queue.submit({ segments, layout });
        } catch (error) {
          if (!(error instanceof PollTimeoutError)) throw error;
          judgement.fail('dev.pci.queue-size', {
            expected: `every request answered on a queue of ${size} entries`,
            message: `request ${n + 1} (${layout}) on a request queue of ${size} entries (the maximum is ${maximum}) was not answered: ${error.message}`,
          });
          return;
        }
      }
    }
  },
);
