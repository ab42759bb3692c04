// Bytes a device is asked to write: values 0x01..0x7f only, so every landed byte differs from
// the fill of watched RAM (0x80..0xff, address-pattern.ts) and from "nothing" (0x00).
// Reproducible from a seed; a run of a few bytes names its place in the payload.

import { createHash } from 'node:crypto';

export function writePayload(seed: string, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let block = createHash('sha256').update(`payload:${seed}`).digest();
  for (let i = 0; i < length; i++) {
    if (i > 0 && i % block.length === 0) block = createHash('sha256').update(block).digest();
    bytes[i] = 1 + (block[i % block.length]! % 0x7f);
  }
  return bytes;
}

/** True for a byte a payload can hold. */
export function isPayloadByte(byte: number): boolean {
  return byte >= 0x01 && byte <= 0x7f;
}
