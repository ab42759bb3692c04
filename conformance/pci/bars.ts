// Base address registers: sizing (write all ones, read back the mask, restore) and
// placing memory BARs in an MMIO window. Nobody else assigns BARs on our boards: QEMU runs
// the halt firmware, not SeaBIOS (QEMU-NOTES.md, "PCI on q35").

import { PCI_BAR0, formatPciAddress, type PciAddress, type PciConfig } from './config.js';

export type BarKind = 'memory32' | 'memory64' | 'io';

export interface BarInfo {
  /** 0..5; a 64-bit BAR also occupies index + 1. */
  index: number;
  kind: BarKind;
  prefetchable: boolean;
  size: bigint;
}

/** A range of guest-physical addresses for BARs; `end` is exclusive. */
export interface MmioWindow {
  start: bigint;
  end: bigint;
}

/**
 * q35 with -m 256M has RAM at 0..0x0fffffff and routes every address that is not RAM or a
 * chipset device to PCI (`info mtree`: the "pci" region spans the whole space at priority
 * -1). Firmware usually puts MMCONFIG at 0xb0000000 and 32-bit BARs in 0xc0000000..; we take
 * 0xe0000000 up to the IOAPIC at 0xfec00000, clear of RAM for any -m below 3.5 GiB.
 */
export const Q35_MMIO_WINDOW_32: MmioWindow = { start: 0xe000_0000n, end: 0xfec0_0000n };
/** Above 4 GiB, below TCG's 40 physical address bits, for 64-bit BARs if a test wants them high. */
export const Q35_MMIO_WINDOW_64: MmioWindow = { start: 0x80_0000_0000n, end: 0x100_0000_0000n };

const BAR_IO = 0x1;
const BAR_MEMORY_TYPE_MASK = 0x6;
const BAR_MEMORY_TYPE_64 = 0x4;
const BAR_MEMORY_PREFETCH = 0x8;
const BAR_TYPE_BITS = 0xf;
const MASK_64 = (1n << 64n) - 1n;

/**
 * A function whose BARs break the PCI rules for sizing: a memory BAR with no writable address
 * bit cannot be sized or placed. The device's fault (`dev.pci.pci-rules`), not the suite's.
 */
export class BarSizingError extends Error {
  override name = 'BarSizingError';
}

/** A BAR register as sizing left it: what it held, and what it read after all ones were written. */
export interface ProbedRegister {
  offset: number;
  original: number;
  mask: number;
}

/**
 * Sizes every implemented BAR. Decoding should be off (COMMAND = 0) meanwhile, since the
 * BAR briefly holds all ones. Each register sizing changed is restored to its old value.
 */
export async function sizeBars(config: PciConfig, address: PciAddress): Promise<BarInfo[]> {
  const { bars, registers } = await probeBars(config, address);
  await Promise.all(restoreRegisters(config, address, registers));
  return bars;
}

/**
 * Sizes every implemented BAR as sizeBars() does, but leaves the registers as sizing left
 * them: for a caller that writes them next anyway (a placed BAR gets its base), restoring the
 * others in the same pipeline (restoreRegisters()).
 */
export async function probeBars(
  config: PciConfig,
  address: PciAddress,
): Promise<{ bars: BarInfo[]; registers: ProbedRegister[] }> {
  // All six registers are probed in one pipeline (the upper half of a 64-bit BAR is probed
  // like any register, as it would be on its own), then read as BARs.
  const registers = await Promise.all(
    Array.from({ length: 6 }, (_, index) => probeRegister(config, address, PCI_BAR0 + 4 * index)),
  );
  return { bars: readBars(address, registers), registers };
}

/**
 * Writes back what each register held before sizing, where all ones left it reading
 * something else, but at the offsets in `except`; the writes are issued at once.
 */
export function restoreRegisters(
  config: PciConfig,
  address: PciAddress,
  registers: readonly ProbedRegister[],
  except: ReadonlySet<number> = new Set(),
): Promise<void>[] {
  return registers
    .filter(({ offset, original, mask }) => mask !== original && !except.has(offset))
    .map(({ offset, original }) => config.write32(address, offset, original));
}

/** The config-space offsets a BAR occupies: one register, two for a 64-bit BAR. */
export function barOffsets(bar: BarInfo): number[] {
  const offset = PCI_BAR0 + 4 * bar.index;
  return bar.kind === 'memory64' ? [offset, offset + 4] : [offset];
}

function readBars(address: PciAddress, registers: readonly ProbedRegister[]): BarInfo[] {
  const bars: BarInfo[] = [];
  for (let index = 0; index < 6; index++) {
    const low = registers[index]!;
    if (low.mask === 0) continue;
    if ((low.original & BAR_IO) !== 0) {
      const mask = BigInt(low.mask & ~0x3) | 0xffff_0000n;
      bars.push({ index, kind: 'io', prefetchable: false, size: (~mask & 0xffff_ffffn) + 1n });
      continue;
    }
    // A memory BAR's bits 0-3 say what it is: read-only, so all ones written leave them.
    if ((low.mask & BAR_TYPE_BITS) !== (low.original & BAR_TYPE_BITS))
      throw new BarSizingError(
        `${formatPciAddress(address)}: BAR${index} reads back 0x${(low.mask >>> 0).toString(16)} after all ones were written to it, but its type bits 0-3 read 0x${(low.original & BAR_TYPE_BITS).toString(16)} before: they are read-only in a memory BAR`,
      );
    const prefetchable = (low.original & BAR_MEMORY_PREFETCH) !== 0;
    const lowMask = BigInt(low.mask & ~0xf);
    if ((low.original & BAR_MEMORY_TYPE_MASK) === BAR_MEMORY_TYPE_64) {
      if (index === 5) {
        throw new Error(`${formatPciAddress(address)}: BAR5 claims to be 64-bit`);
      }
      const high = registers[index + 1]!;
      const mask = (BigInt(high.mask) << 32n) | lowMask;
      bars.push({ index, kind: 'memory64', prefetchable, size: sizeOf(address, index, mask) });
      index++;
    } else {
      // A 32-bit BAR with no writable address bit reads back as mask 0: no size.
      const mask = lowMask === 0n ? 0n : lowMask | 0xffff_ffff_0000_0000n;
      bars.push({ index, kind: 'memory32', prefetchable, size: sizeOf(address, index, mask) });
    }
  }
  return bars;
}

/**
 * A memory BAR's size from its address bits after all ones were written (bits 0-3 cleared):
 * PCI makes them ones from the top down to the size, zeros below. Anything else (no writable
 * bit, or a gap) is no size at all.
 */
function sizeOf(address: PciAddress, index: number, mask: bigint): bigint {
  const size = (~mask & MASK_64) + 1n;
  if (mask !== 0n && (size & (size - 1n)) === 0n) return size;
  throw new BarSizingError(
    `${formatPciAddress(address)}: BAR${index} is a memory BAR whose address bits read back 0x${mask.toString(16)} after all ones were written to it: not ones from the top down to a size, so it can be neither sized nor placed`,
  );
}

/** Writes a memory BAR's base address (both halves for a 64-bit BAR). */
export async function writeBarBase(
  config: PciConfig,
  address: PciAddress,
  bar: BarInfo,
  base: bigint,
): Promise<void> {
  if (bar.kind === 'io') throw new Error(`BAR${bar.index} is an I/O BAR`);
  const offset = PCI_BAR0 + 4 * bar.index;
  if (bar.kind === 'memory32' && base + bar.size > 0x1_0000_0000n) {
    throw new RangeError(`32-bit BAR${bar.index} cannot be placed at 0x${base.toString(16)}`);
  }
  const writes = [config.write32(address, offset, Number(base & 0xffff_fff0n))];
  if (bar.kind === 'memory64')
    writes.push(config.write32(address, offset + 4, Number(base >> 32n)));
  await Promise.all(writes);
}

/** Hands out naturally aligned, non-overlapping ranges of a window (a bump allocator). */
export class MmioAllocator {
  #next: bigint;

  constructor(readonly window: MmioWindow) {
    this.#next = window.start;
  }

  /** A base for `size` bytes aligned to its size (at least one 4 KiB page). */
  allocate(size: bigint): bigint {
    if (size <= 0n || (size & (size - 1n)) !== 0n) {
      throw new RangeError(`BAR size 0x${size.toString(16)} is not a power of two`);
    }
    const align = size < 0x1000n ? 0x1000n : size;
    const base = (this.#next + align - 1n) & ~(align - 1n);
    if (base + size > this.window.end) {
      throw new RangeError(
        `no room for 0x${size.toString(16)} bytes in MMIO window 0x${this.window.start.toString(16)}..0x${this.window.end.toString(16)}`,
      );
    }
    this.#next = base + align;
    return base;
  }
}

async function probeRegister(
  config: PciConfig,
  address: PciAddress,
  offset: number,
): Promise<ProbedRegister> {
  const [original, , mask] = await Promise.all([
    config.read32(address, offset),
    config.write32(address, offset, 0xffffffff),
    config.read32(address, offset),
  ]);
  return { offset, original, mask };
}
