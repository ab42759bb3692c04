// How a request is laid out in descriptors, where the test decides the layout: each segment
// in its own descriptor ('direct'), all of them in an indirect table ('indirect'), or all of
// them in one descriptor ('single', device-writable if any segment is). Segments are packed
// back to back in a slot of guest RAM; an indirect table sits at the slot's start.

import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './constants.js';
import { DESC_SIZE, encodeDescriptorAt } from './split-ring.js';

/**
 * One piece of a request. `bytes` gives its content (for a device-writable segment: what it
 * holds before the device writes); `length` alone gives zeros if device-readable and
 * `writableFill` bytes if device-writable, so bytes the device did not write stand out.
 */
export type Segment =
  { writable: boolean; bytes: Uint8Array } | { writable: boolean; length: number };

export type DescriptorLayout = 'direct' | 'indirect' | 'single';

export interface VirtqueueRequest {
  segments: readonly Segment[];
  /** Default 'direct'. */
  layout?: DescriptorLayout;
}

/** A request laid out in its slot: what the slot and the descriptor table entries hold. */
export interface LaidOutChain {
  /** The slot's bytes: [indirect table][segment 0][segment 1]... */
  image: Uint8Array;
  /** The descriptor table entries of the chain, one after another (DESC_SIZE bytes each). */
  table: Uint8Array;
  /** [offset in slot, length] of each device-writable segment. */
  writable: Array<[number, number]>;
}

/** How many descriptor table entries `request` takes. */
export function descriptorCount(request: VirtqueueRequest): number {
  return (request.layout ?? 'direct') === 'direct' ? request.segments.length : 1;
}

/** The bytes `request` takes in its slot: its segments, and its indirect table if any. */
export function slotImageLength(request: VirtqueueRequest): number {
  let length = indirectTableLength(request);
  for (const segment of request.segments) length += segmentLength(segment);
  return length;
}

/**
 * Lays `request` out in the slot at `slotAddress` (a safe integer), its chain in the table
 * entries `descriptors` (as many as descriptorCount() says, the head first).
 */
export function layOutChain(
  request: VirtqueueRequest,
  slotAddress: number,
  descriptors: readonly number[],
  writableFill: number,
): LaidOutChain {
  const layout = request.layout ?? 'direct';
  const segments = request.segments;
  const tableLength = indirectTableLength(request);
  const image = new Uint8Array(slotImageLength(request));
  const writable: Array<[number, number]> = [];
  // The segments' chain goes into the descriptor table (direct) or the slot's indirect table.
  const table = new Uint8Array(DESC_SIZE * descriptors.length);
  const chainTarget = layout === 'direct' ? table : image;
  let offset = tableLength;
  let anyWritable = false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const length = segmentLength(segment);
    if ('bytes' in segment) image.set(segment.bytes, offset);
    else if (segment.writable) image.fill(writableFill, offset, offset + length);
    if (segment.writable) {
      writable.push([offset, length]);
      anyWritable = true;
    }
    if (layout !== 'single') {
      // Each but the last goes on to the next: entry i + 1 of an indirect table, or the next
      // of `descriptors` in the descriptor table.
      const last = i + 1 === segments.length;
      encodeDescriptorAt(
        chainTarget,
        i,
        slotAddress + offset,
        length,
        (segment.writable ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT),
        last ? 0 : layout === 'direct' ? descriptors[i + 1]! : i + 1,
      );
    }
    offset += length;
  }
  if (layout === 'indirect') {
    encodeDescriptorAt(table, 0, slotAddress, tableLength, VIRTQ_DESC_F_INDIRECT, 0);
  } else if (layout === 'single') {
    encodeDescriptorAt(
      table,
      0,
      slotAddress,
      image.length,
      anyWritable ? VIRTQ_DESC_F_WRITE : 0,
      0,
    );
  }
  return { image, table, writable };
}

function indirectTableLength(request: VirtqueueRequest): number {
  return request.layout === 'indirect' ? DESC_SIZE * request.segments.length : 0;
}

function segmentLength(segment: Segment): number {
  return 'bytes' in segment ? segment.bytes.length : segment.length;
}
