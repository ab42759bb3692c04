// Device requirements: The descriptor table (spec-src/09-transport.md). Every queue checks,
// as it reads each returned buffer back, that the buffer's device-readable bytes are as the
// driver wrote them (virtio/split-virtqueue.ts; a change fails dev.vq.readable-untouched in
// whatever test saw it). This test gives the device every layout the queue can make (direct,
// split over several descriptors, indirect, the reply one byte per descriptor), with
// VIRTIO_F_EVENT_IDX and VIRTIO_F_INDIRECT_DESC when offered, on a small queue that wraps,
// and then reads the descriptor table and the available ring back. A second test holds the
// used length to what was written (dev.vq.used-len) on a raw queue: a request, then a chain
// that breaks the table (its next index is past it, where the driver's memory holds what looks
// like a reply descriptor) over the request's old reply.

import { VIRTQUEUE } from '../../../dist/ts/index.js';
import {
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  featureBit,
} from '../../virtio/constants.js';
import { encodeRequest } from '../../driver/requests.js';
import { DESC_SIZE, encodeDescriptor, encodeRequestChain } from '../../virtio/split-ring.js';
import type { Segment, VirtqueueRequest } from '../../virtio/split-virtqueue.js';
import { SectionTests, Untested } from '../harness.js';
import { checkPciPlatform } from '../platform-checks.js';
import {
  QUIET_WAIT_MS,
  VIRTIO_F_EVENT_IDX,
  hex,
  startOwnQueue,
  within,
} from '../transport-steps.js';

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

/** Entries of the raw queue of the used-length test: descriptor 4 would be past its table. */
const RAW_QUEUE_SIZE = 4;
/** How long the test waits for an answer to the broken chain, which the device does not owe. */
const BROKEN_CHAIN_WAIT_MS = QUIET_WAIT_MS;

tests.it(
  "[dev.vq.used-len] [dev.vq.readable-untouched] a request, then a chain whose one device-readable buffer lies where the request's reply was and whose next index is past the descriptor table: the reply's used length fits its buffer, and the broken chain, if it comes back, has used length 0 and its buffer as the driver wrote it",
  async (session, judgement) => {
    await checkPciPlatform(session);
    const transport = session.driver.transport;
    await transport.reset();
    await transport.negotiate(featureBit(VIRTIO_F_VERSION_1));
    const memory = session.memory.allocate(0x4000);
    const queue = {
      size: RAW_QUEUE_SIZE,
      desc: memory.base,
      driver: memory.base + 0x1000n,
      device: memory.base + 0x2000n,
    };
    await transport.configureQueue(VIRTQUEUE.requestq, queue);
    await transport.enableQueue(VIRTQUEUE.requestq);
    await transport.driverOk();
    const qtest = session.qtest;
    const usedIdx = (): Promise<number> => qtest.readw(queue.device + 2n);

    // Descriptors 0 and 1: an ATTACH of @ep and its reply. Descriptor 2: a device-readable
    // buffer over the reply's memory (the driver owns it again once the reply is used), with
    // NEXT to index 4 of a 4-entry table. The 16 bytes after the table (where an entry 4 would
    // be) hold a device-writable descriptor of a spare buffer: a device that follows the next
    // index past the table finds a reply buffer there, and gives itself away by its used length.
    const { readable, writableLength } = encodeRequest('attach', {
      domain: 1n,
      endpoint: BigInt(session.driver.edu?.endpointId ?? 0),
    });
    const request = memory.base + 0x3000n;
    const reply = memory.base + 0x3100n;
    const spare = memory.base + 0x3200n;
    const table = new Uint8Array((RAW_QUEUE_SIZE + 1) * DESC_SIZE);
    encodeRequestChain(
      table,
      { address: request, length: readable.length },
      { address: reply, length: writableLength },
    );
    encodeDescriptor(table, 2, {
      address: reply,
      length: readable.length,
      flags: VIRTQ_DESC_F_NEXT,
      next: RAW_QUEUE_SIZE,
    });
    encodeDescriptor(table, RAW_QUEUE_SIZE, {
      address: spare,
      length: writableLength,
      flags: VIRTQ_DESC_F_WRITE,
      next: 0,
    });
    await Promise.all([
      qtest.memwrite(queue.desc, table),
      qtest.memwrite(request, readable),
      qtest.memwrite(queue.driver, Uint8Array.of(0, 0, 1, 0, 0, 0)), // idx 1, ring[0] = 0
    ]);
    await transport.notify(VIRTQUEUE.requestq);
    const answered = await within(session, 1000, 'the ATTACH to be used', async () =>
      (await usedIdx()) === 1 ? true : undefined,
    );
    if (answered === undefined) throw new Untested('the device did not answer the ATTACH');
    const replyLength = await qtest.readl(queue.device + 8n);
    if (replyLength > writableLength)
      judgement.fail('dev.vq.used-len', {
        expected: `used length ${writableLength} at most: the chain has ${writableLength} device-writable bytes`,
        message: `the ATTACH came back with used length ${replyLength}`,
      });

    // The next request's bytes over the old reply, head.reserved set (the device ignores it)
    // so that no tail written there leaves them as they were.
    const next = Uint8Array.from(readable);
    next.set([0xa5, 0xa5, 0xa5], 1);
    await Promise.all([
      qtest.memwrite(reply, next),
      qtest.writew(queue.driver + 6n, 2), // ring[1] = 2
    ]);
    await qtest.writew(queue.driver + 2n, 2);
    await transport.notify(VIRTQUEUE.requestq);
    const returned = await within(session, BROKEN_CHAIN_WAIT_MS, 'the broken chain', async () =>
      (await usedIdx()) === 2 ? true : undefined,
    );
    if (returned !== undefined) {
      const [id, length] = await Promise.all([
        qtest.readl(queue.device + 12n),
        qtest.readl(queue.device + 16n),
      ]);
      if (length !== 0)
        judgement.fail('dev.vq.used-len', {
          expected:
            'used length 0: the chain has no device-writable buffer (the bytes after the table are no descriptor of it)',
          message: `the chain at head 2 (next index ${RAW_QUEUE_SIZE}, past the table) came back as used element id ${id} with used length ${length}`,
        });
    }
    const after = await qtest.memread(reply, next.length);
    const changed = after.findIndex((byte, i) => byte !== next[i]);
    if (changed >= 0)
      judgement.fail('dev.vq.readable-untouched', {
        expected: `the device-readable buffer of the chain at head 2 (${hex(reply)}+${next.length}) as the driver wrote it`,
        message: `byte ${changed} reads ${hex(after[changed]!)}, the driver wrote ${hex(next[changed]!)} (${returned === undefined ? 'the chain was not returned' : 'the chain was returned'})`,
      });
  },
);
