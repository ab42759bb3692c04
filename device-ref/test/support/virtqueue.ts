// The driver side of one split virtqueue, written through qtest memory commands: lay out
// descriptors (in the table or in indirect tables), make chains available, notify, read the
// used ring back.

import { CC, NOTIFY, type TestDriver } from './driver.js';

export const F_NEXT = 1;
export const F_WRITE = 2;
export const F_INDIRECT = 4;

export interface Descriptor {
  addr: bigint | number;
  len: number;
  flags: number;
  next?: number;
}

export class TestQueue {
  readonly #d: TestDriver;
  readonly index: number;
  readonly size: number;
  readonly desc: bigint;
  readonly avail: bigint;
  readonly used: bigint;
  #availIdx = 0;

  /**
   * Rings at `base`: descriptors, then the available ring at +0x1000, the used ring at
   * +0x2000; `areas` puts any of the three elsewhere.
   */
  constructor(
    driver: TestDriver,
    index: number,
    size: number,
    base: bigint,
    areas: { desc?: bigint; avail?: bigint; used?: bigint } = {},
  ) {
    this.#d = driver;
    this.index = index;
    this.size = size;
    this.desc = areas.desc ?? base;
    this.avail = areas.avail ?? base + 0x1000n;
    this.used = areas.used ?? base + 0x2000n;
  }

  /** Programs the queue registers and enables the queue. */
  setUp(): void {
    const d = this.#d;
    d.write(CC.queue_select, 2, this.index);
    d.write(CC.queue_size, 2, this.size);
    for (const [offset, address] of [
      [CC.queue_desc, this.desc],
      [CC.queue_driver, this.avail],
      [CC.queue_device, this.used],
    ] as const) {
      d.write(offset, 4, address & 0xffffffffn);
      d.write(offset + 4, 4, address >> 32n);
    }
    d.write(CC.queue_enable, 2, 1);
  }

  /** Writes descriptors at `table` (default: the queue's table) from entry `first` on. */
  writeDescriptors(descriptors: readonly Descriptor[], table = this.desc, first = 0): void {
    descriptors.forEach((desc, i) => {
      const at = table + BigInt(16 * (first + i));
      this.#d.ok(`writeq ${at} ${desc.addr}`);
      this.#d.ok(`writel ${at + 8n} ${desc.len}`);
      this.#d.ok(`writew ${at + 12n} ${desc.flags}`);
      this.#d.ok(`writew ${at + 14n} ${desc.next ?? 0}`);
    });
  }

  /** Puts `head` in the available ring and publishes it. */
  makeAvailable(head: number): void {
    this.#d.ok(`writew ${this.avail + BigInt(4 + 2 * (this.#availIdx % this.size))} ${head}`);
    this.#availIdx = (this.#availIdx + 1) & 0xffff;
    this.#d.ok(`writew ${this.avail + 2n} ${this.#availIdx}`);
  }

  /** Sets the available index directly (for broken-driver tests). */
  setAvailIdx(value: number): void {
    this.#availIdx = value;
    this.#d.ok(`writew ${this.avail + 2n} ${value}`);
  }

  notify(): void {
    this.#d.write(NOTIFY + BigInt(4 * this.index), 2, this.index);
  }

  usedIdx(): number {
    return Number(this.#d.value(`readw ${this.used + 2n}`));
  }

  usedElement(position: number): { id: number; len: number } {
    const at = this.used + 4n + BigInt(8 * (position % this.size));
    return {
      id: Number(this.#d.value(`readl ${at}`)),
      len: Number(this.#d.value(`readl ${at + 4n}`)),
    };
  }
}

/** Bytes as the `write` command wants them. */
export function hexData(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}
