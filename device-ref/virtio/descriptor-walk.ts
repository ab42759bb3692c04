// Walks one split-virtqueue descriptor chain (virtio 1.4, "The Virtqueue Descriptor Table",
// "Indirect Descriptors", "Message Framing") and checks every rule the device can see broken:
// a next index beyond the table, a loop, a chain longer than the queue size, an indirect
// table inside an indirect table, an indirect descriptor that also has NEXT, an indirect
// table whose length is not a non-zero multiple of 16, a readable buffer after a writable
// one, a buffer or table outside RAM, more than 2^32 bytes in all. Nothing here throws.

import type { GuestRam } from '../board/guest-ram.js';
import { hex } from '../hex.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './constants.js';

const DESCRIPTOR_SIZE = 16;
const MAX_CHAIN_BYTES = 2 ** 32;

export interface ChainSegment {
  readonly address: number;
  readonly length: number;
}

export interface WalkedChain {
  readonly readable: readonly ChainSegment[];
  readonly writable: readonly ChainSegment[];
  readonly readableLength: number;
  readonly writableLength: number;
  /** The chain used an indirect table although VIRTIO_F_INDIRECT_DESC was not negotiated. */
  readonly indirectWithoutFeature: boolean;
}

export type WalkResult =
  | { readonly ok: true; readonly chain: WalkedChain }
  | { readonly ok: false; readonly problem: string };

export interface WalkLimits {
  readonly queueSize: number;
  readonly indirectNegotiated: boolean;
  /** The device's limit on device-readable bytes per chain (the spec lets it have one). */
  readonly maxReadableBytes: number;
}

export function walkDescriptorChain(
  ram: GuestRam,
  descriptorTable: bigint,
  head: number,
  limits: WalkLimits,
): WalkResult {
  const fail = (problem: string): WalkResult => ({ ok: false, problem });
  const readable: ChainSegment[] = [];
  const writable: ChainSegment[] = [];
  let readableLength = 0;
  let writableLength = 0;
  let table = descriptorTable;
  let tableEntries = limits.queueSize;
  let inIndirect = false;
  let indirectWithoutFeature = false;
  let visitedInTable = 0;
  let buffers = 0;
  let index = head;

  for (;;) {
    const where = inIndirect ? 'indirect table' : 'descriptor table';
    if (index >= tableEntries) {
      return fail(`next index ${index} is beyond the ${where} (${tableEntries} entries)`);
    }
    if (++visitedInTable > tableEntries) {
      return fail(`the chain loops in the ${where} (more than its ${tableEntries} entries)`);
    }
    const entry = table + BigInt(index * DESCRIPTOR_SIZE);
    if (!ram.contains(entry, DESCRIPTOR_SIZE)) {
      return fail(`${where} entry ${index} at ${hex(entry)} is outside RAM`);
    }
    const at = Number(entry);
    const address = ram.readU64(at);
    const length = ram.readU32(at + 8);
    const flags = ram.readU16(at + 12);
    const next = ram.readU16(at + 14);

    if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
      if (inIndirect) return fail(`indirect table entry ${index} refers to another indirect table`);
      if ((flags & VIRTQ_DESC_F_NEXT) !== 0) {
        return fail(`descriptor ${index} sets both VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT`);
      }
      if (length === 0 || length % DESCRIPTOR_SIZE !== 0) {
        return fail(`indirect table length ${length} is not a non-zero multiple of 16`);
      }
      if (!ram.contains(address, length)) {
        return fail(`indirect table ${hex(address)}+${length} is outside RAM`);
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
      return fail(`the chain is longer than the queue size (${limits.queueSize})`);
    }
    if (!ram.contains(address, length)) {
      return fail(`buffer ${hex(address)}+${length} (${where} entry ${index}) is outside RAM`);
    }
    const segment = { address: Number(address), length };
    if ((flags & VIRTQ_DESC_F_WRITE) !== 0) {
      writable.push(segment);
      writableLength += length;
    } else {
      if (writable.length > 0) {
        return fail(`device-readable ${where} entry ${index} follows a device-writable one`);
      }
      readable.push(segment);
      readableLength += length;
      if (readableLength > limits.maxReadableBytes) {
        return fail(
          `more than ${limits.maxReadableBytes} device-readable bytes, the device's limit`,
        );
      }
    }
    if (readableLength + writableLength > MAX_CHAIN_BYTES) {
      return fail('the chain holds more than 2^32 bytes');
    }
    if ((flags & VIRTQ_DESC_F_NEXT) === 0) break;
    index = next;
  }
  return {
    ok: true,
    chain: { readable, writable, readableLength, writableLength, indirectWithoutFeature },
  };
}
