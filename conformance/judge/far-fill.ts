// The fill of watched memory away from every target: one byte value everywhere, written
// with qtest's memset (one command per span) instead of MiBs of base64. The address pattern
// (address-pattern.ts) is kept where it earns its cost: the guard zones around targets, where
// a misdirected transfer lands or reads (a page off, a mapping that runs on), and whose bytes
// then name their place. Far from every target a device's stray write still shows, byte for
// byte: every byte a device writes in the suite is a payload byte (0x01..0x7f) or a blocked
// read's 0x00, and this fill's byte has its top bit set. A byte read from far away shows too,
// as a fill byte from no place the read may reach; it names no address.

/** What every fill of watched memory offers the judge. */
export interface Fill {
  /** The fill's value at `address`. */
  byteAt(address: bigint | number): number;
  /** The fill of `length` bytes from `base`; callers must not change the bytes. */
  bytes(base: bigint | number, length: number): Uint8Array;
}

export class FarFill implements Fill {
  constructor(readonly value: number) {
    if ((value & 0x80) === 0 || value > 0xff) {
      throw new RangeError(`a fill byte has its top bit set: 0x${value.toString(16)}`);
    }
  }

  byteAt(): number {
    return this.value;
  }

  bytes(_base: bigint | number, length: number): Uint8Array {
    return new Uint8Array(length).fill(this.value);
  }

  /** True when every byte of `bytes` is this fill's. */
  holds(bytes: Uint8Array): boolean {
    return bytes.length > 0 && bytes.every((byte) => byte === this.value);
  }
}

/** The far fill of every session. */
export const FAR_FILL = new FarFill(0xa5);
