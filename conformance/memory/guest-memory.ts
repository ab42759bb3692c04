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
 * Where the suite's RAM starts: above the legacy VGA/BIOS hole (0xa0000-0xfffff) and the 64 KiB
 * after it, which boards may reserve as IOVAs (device-ref's multi-resv does): the staging page
 * lies here and is reached at IOVA = its physical address.
 */
const SUITE_RAM_BASE = 0x11_0000;
/** Where it ends at the latest (on a 256 MiB board): away from addresses tests pick as IOVAs. */
const SUITE_RAM_LIMIT = 0x800_0000;
/**
 * The least RAM the suite needs for itself: `@ram` (1 MiB on a 2 MiB boundary, so at 2 MiB)
 * and, below it, the staging page and the queues.
 */
export const SUITE_RAM_MIN = 0x30_0000 - SUITE_RAM_BASE;

/**
 * The guest RAM the suite owns on a target whose RAM is [0, ramSize): 1 MiB + 64 KiB up to
 * the end of RAM or 128 MiB, whichever comes first. A RangeError when that leaves too little.
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

/**
 * Hands out regions first fit: the lowest aligned place that is free. A region aligned far up
 * (`@ram`, 2 MiB) leaves a gap below it that later, smaller ones (queues, pages) fill, so the
 * suite's RAM stays compact: on device-ref all RAM is watched by the DMA judge, and every
 * byte of it is filled and read back.
 */
export class GuestMemory {
  /** Everything handed out so far, by address. */
  readonly #taken: GuestRegion[] = [];
  readonly #end: bigint;

  constructor(readonly region: GuestRegion) {
    this.#end = region.base + BigInt(region.size);
  }

  /** Every region handed out so far, by address. */
  get allocations(): readonly GuestRegion[] {
    return this.#taken;
  }

  /** The lowest `size` free bytes aligned to `align` (a power of two, default one page). */
  allocate(size: number, align: number = PAGE_SIZE): GuestRegion {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`invalid size ${size}`);
    if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new RangeError(`alignment ${align} is not a power of two`);
    }
    const mask = BigInt(align) - 1n;
    const length = BigInt(size);
    let from = this.region.base;
    for (let i = 0; i <= this.#taken.length; i++) {
      const next = this.#taken[i];
      const base = (from + mask) & ~mask;
      if (base + length <= (next?.base ?? this.#end)) {
        const region = { base, size };
        this.#taken.splice(i, 0, region);
        return region;
      }
      if (next !== undefined) from = next.base + BigInt(next.size);
    }
    throw new RangeError(
      `guest memory exhausted: ${size} bytes do not fit in 0x${this.region.base.toString(16)}+0x${this.region.size.toString(16)}`,
    );
  }
}
