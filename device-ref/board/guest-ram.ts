// Guest RAM: `size` bytes at guest-physical address 0, stored sparsely in 4 KiB pages so a
// fresh board per connection costs nothing until the driver touches memory. Untouched
// memory reads as zeros. Callers check `contains` first; the other methods assume it.

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;

export class GuestRam {
  readonly size: number;
  readonly #pages = new Map<number, Uint8Array>();

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`invalid RAM size ${size}`);
    this.size = size;
  }

  /** True when [address, address + length) lies inside RAM (a zero length needs address ≤ size). */
  contains(address: bigint | number, length: number): boolean {
    const start = BigInt(address);
    return start >= 0n && length >= 0 && start + BigInt(length) <= BigInt(this.size);
  }

  read(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.#forEachPiece(address, length, (page, offset, done, count) => {
      const data = this.#pages.get(page);
      if (data !== undefined) out.set(data.subarray(offset, offset + count), done);
    });
    return out;
  }

  write(address: number, data: Uint8Array): void {
    this.#forEachPiece(address, data.length, (page, offset, done, count) => {
      this.#page(page).set(data.subarray(done, done + count), offset);
    });
  }

  fill(address: number, length: number, byte: number): void {
    this.#forEachPiece(address, length, (page, offset, _done, count) => {
      if (byte === 0 && count === PAGE_SIZE) this.#pages.delete(page);
      else if (byte !== 0 || this.#pages.has(page))
        this.#page(page).fill(byte, offset, offset + count);
    });
  }

  readU16(address: number): number {
    const b = this.read(address, 2);
    return b[0]! | (b[1]! << 8);
  }

  readU32(address: number): number {
    const b = this.read(address, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  readU64(address: number): bigint {
    return BigInt(this.readU32(address)) | (BigInt(this.readU32(address + 4)) << 32n);
  }

  writeU16(address: number, value: number): void {
    this.write(address, Uint8Array.of(value & 0xff, (value >>> 8) & 0xff));
  }

  writeU32(address: number, value: number): void {
    this.write(
      address,
      Uint8Array.of(
        value & 0xff,
        (value >>> 8) & 0xff,
        (value >>> 16) & 0xff,
        (value >>> 24) & 0xff,
      ),
    );
  }

  #page(page: number): Uint8Array {
    let data = this.#pages.get(page);
    if (data === undefined) {
      data = new Uint8Array(PAGE_SIZE);
      this.#pages.set(page, data);
    }
    return data;
  }

  #forEachPiece(
    address: number,
    length: number,
    visit: (page: number, offset: number, done: number, count: number) => void,
  ): void {
    let done = 0;
    while (done < length) {
      const at = address + done;
      const page = Math.floor(at / PAGE_SIZE);
      const offset = at - page * PAGE_SIZE;
      const count = Math.min(PAGE_SIZE - offset, length - done);
      visit(page, offset, done, count);
      done += count;
    }
  }
}
