// Robustness stimuli on the rings themselves: a request queue whose available and used rings
// break the alignment the split virtqueue asks for (2 and 4 bytes), placed so that their
// 16-bit fields straddle a page end; and an indirect table whose one entry is an indirect
// descriptor naming the table itself (a device that follows nested tables walks it forever).
// The driver breaks a rule; the device may refuse the queue or the chain, ignore it or use it,
// but must not crash or hang.

import { VIRTQUEUE } from '../../dist/ts/index.js';
import { encodeRequest } from '../driver/requests.js';
import { pollUntil, PollTimeoutError } from '../qtest/poll.js';
import { VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, featureBit } from '../virtio/constants.js';
import { firstEndpoint } from './place.js';
import type { Session } from '../session.js';
import type { Probe } from './stimuli.js';

const PAGE = 0x1000n;
const QUEUE_SIZE = 4;
const DESCRIPTOR_SIZE = 16;
const VIRTQ_DESC_F_NEXT = 1;
const VIRTQ_DESC_F_WRITE = 2;
const VIRTQ_DESC_F_INDIRECT = 4;
/** How long the probe waits for an answer the device does not owe. */
const ANSWER_WAIT_MS = 200;

function le(bytes: Uint8Array, at: number, size: number, value: bigint): void {
  for (let i = 0; i < size; i++) bytes[at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
}

/** Where the driver put a raw request queue: its descriptor table and its two rings. */
interface RawQueue {
  desc: bigint;
  driver: bigint;
  device: bigint;
}

/**
 * Starts the device with `features` and a request queue of QUEUE_SIZE entries at `queue`,
 * makes descriptor 0 available (after `fill` has written what it needs) and notifies.
 * Returns the used length of the answer, or undefined when none came within ANSWER_WAIT_MS.
 */
async function postDescriptorZero(
  s: Session,
  features: bigint,
  queue: RawQueue,
  fill: () => Promise<void>,
): Promise<number | undefined> {
  const transport = s.driver.transport;
  await transport.reset();
  await transport.negotiate(features);
  await transport.configureQueue(VIRTQUEUE.requestq, { size: QUEUE_SIZE, ...queue });
  await transport.enableQueue(VIRTQUEUE.requestq);
  await transport.driverOk();
  await fill();
  const avail = new Uint8Array(6);
  le(avail, 2, 2, 1n); // flags 0, idx 1, ring[0]: descriptor 0
  await s.qtest.memwrite(queue.driver, avail);
  await transport.notify(VIRTQUEUE.requestq);
  try {
    await pollUntil(
      async () => ((await s.qtest.readw(queue.device + 2n)) === 1 ? true : undefined),
      { timeoutMs: ANSWER_WAIT_MS, what: 'the used idx', intervalMs: 2 },
    );
  } catch (error) {
    if (!(error instanceof PollTimeoutError)) throw error;
    return undefined;
  }
  return s.qtest.readl(queue.device + 8n);
}

export const RING_PROBES: readonly Probe[] = [
  {
    name: 'rings-across-page-ends',
    async stimulus(s, t) {
      const memory = s.memory.allocate(0x6000);
      // Descriptors and request on the first page; the available ring's flags at the last
      // byte of the third page, the used ring's idx at the last byte of the fourth.
      const queue = {
        desc: memory.base,
        driver: memory.base + 3n * PAGE - 1n,
        device: memory.base + 4n * PAGE - 3n,
      };
      const request = memory.base + 0x800n;
      const { readable, writableLength } = encodeRequest('detach', {
        domain: t.place.domain,
        endpoint: firstEndpoint(s),
      });
      const reply = request + BigInt(readable.length);
      const table = new Uint8Array(2 * DESCRIPTOR_SIZE);
      le(table, 0, 8, request);
      le(table, 8, 4, BigInt(readable.length));
      le(table, 12, 2, BigInt(VIRTQ_DESC_F_NEXT));
      le(table, 14, 2, 1n);
      le(table, DESCRIPTOR_SIZE, 8, reply);
      le(table, DESCRIPTOR_SIZE + 8, 4, BigInt(writableLength));
      le(table, DESCRIPTOR_SIZE + 12, 2, BigInt(VIRTQ_DESC_F_WRITE));
      t.note(
        `a DETACH on a request queue of ${QUEUE_SIZE} entries with the available ring at 0x${queue.driver.toString(16)} and the used ring at 0x${queue.device.toString(16)} (16-bit fields across page ends)`,
      );
      const used = await postDescriptorZero(s, featureBit(VIRTIO_F_VERSION_1), queue, async () => {
        await s.qtest.memwrite(queue.desc, table);
        await s.qtest.memwrite(request, readable);
      });
      t.note(used === undefined ? `not answered within ${ANSWER_WAIT_MS} ms` : 'answered');
    },
  },
  {
    name: 'indirect-table-naming-itself',
    async stimulus(s, t) {
      const indirect = featureBit(VIRTIO_F_INDIRECT_DESC);
      if ((s.driver.offered & indirect) === 0n)
        return t.note('not sent: the device does not offer VIRTIO_F_INDIRECT_DESC');
      const memory = s.memory.allocate(0x2000);
      const queue = {
        desc: memory.base,
        driver: memory.base + 0x100n,
        device: memory.base + 0x200n,
      };
      const table = memory.base + 0x1000n;
      // Head descriptor 0 and the table's only entry: INDIRECT, 16 bytes at the table.
      const entry = new Uint8Array(DESCRIPTOR_SIZE);
      le(entry, 0, 8, table);
      le(entry, 8, 4, BigInt(DESCRIPTOR_SIZE));
      le(entry, 12, 2, BigInt(VIRTQ_DESC_F_INDIRECT));
      t.note(
        `descriptor 0 names an indirect table at 0x${table.toString(16)} whose only entry is an indirect descriptor naming that same table`,
      );
      const features = featureBit(VIRTIO_F_VERSION_1) | indirect;
      const used = await postDescriptorZero(s, features, queue, async () => {
        await s.qtest.memwrite(queue.desc, entry);
        await s.qtest.memwrite(table, entry);
      });
      t.note(
        used === undefined
          ? `not returned within ${ANSWER_WAIT_MS} ms`
          : `returned with used length ${used}`,
      );
    },
  },
];
