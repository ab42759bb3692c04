// The split ring's format in guest memory (virtio 1.4, "Split Virtqueues"): where the
// descriptor table, the avail ring and the used ring of a queue lie, and a descriptor's bytes.

import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './constants.js';

/** Bytes of one descriptor table entry. */
export const DESC_SIZE = 16;

/** Where a queue's three parts lie, as the transport programs them. */
export interface QueueAddresses {
  size: number;
  /** The descriptor table. */
  desc: bigint;
  /** The avail ring (the driver area). */
  driver: bigint;
  /** The used ring (the device area). */
  device: bigint;
}

/** One descriptor: a buffer of guest memory and how the chain goes on. */
export interface Descriptor {
  address: bigint;
  length: number;
  flags: number;
  next: number;
}

/**
 * The rings of a queue of `size` entries laid out from `base`, each part aligned as the split
 * ring needs (descriptor table 16, avail ring 2, used ring 4): the descriptor table, the used
 * ring, `gap` bytes (16-byte aligned; split-virtqueue.ts puts a request slot there), then the
 * avail ring; and where the avail ring ends.
 */
export function ringLayout(
  base: bigint,
  size: number,
  gap: number,
): { addresses: QueueAddresses; end: bigint } {
  const desc = base;
  const device = align(desc + BigInt(DESC_SIZE * size), 4n);
  const driver = align(device + BigInt(6 + 8 * size), 16n) + BigInt(gap);
  return { addresses: { size, desc, driver, device }, end: driver + BigInt(6 + 2 * size) };
}

/** Writes `descriptor` as entry `index` of the descriptor table (or indirect table) `target`. */
export function encodeDescriptor(target: Uint8Array, index: number, descriptor: Descriptor): void {
  const { address, length, flags, next } = descriptor;
  putDescriptor(
    target,
    index,
    Number(address & 0xffff_ffffn),
    Number((address >> 32n) & 0xffff_ffffn),
    length,
    flags,
    next,
  );
}

/**
 * encodeDescriptor() for an address given as a safe integer (the queue's own slots): no
 * BigInt arithmetic per descriptor.
 */
export function encodeDescriptorAt(
  target: Uint8Array,
  index: number,
  address: number,
  length: number,
  flags: number,
  next: number,
): void {
  putDescriptor(target, index, address >>> 0, Math.floor(address / 2 ** 32), length, flags, next);
}

function putDescriptor(
  target: Uint8Array,
  index: number,
  addressLow: number,
  addressHigh: number,
  length: number,
  flags: number,
  next: number,
): void {
  // Byte by byte, little-endian: no DataView per descriptor (a request writes one to three).
  const at = DESC_SIZE * index;
  putU32(target, at, addressLow);
  putU32(target, at + 4, addressHigh);
  putU32(target, at + 8, length);
  target[at + 12] = flags & 0xff;
  target[at + 13] = (flags >>> 8) & 0xff;
  target[at + 14] = next & 0xff;
  target[at + 15] = (next >>> 8) & 0xff;
}

/**
 * Descriptors 0 and 1 of `table`: a request's device-readable buffer, chained (NEXT) to the
 * device-writable buffer of its reply.
 */
export function encodeRequestChain(
  table: Uint8Array,
  request: { address: bigint; length: number },
  reply: { address: bigint; length: number },
): void {
  encodeDescriptor(table, 0, { ...request, flags: VIRTQ_DESC_F_NEXT, next: 1 });
  encodeDescriptor(table, 1, { ...reply, flags: VIRTQ_DESC_F_WRITE, next: 0 });
}

function putU32(target: Uint8Array, at: number, value: number): void {
  target[at] = value & 0xff;
  target[at + 1] = (value >>> 8) & 0xff;
  target[at + 2] = (value >>> 16) & 0xff;
  target[at + 3] = (value >>> 24) & 0xff;
}

/** `value` rounded up to a multiple of `alignment` (a power of two). */
export function align(value: bigint, alignment: bigint): bigint {
  return (value + alignment - 1n) & ~(alignment - 1n);
}
