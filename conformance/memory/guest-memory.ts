// Guest RAM the suite owns. The halt firmware never touches RAM, so a test may carve it up
// as it likes; GuestMemory hands out page-aligned, non-overlapping regions from a range the
// caller reserves, so queues, DMA buffers and target pages of one test never collide.

export interface GuestRegion {
  /** Guest-physical address of the first byte. */
  base: bigint;
  size: number;
}

export const PAGE_SIZE = 0x1000;

/**
 * Default RAM for the suite on a 256 MiB board: 16 MiB..128 MiB, away from the low 1 MiB
 * (legacy VGA/BIOS holes) and from addresses a test might pick as IOVAs.
 */
export const DEFAULT_GUEST_RAM: GuestRegion = { base: 0x100_0000n, size: 0x700_0000 };

export class GuestMemory {
  #next: bigint;
  readonly #end: bigint;

  constructor(readonly region: GuestRegion = DEFAULT_GUEST_RAM) {
    this.#next = region.base;
    this.#end = region.base + BigInt(region.size);
  }

  /** Everything handed out so far: from the region's base to the end of the last allocation. */
  get used(): GuestRegion {
    return { base: this.region.base, size: Number(this.#next - this.region.base) };
  }

  /** The next `size` bytes, aligned to `align` (a power of two, default one page). */
  allocate(size: number, align: number = PAGE_SIZE): GuestRegion {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`invalid size ${size}`);
    if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new RangeError(`alignment ${align} is not a power of two`);
    }
    const mask = BigInt(align) - 1n;
    const base = (this.#next + mask) & ~mask;
    if (base + BigInt(size) > this.#end) {
      throw new RangeError(
        `guest memory exhausted: ${size} bytes do not fit in 0x${this.region.base.toString(16)}+0x${this.region.size.toString(16)}`,
      );
    }
    this.#next = base + BigInt(size);
    return { base, size };
  }
}
