// A device started with queues of the test's own, for requests whose device-readable part
// the test lays out itself (split over several descriptors, one byte per descriptor, in an
// indirect table). The driver's request() keeps the readable part in one descriptor; these
// queues take any list of segments. Once started this way, the session's driver must not send
// requests any more: the device forgot its queues at the reset.

import { VIRTIO_IOMMU_S_OK, statusName } from '../../dist/ts/index.js';
import { KNOWN_IOMMU_FEATURES } from '../driver/iommu-driver.js';
import {
  encodeRequest,
  requestName,
  type FieldValues,
  type RequestVerb,
} from '../driver/requests.js';
import { requestResult } from '../driver/replies.js';
import { ExpectationFailure, toHex } from '../scenario/expectation.js';
import type { Session } from '../session.js';
import { SplitVirtqueue, type DescriptorLayout, type Segment } from '../virtio/split-virtqueue.js';
import type { VirtqueueRequest } from '../virtio/descriptor-chain.js';

/** Queue memory of each of the two queues: rings of up to 64 entries and their request slots. */
const QUEUE_MEMORY = 0x1_0000;
const QUEUE_SIZE = 64;

export interface OwnQueues {
  requestq: SplitVirtqueue;
  eventq: SplitVirtqueue;
}

/**
 * Resets the device, accepts every offered feature the driver knows, and sets up both queues
 * with `size` entries each (a power of two up to 64).
 */
export async function startWithOwnQueues(session: Session, size = QUEUE_SIZE): Promise<OwnQueues> {
  const { transport, offered } = session.driver;
  await transport.reset();
  await transport.negotiate(offered & KNOWN_IOMMU_FEATURES);
  const options = { size, slotSize: 0x1000 };
  const requestq = await SplitVirtqueue.create(
    transport,
    0,
    session.memory.allocate(QUEUE_MEMORY),
    options,
  );
  const eventq = await SplitVirtqueue.create(
    transport,
    1,
    session.memory.allocate(QUEUE_MEMORY),
    options,
  );
  await transport.driverOk();
  return { requestq, eventq };
}

/** `bytes` cut into pieces of the given lengths (the last one takes what is left). */
export function cut(bytes: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const length of lengths) {
    if (at >= bytes.length) break;
    pieces.push(bytes.subarray(at, Math.min(bytes.length, at + length)));
    at += length;
  }
  if (at < bytes.length) pieces.push(bytes.subarray(at));
  return pieces;
}

/**
 * A typed request whose device-readable part goes in descriptors of `readable` bytes each,
 * with its whole device-writable part after them; fails unless the status is S_OK.
 */
export async function expectOkSplit(
  queues: OwnQueues,
  verb: RequestVerb,
  fields: FieldValues,
  readable: readonly number[],
  layout: DescriptorLayout,
): Promise<void> {
  const { readable: request, writableLength } = encodeRequest(verb, fields);
  const segments: Segment[] = [
    ...cut(request, readable).map((bytes) => ({ writable: false, bytes })),
    { writable: true, length: writableLength },
  ];
  const used = await queues.requestq.submit({ segments, layout });
  const { status } = requestResult(request, writableLength, used);
  if (status !== VIRTIO_IOMMU_S_OK) {
    const pieces = segments.length - 1;
    throw new ExpectationFailure({
      request: toHex(request),
      reply: toHex(used.writtenBytes),
      expected: 'status VIRTIO_IOMMU_S_OK',
      message: `${requestName(request)} with its device-readable part in ${pieces} ${layout} descriptors returned ${
        status === undefined ? `used length ${used.usedLen}` : statusName(status)
      }`,
    });
  }
}

/**
 * Submits `chain`, the request `request` with a device-writable part of `writableLength`
 * bytes laid out as a test wants it, and fails unless the device answers it with S_OK
 * (an unanswered request included): `what` names the request in the evidence, `why` says
 * why S_OK is due.
 */
export async function expectAnsweredOk(
  queue: SplitVirtqueue,
  chain: VirtqueueRequest,
  request: Uint8Array,
  writableLength: number,
  what: string,
  why: string,
): Promise<void> {
  const expected = `status VIRTIO_IOMMU_S_OK: ${why}`;
  let status: number | undefined;
  try {
    ({ status } = requestResult(request, writableLength, await queue.submit(chain)));
  } catch (error) {
    throw new ExpectationFailure({
      request: toHex(request),
      expected,
      message: `${what} was not answered: ${(error as Error).message}`,
    });
  }
  if (status !== VIRTIO_IOMMU_S_OK)
    throw new ExpectationFailure({
      request: toHex(request),
      expected,
      message: `${what} returned status ${status ?? 'none'}`,
    });
}
