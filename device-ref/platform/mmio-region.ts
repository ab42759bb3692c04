// Layer: platform.
// A memory-mapped register block (what a BAR decodes to), and how byte-range accesses are
// cut into register accesses.

export type AccessSize = 1 | 2 | 4 | 8;

export interface MmioRegion {
  /** Size in bytes. */
  readonly size: number;
  /** The widest single access the registers take; wider accesses are split. */
  readonly maxAccessSize: AccessSize;
  /** A read of `size` bytes at `offset`, little-endian, zero-extended. */
  read(offset: number, size: AccessSize): bigint;
  write(offset: number, size: AccessSize, value: bigint): void;
}

export interface AccessPiece {
  offset: number;
  size: AccessSize;
}

/**
 * Cuts [offset, offset + length) into register accesses the way QEMU's memory core does
 * (memory_access_size): each piece is the largest power of two that fits the remaining
 * length, the region's widest access and the alignment of its offset. So `readq` on a
 * region of 4-byte registers is two `readl`, and an unaligned `readl` is four `readb`.
 */
export function accessPieces(
  offset: number,
  length: number,
  maxAccessSize: AccessSize,
): AccessPiece[] {
  const pieces: AccessPiece[] = [];
  let at = offset;
  const end = offset + length;
  while (at < end) {
    let size: AccessSize = maxAccessSize;
    while (size > end - at || at % size !== 0) size = (size / 2) as AccessSize;
    pieces.push({ offset: at, size });
    at += size;
  }
  return pieces;
}

export function readRegionBytes(region: MmioRegion, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (const piece of accessPieces(offset, length, region.maxAccessSize)) {
    let value = region.read(piece.offset, piece.size);
    for (let i = 0; i < piece.size; i++) {
      out[piece.offset - offset + i] = Number(value & 0xffn);
      value >>= 8n;
    }
  }
  return out;
}

export function writeRegionBytes(region: MmioRegion, offset: number, data: Uint8Array): void {
  for (const piece of accessPieces(offset, data.length, region.maxAccessSize)) {
    let value = 0n;
    for (let i = piece.size - 1; i >= 0; i--) {
      value = (value << 8n) | BigInt(data[piece.offset - offset + i]!);
    }
    region.write(piece.offset, piece.size, value);
  }
}
