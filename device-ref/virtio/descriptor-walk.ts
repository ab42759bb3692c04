// Layer: virtio.
// Walks one split-virtqueue descriptor chain (virtio 1.4, "The Virtqueue Descriptor Table",
// "Indirect Descriptors", "Message Framing") and checks every rule the device can see broken:
// a next index beyond the table, a loop, a chain longer than the queue size, an indirect
// table inside an indirect table, an indirect descriptor that also has NEXT, an indirect
// table whose length is not a non-zero multiple of 16, a readable buffer after a writable
// one, a buffer or table outside RAM, more than 2^32 bytes in all. Nothing here throws.

import type { GuestRam } from '../platform/guest-ram.js';
import { hex } from '../hex.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './constants.js';

const DESCRIPTOR_SIZE = 16;
const MAX_CHAIN_BYTES = 2 ** 32;

export interface ChainSegment {
  readonly address: number;
  readonly length: number;
}

/**
 * Where a walk leaves the chain it accepted: the buffers in chain order, device-readable ones
 * first. One per queue, reused by every walk, so that walking a chain allocates nothing; what
 * a chain must keep after the next walk is copied out of it.
 */
export class ChainWalk {
  /** Addresses and lengths of the first `buffers` entries are the chain's. */
  readonly addresses: Float64Array;
  readonly lengths: Float64Array;
  buffers = 0;
  /** The first `readableBuffers` buffers are device-readable, the rest device-writable. */
  readableBuffers = 0;
  readableLength = 0;
  writableLength = 0;
  /** The chain used an indirect table although VIRTIO_F_INDIRECT_DESC was not negotiated. */
  indirectWithoutFeature = false;

  /** Room for chains of up to `maxBuffers` buffers (a walk refuses longer ones). */
  constructor(maxBuffers: number) {
    this.addresses = new Float64Array(maxBuffers);
    this.lengths = new Float64Array(maxBuffers);
  }
}

export interface WalkLimits {
  readonly queueSize: number;
  readonly indirectNegotiated: boolean;
  /** The device's limit on device-readable bytes per chain (the spec lets it have one). */
  readonly maxReadableBytes: number;
}

/**
 * Walks the chain at `head` into `into` (which must have room for `limits.queueSize`
 * buffers); returns undefined when the chain is good, else what breaks the rules.
 */
export function walkDescriptorChain(
  ram: GuestRam,
  descriptorTable: bigint,
  head: number,
  limits: WalkLimits,
  into: ChainWalk,
): string | undefined {
  const { addresses, lengths } = into;
  let readableLength = 0;
  let writableLength = 0;
  let readableBuffers = 0;
  // Addresses are numbers: a table or buffer that passed ram.contains() lies below the RAM
  // size, a safe integer. Only the queue's own table can be anywhere (-1 when beyond RAM);
  // messages show its exact address.
  let table = descriptorTable > BigInt(ram.size) ? -1 : Number(descriptorTable);
  let tableEntries = limits.queueSize;
  let inIndirect = false;
  let indirectWithoutFeature = false;
  let visitedInTable = 0;
  let buffers = 0;
  let index = head;

  for (;;) {
    const where = inIndirect ? 'indirect table' : 'descriptor table';
    if (index >= tableEntries) {
      return `next index ${index} is beyond the ${where} (${tableEntries} entries)`;
    }
    if (++visitedInTable > tableEntries) {
      return `the chain loops in the ${where} (more than its ${tableEntries} entries)`;
    }
    const at = table + index * DESCRIPTOR_SIZE;
    if (table < 0 || !ram.contains(at, DESCRIPTOR_SIZE)) {
      const entry = inIndirect ? BigInt(at) : descriptorTable + BigInt(index * DESCRIPTOR_SIZE);
      return `${where} entry ${index} at ${hex(entry)} is outside RAM`;
    }
    const low = ram.readU32(at);
    const high = ram.readU32(at + 4);
    // Exact below 2^53; anything above is far outside RAM (-1 fails ram.contains()).
    const address = high < 0x20_0000 ? high * 0x1_0000_0000 + low : -1;
    const length = ram.readU32(at + 8);
    const flags = ram.readU16(at + 12);
    const next = ram.readU16(at + 14);

    if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
      if (inIndirect) return `indirect table entry ${index} refers to another indirect table`;
      if ((flags & VIRTQ_DESC_F_NEXT) !== 0) {
        return `descriptor ${index} sets both VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT`;
      }
      if (length === 0 || length % DESCRIPTOR_SIZE !== 0) {
        return `indirect table length ${length} is not a non-zero multiple of 16`;
      }
      if (!ram.contains(address, length)) {
        return `indirect table ${hex64(high, low)}+${length} is outside RAM`;
      }
      indirectWithoutFeature = !limits.indirectNegotiated;
      table = address;
      tableEntries = length / DESCRIPTOR_SIZE;
      inIndirect = true;
      visitedInTable = 0;
      index = 0;
      continue;
    }

    if (++buffers > limits.queueSize) {
      return `the chain is longer than the queue size (${limits.queueSize})`;
    }
    if (!ram.contains(address, length)) {
      return `buffer ${hex64(high, low)}+${length} (${where} entry ${index}) is outside RAM`;
    }
    addresses[buffers - 1] = address;
    lengths[buffers - 1] = length;
    if ((flags & VIRTQ_DESC_F_WRITE) !== 0) {
      writableLength += length;
    } else {
      if (buffers > readableBuffers + 1) {
        return `device-readable ${where} entry ${index} follows a device-writable one`;
      }
      readableBuffers = buffers;
      readableLength += length;
      if (readableLength > limits.maxReadableBytes) {
        return `more than ${limits.maxReadableBytes} device-readable bytes, the device's limit`;
      }
    }
    if (readableLength + writableLength > MAX_CHAIN_BYTES) {
      return 'the chain holds more than 2^32 bytes';
    }
    if ((flags & VIRTQ_DESC_F_NEXT) === 0) break;
    index = next;
  }
  into.buffers = buffers;
  into.readableBuffers = readableBuffers;
  into.readableLength = readableLength;
  into.writableLength = writableLength;
  into.indirectWithoutFeature = indirectWithoutFeature;
  return undefined;
}

/** A 64-bit descriptor address, from its two halves, as messages show it. */
function hex64(high: number, low: number): string {
  return hex((BigInt(high) << 32n) | BigInt(low));
}
