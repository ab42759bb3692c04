// Layer: platform.
// Guest RAM: `size` bytes at guest-physical address 0, stored sparsely in 4 KiB pages so a
// fresh board per connection costs nothing until the driver touches memory. Untouched
// memory reads as zeros. Callers check `contains` first; the other methods assume it.

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;

/**
 * Zeroed pages of boards that ended, for the boards to come: a conformance run's hundreds of
 * boards would otherwise each allocate, and leave to the garbage collector, the hundreds of
 * pages the DMA judge fills. At most 16 MiB are kept (a run's boards use 3 MiB each), so a
 * server whose clients touched more gives the rest back.
 */
const sparePages: Uint8Array[] = [];
const SPARE_PAGES_MAX = 0x1000;

export class GuestRam {
  readonly size: number;
  readonly #sizeBig: bigint;
  readonly #pages = new Map<number, Uint8Array>();
  /**
   * The page the last access found, so that the accesses of one request (its descriptors,
   * ring entries and buffers, mostly on one page) look the page up once. Forgotten when a
   * page is dropped.
   */
  #lastPage = -1;
  #lastData: Uint8Array | undefined;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`invalid RAM size ${size}`);
    this.size = size;
    this.#sizeBig = BigInt(size);
  }

  /** True when [address, address + length) lies inside RAM (a zero length needs address ≤ size). */
  contains(address: bigint | number, length: number): boolean {
    // Number arithmetic only: an address above the size is outside whatever its type, and
    // below it, size - start is exact.
    const start =
      typeof address === 'number' ? address : address > this.#sizeBig ? -1 : Number(address);
    return start >= 0 && length >= 0 && length <= this.size - start;
  }

  read(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.readInto(address, out);
    return out;
  }

  /** Fills `out` with the bytes from `address` on. */
  readInto(address: number, out: Uint8Array): void {
    const length = out.length;
    for (let done = 0; done < length;) {
      const at = address + done;
      const page = Math.floor(at / PAGE_SIZE);
      const offset = at - page * PAGE_SIZE;
      const count = Math.min(PAGE_SIZE - offset, length - done);
      const data = this.#existing(page);
      if (data !== undefined) out.set(data.subarray(offset, offset + count), done);
      else out.fill(0, done, done + count);
      done += count;
    }
  }

  write(address: number, data: Uint8Array): void {
    const length = data.length;
    for (let done = 0; done < length;) {
      const at = address + done;
      const page = Math.floor(at / PAGE_SIZE);
      const offset = at - page * PAGE_SIZE;
      const count = Math.min(PAGE_SIZE - offset, length - done);
      this.#page(page).set(count === length ? data : data.subarray(done, done + count), offset);
      done += count;
    }
  }

  fill(address: number, length: number, byte: number): void {
    for (let done = 0; done < length;) {
      const at = address + done;
      const page = Math.floor(at / PAGE_SIZE);
      const offset = at - page * PAGE_SIZE;
      const count = Math.min(PAGE_SIZE - offset, length - done);
      if (byte === 0 && count === PAGE_SIZE) this.#drop(page);
      else if (byte !== 0 || this.#pages.has(page))
        this.#page(page).fill(byte, offset, offset + count);
      done += count;
    }
  }

  // The word accessors run several times per request (ring indexes, descriptors, used
  // elements): they touch the page directly instead of copying through a temporary array,
  // and take the byte-wise path only for a word that straddles two pages.

  readU16(address: number): number {
    return this.#readWord(address, 2);
  }

  readU32(address: number): number {
    return this.#readWord(address, 4);
  }

  readU64(address: number): bigint {
    return BigInt(this.readU32(address)) | (BigInt(this.readU32(address + 4)) << 32n);
  }

  writeU16(address: number, value: number): void {
    this.#writeWord(address, 2, value);
  }

  writeU32(address: number, value: number): void {
    this.#writeWord(address, 4, value);
  }

  /** A little-endian word of `size` (at most 4) bytes. */
  #readWord(address: number, size: number): number {
    const page = Math.floor(address / PAGE_SIZE);
    const offset = address - page * PAGE_SIZE;
    let value = 0;
    if (offset + size <= PAGE_SIZE) {
      const data = this.#existing(page);
      if (data === undefined) return 0;
      for (let i = size - 1; i >= 0; i--) value = value * 256 + data[offset + i]!;
      return value;
    }
    const bytes = this.read(address, size);
    for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[i]!;
    return value;
  }

  #writeWord(address: number, size: number, value: number): void {
    const page = Math.floor(address / PAGE_SIZE);
    const offset = address - page * PAGE_SIZE;
    if (offset + size <= PAGE_SIZE) {
      const data = this.#page(page);
      for (let i = 0; i < size; i++) data[offset + i] = value >>> (8 * i);
      return;
    }
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = value >>> (8 * i);
    this.write(address, bytes);
  }

  /** Page `page`'s bytes, or undefined while it was never written (it reads as zeros). */
  #existing(page: number): Uint8Array | undefined {
    if (page === this.#lastPage) return this.#lastData;
    const data = this.#pages.get(page);
    if (data !== undefined) {
      this.#lastPage = page;
      this.#lastData = data;
    }
    return data;
  }

  /**
   * The board ended: its pages, zeroed, go to the boards to come, and it reads as zeros. Only
   * once nothing will access this RAM any more: a spare page is handed out again.
   */
  release(): void {
    for (const data of this.#pages.values()) {
      if (sparePages.length === SPARE_PAGES_MAX) break;
      sparePages.push(data.fill(0));
    }
    this.#pages.clear();
    this.#lastPage = -1;
  }

  /** Page `page`'s bytes, made (zeroed) on first use. */
  #page(page: number): Uint8Array {
    let data = this.#existing(page);
    if (data === undefined) {
      data = sparePages.pop() ?? new Uint8Array(PAGE_SIZE);
      this.#pages.set(page, data);
      this.#lastPage = page;
      this.#lastData = data;
    }
    return data;
  }

  /** Drops page `page`: it reads as zeros again. */
  #drop(page: number): void {
    this.#pages.delete(page);
    if (page === this.#lastPage) this.#lastPage = -1;
  }
}
