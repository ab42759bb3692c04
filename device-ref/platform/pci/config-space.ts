// Layer: platform.
// A PCI function's 256-byte configuration space, with QEMU's per-byte write mask: a driver
// write changes only the writable bits; the device sets read-only bits through the `set*`
// methods. Capabilities are linked the way QEMU links them: the newest one heads the list.

export const PCI_CONFIG_SPACE_SIZE = 256;

export const PCI_STATUS = 0x06;
export const PCI_STATUS_INTERRUPT = 0x08;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_CAPABILITY_LIST = 0x34;
/** Where the standard type 0 header ends and capabilities may start. */
export const PCI_CONFIG_HEADER_SIZE = 0x40;

export class ConfigSpace {
  readonly #bytes = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  readonly #writable = new Uint8Array(PCI_CONFIG_SPACE_SIZE);
  #powerOn: Uint8Array | undefined;
  #changes = 0;

  /**
   * Counts driver writes and power-on restores: what is derived from the bytes they change
   * (where BARs decode) is stale once it moves. The device's own stores (`set`) change
   * read-only fields and status bits, never what decodes.
   */
  get changes(): number {
    return this.#changes;
  }

  /** A little-endian read of up to 4 bytes; bytes past the end of the space read as 0. */
  read(offset: number, size: number): number {
    let value = 0;
    for (let i = Math.min(size, PCI_CONFIG_SPACE_SIZE - offset) - 1; i >= 0; i--) {
      value = value * 256 + this.#bytes[offset + i]!;
    }
    return value;
  }

  /** A driver write: only the writable bits change; bytes past the end are dropped. */
  write(offset: number, size: number, value: number): void {
    this.#changes++;
    for (let i = 0; i < size && offset + i < PCI_CONFIG_SPACE_SIZE; i++) {
      const mask = this.#writable[offset + i]!;
      const byte = (value >>> (8 * i)) & 0xff; // size ≤ 4: the low 32 bits hold every byte
      this.#bytes[offset + i] = (this.#bytes[offset + i]! & ~mask) | (byte & mask);
    }
  }

  /** A device-side store that ignores the write mask. */
  set(offset: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) this.#bytes[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  /** Takes the bytes as they are now as the state restorePowerOnState() brings back. */
  savePowerOnState(): void {
    this.#powerOn = this.#bytes.slice();
  }

  /** A system reset: every byte back to its saved power-on value. */
  restorePowerOnState(): void {
    if (this.#powerOn === undefined) throw new Error('no power-on state was saved');
    this.#changes++;
    this.#bytes.set(this.#powerOn);
  }

  /** Sets the write mask of `size` bytes from `offset` (little-endian `mask`). */
  setWritable(offset: number, size: number, mask: number): void {
    for (let i = 0; i < size; i++) this.#writable[offset + i] = Math.floor(mask / 256 ** i) & 0xff;
  }

  /** Makes every bit of `size` bytes from `offset` writable. */
  setAllWritable(offset: number, size: number): void {
    this.#writable.fill(0xff, offset, offset + size);
  }

  /**
   * Places a capability of `length` bytes with ID `id` at `offset` and links it at the head
   * of the list. The capability's bytes become read-only; callers open up writable fields.
   */
  addCapability(offset: number, id: number, length: number): void {
    this.#writable.fill(0, offset, offset + length);
    this.set(offset, 1, id);
    this.set(offset + 1, 1, this.read(PCI_CAPABILITY_LIST, 1));
    this.set(PCI_CAPABILITY_LIST, 1, offset);
    this.set(PCI_STATUS, 2, this.read(PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
  }
}
