// Test bytes for DMA checks: reproducible from a seed (the scenario and step), never 0x00
// (the fill of watched memory) nor 0xff (the fill of unwritten device-writable buffers).

import { createHash } from 'node:crypto';

export function patternFor(seed: string, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < length; i++) {
    if (i > 0 && i % block.length === 0) block = createHash('sha256').update(block).digest();
    bytes[i] = 1 + (block[i % block.length]! % 0xfe);
  }
  return bytes;
}
