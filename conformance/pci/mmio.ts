// A window of guest-physical MMIO (a BAR, or a structure inside one) accessed over qtest,
// with every access checked against the window's bounds.

import type { QtestClient } from '../qtest/client.js';

export class MmioRegion {
  constructor(
    readonly qtest: QtestClient,
    readonly base: bigint,
    readonly size: number,
    readonly name: string,
  ) {}

  /** A window inside this one (e.g. a virtio structure inside its BAR). */
  subregion(offset: number, size: number, name: string): MmioRegion {
    this.#check(offset, size);
    return new MmioRegion(this.qtest, this.base + BigInt(offset), size, name);
  }

  /** The guest-physical address of `offset`. */
  address(offset: number): bigint {
    this.#check(offset, 0);
    return this.base + BigInt(offset);
  }

  async read8(offset: number): Promise<number> {
    return this.qtest.readb(this.#at(offset, 1));
  }
  async read16(offset: number): Promise<number> {
    return this.qtest.readw(this.#at(offset, 2));
  }
  async read32(offset: number): Promise<number> {
    return this.qtest.readl(this.#at(offset, 4));
  }
  async read64(offset: number): Promise<bigint> {
    return this.qtest.readq(this.#at(offset, 8));
  }
  async write8(offset: number, value: number): Promise<void> {
    return this.qtest.writeb(this.#at(offset, 1), value);
  }
  async write16(offset: number, value: number): Promise<void> {
    return this.qtest.writew(this.#at(offset, 2), value);
  }
  async write32(offset: number, value: number): Promise<void> {
    return this.qtest.writel(this.#at(offset, 4), value);
  }
  async write64(offset: number, value: bigint): Promise<void> {
    return this.qtest.writeq(this.#at(offset, 8), value);
  }

  #at(offset: number, width: number): bigint {
    this.#check(offset, width);
    return this.base + BigInt(offset);
  }

  #check(offset: number, width: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + width > this.size) {
      throw new RangeError(
        `${this.name}: access of ${width} bytes at offset 0x${offset.toString(16)} is outside its 0x${this.size.toString(16)} bytes`,
      );
    }
  }
}
