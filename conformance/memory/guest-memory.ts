// Guest RAM the suite owns. The halt firmware never touches RAM, so a test may carve it up
// as it likes; GuestMemory hands out page-aligned, non-overlapping regions from a range the
// caller reserves, so queues, DMA buffers and target pages of one test never collide.

export interface GuestRegion {
  /** Guest-physical address of the first byte. */
  base: bigint;
  size: number;
}

export const PAGE_SIZE = 0x1000;

/** Where the suite's RAM starts: away from the low 1 MiB (legacy VGA/BIOS holes). */
const SUITE_RAM_BASE = 0x100_0000;
/** Where it ends at the latest (on a 256 MiB board): away from addresses tests pick as IOVAs. */
const SUITE_RAM_LIMIT = 0x800_0000;
/** The least RAM the suite needs for itself: `@ram` (1 MiB), a staging page and the queues. */
export const SUITE_RAM_MIN = 0x40_0000;

/**
 * The guest RAM the suite owns on a target whose RAM is [0, ramSize): 16 MiB up to the end
 * of RAM or 128 MiB, whichever comes first. A RangeError when that leaves too little.
 */
export function suiteRegion(ramSize: number): GuestRegion {
  const end = Math.min(ramSize, SUITE_RAM_LIMIT);
  if (end - SUITE_RAM_BASE < SUITE_RAM_MIN) {
    throw new RangeError(
      `guest RAM of 0x${ramSize.toString(16)} bytes is too small: the suite needs 0x${(SUITE_RAM_BASE + SUITE_RAM_MIN).toString(16)}`,
    );
  }
  return { base: BigInt(SUITE_RAM_BASE), size: end - SUITE_RAM_BASE };
}

export class GuestMemory {
  #next: bigint;
  readonly #end: bigint;

  constructor(readonly region: GuestRegion) {
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
