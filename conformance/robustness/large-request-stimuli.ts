// Robustness stimuli with requests far larger than any request type: an ATTACH followed by
// padding in its device-readable part, in one descriptor and spread over several. The spec
// sizes every request exactly, so a driver that pads breaks its rules; the device may refuse
// the request or ignore the padding, but must not crash, hang or stop isolating. Devices tend
// to copy a request's readable bytes into a buffer of their own, and a large chain is where
// such a copy takes another path.

import { VIRTQUEUE, statusName } from '../../dist/ts/index.js';
import { KNOWN_IOMMU_FEATURES } from '../driver/iommu-driver.js';
import { encodeRequest } from '../driver/requests.js';
import { requestResult } from '../driver/replies.js';
import type { Session } from '../session.js';
import { SplitVirtqueue, type Segment } from '../virtio/split-virtqueue.js';
import { firstEndpoint } from './place.js';
import type { Probe } from './stimuli.js';
import type { Trail } from './trail.js';

/** Bytes of the padded request's device-readable part: more than one 64 KiB block. */
const PADDED_LENGTH = 96 * 1024;
/** One request slot big enough for it and its reply, after the rings of a 4-entry queue. */
const SLOT_SIZE = 0x1_9000;
const QUEUE_MEMORY = 0x1000 + SLOT_SIZE;

/** An ATTACH of the probe's domain padded with 0xa5 bytes to PADDED_LENGTH, cut in `pieces`. */
async function paddedAttach(s: Session, t: Trail, pieces: number): Promise<void> {
  const { transport, offered } = s.driver;
  await transport.reset();
  await transport.negotiate(offered & KNOWN_IOMMU_FEATURES);
  const requestq = await SplitVirtqueue.create(
    transport,
    VIRTQUEUE.requestq,
    s.memory.allocate(QUEUE_MEMORY),
    { size: 4, slotSize: SLOT_SIZE },
  );
  await transport.driverOk();
  const { readable, writableLength } = encodeRequest('attach', {
    domain: t.place.domain,
    endpoint: firstEndpoint(s),
  });
  const padded = new Uint8Array(PADDED_LENGTH).fill(0xa5);
  padded.set(readable);
  const size = Math.ceil(PADDED_LENGTH / pieces);
  const segments: Segment[] = [
    ...Array.from({ length: pieces }, (_, i) => ({
      writable: false as const,
      bytes: padded.subarray(i * size, (i + 1) * size),
    })),
    { writable: true, length: writableLength },
  ];
  t.note(
    `an ATTACH padded to ${PADDED_LENGTH} device-readable bytes in ${pieces} descriptor${pieces === 1 ? '' : 's'}`,
  );
  const { status } = requestResult(
    padded,
    writableLength,
    await requestq.submit({ segments, layout: 'direct' }),
  );
  t.note(status === undefined ? 'answered without a status' : `answered ${statusName(status)}`);
}

export const LARGE_REQUEST_PROBES: readonly Probe[] = [
  { name: 'padded-request', stimulus: (s, t) => paddedAttach(s, t, 1) },
  { name: 'padded-request-split', stimulus: (s, t) => paddedAttach(s, t, 3) },
];
