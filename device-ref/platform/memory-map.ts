// Layer: platform.
// The CPU's view of guest-physical memory, as qtest's memory commands see it: RAM from
// address 0, then the BARs that PCI devices decode. RAM wins where a BAR overlaps it, as on
// QEMU's PC machines. A range that is not entirely backed is refused as a whole, so nothing
// is half-read or half-written.

import type { GuestRam } from './guest-ram.js';
import { readRegionBytes, writeRegionBytes, type MmioRegion } from './mmio-region.js';

export interface MappedRegion {
  readonly base: bigint;
  readonly region: MmioRegion;
}

type Piece =
  | { kind: 'ram'; address: number; length: number; done: number }
  | { kind: 'mmio'; region: MmioRegion; offset: number; length: number; done: number };

export class MemoryMap {
  readonly #ram: GuestRam;
  readonly #mmio: () => Iterable<MappedRegion>;

  /** `mmio` lists the regions decoded right now (enabled BARs), in priority order. */
  constructor(ram: GuestRam, mmio: () => Iterable<MappedRegion>) {
    this.#ram = ram;
    this.#mmio = mmio;
  }

  /** Whether every byte of the range is RAM or a decoded region. */
  backs(address: number | bigint, length: number): boolean {
    return (
      this.#ram.contains(address, length) ||
      this.#pieces(BigInt(address), BigInt(length)) !== undefined
    );
  }

  // Each access below takes the short way when the whole range is RAM (ring and request
  // traffic always is) or inside one region (a register access, such as a notify), and cuts
  // the range into RAM and register pieces otherwise. An address may come as a number (what
  // clients send, parsed without BigInt) or as a bigint; beyond RAM it is a bigint.

  read(address: number | bigint, length: number): Uint8Array | undefined {
    if (this.#ram.contains(address, length)) return this.#ram.read(Number(address), length);
    const at = BigInt(address);
    const mapped = this.#regionHolding(at, length);
    if (mapped !== undefined)
      return readRegionBytes(mapped.region, Number(at - mapped.base), length);
    const pieces = this.#pieces(at, BigInt(length));
    if (pieces === undefined) return undefined;
    const out = new Uint8Array(length);
    for (const piece of pieces) {
      out.set(
        piece.kind === 'ram'
          ? this.#ram.read(piece.address, piece.length)
          : readRegionBytes(piece.region, piece.offset, piece.length),
        piece.done,
      );
    }
    return out;
  }

  write(address: number | bigint, data: Uint8Array): boolean {
    if (this.#ram.contains(address, data.length)) {
      this.#ram.write(Number(address), data);
      return true;
    }
    const at = BigInt(address);
    const mapped = this.#regionHolding(at, data.length);
    if (mapped !== undefined) {
      writeRegionBytes(mapped.region, Number(at - mapped.base), data);
      return true;
    }
    const pieces = this.#pieces(at, BigInt(data.length));
    if (pieces === undefined) return false;
    for (const piece of pieces) {
      const part = data.subarray(piece.done, piece.done + piece.length);
      if (piece.kind === 'ram') this.#ram.write(piece.address, part);
      else writeRegionBytes(piece.region, piece.offset, part);
    }
    return true;
  }

  /** Sets `length` bytes to `byte` (qtest `memset`); false when the range is not backed. */
  fill(address: number | bigint, length: bigint, byte: number): boolean {
    const pieces = this.#pieces(BigInt(address), length);
    if (pieces === undefined) return false;
    for (const piece of pieces) {
      if (piece.kind === 'ram') this.#ram.fill(piece.address, piece.length, byte);
      else writeRegionBytes(piece.region, piece.offset, new Uint8Array(piece.length).fill(byte));
    }
    return true;
  }

  #pieces(address: bigint, length: bigint): Piece[] | undefined {
    const pieces: Piece[] = [];
    const end = address + length;
    const ramEnd = BigInt(this.#ram.size);
    let at = address;
    while (at < end) {
      const done = Number(at - address);
      if (at < ramEnd) {
        const stop = end < ramEnd ? end : ramEnd;
        pieces.push({ kind: 'ram', address: Number(at), length: Number(stop - at), done });
        at = stop;
        continue;
      }
      const mapped = this.#regionAt(at);
      if (mapped === undefined) return undefined;
      const regionEnd = mapped.base + BigInt(mapped.region.size);
      const stop = end < regionEnd ? end : regionEnd;
      pieces.push({
        kind: 'mmio',
        region: mapped.region,
        offset: Number(at - mapped.base),
        length: Number(stop - at),
        done,
      });
      at = stop;
    }
    return pieces;
  }

  /** The region `[address, address + length)` lies in, above RAM; undefined for any other range. */
  #regionHolding(address: bigint, length: number): MappedRegion | undefined {
    if (address < BigInt(this.#ram.size)) return undefined;
    const mapped = this.#regionAt(address);
    if (mapped === undefined) return undefined;
    return address + BigInt(length) <= mapped.base + BigInt(mapped.region.size)
      ? mapped
      : undefined;
  }

  #regionAt(address: bigint): MappedRegion | undefined {
    for (const mapped of this.#mmio()) {
      if (address >= mapped.base && address < mapped.base + BigInt(mapped.region.size))
        return mapped;
    }
    return undefined;
  }
}
