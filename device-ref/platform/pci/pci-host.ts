// Layer: platform.
// The PCI host bridge's x86 configuration mechanism #1: the driver writes
// 0x80000000 | bus << 16 | devfn << 8 | offset to port 0xcf8, then reads or writes the
// register through ports 0xcfc-0xcff. Only bus 0 exists. Replies match QEMU q35's: an
// absent function reads as all-ones, 0xcf8 reads back what was latched.

import type { MappedRegion } from '../memory-map.js';
import type { PciFunction } from './pci-function.js';

const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
const PCI_CONFIG_DATA_PORT = 0xcfc;
const CONFIG_ENABLE = 0x80000000;

/** The width of an x86 port access: a byte, a word or a doubleword. */
export type PortSize = 1 | 2 | 4;

export class PciHost {
  readonly #functions = new Map<number, PciFunction>();
  #configAddress = 0;
  /** The enabled BARs as of the configuration spaces' change counts summing to #mappedAt. */
  #mapped: readonly MappedRegion[] = [];
  #mappedAt = -1;

  /** Plugs in a fully built function; its configuration space now is its power-on state. */
  attach(fn: PciFunction): void {
    if (this.#functions.has(fn.devfn)) throw new Error(`two PCI functions at ${fn.label}`);
    fn.config.savePowerOnState();
    this.#functions.set(fn.devfn, fn);
  }

  /**
   * System reset of every function. The latched configuration address stays, as QEMU's
   * q35 keeps it (measured on 7.2).
   */
  systemReset(): void {
    for (const fn of this.#functions.values()) fn.systemReset();
  }

  /**
   * The enabled BARs of every function, for the memory map. Every guest access beyond RAM
   * asks, so they are worked out again only after some configuration space changed (its
   * change count only grows, so their sum moves whenever one does).
   */
  mappedRegions(): readonly MappedRegion[] {
    let changes = 0;
    for (const fn of this.#functions.values()) changes += fn.config.changes;
    if (changes !== this.#mappedAt) {
      const regions: MappedRegion[] = [];
      for (const fn of this.#functions.values()) {
        for (const mapped of fn.mappedRegions()) regions.push(mapped);
      }
      this.#mapped = regions;
      this.#mappedAt = changes;
    }
    return this.#mapped;
  }

  /** A port read; undefined when the port is not one of the host bridge's. */
  ioRead(port: number, size: PortSize): number | undefined {
    if (port >= PCI_CONFIG_ADDRESS_PORT && port < PCI_CONFIG_DATA_PORT) {
      // QEMU answers any access here with the latched value, truncated to the access size.
      return truncate(this.#configAddress, size);
    }
    if (port >= PCI_CONFIG_DATA_PORT && port < PCI_CONFIG_DATA_PORT + 4) {
      const target = this.#target(port);
      return target === undefined
        ? truncate(0xffffffff, size)
        : target.fn.configRead(target.offset, size);
    }
    return undefined;
  }

  /** A port write; false when the port is not one of the host bridge's. */
  ioWrite(port: number, size: PortSize, value: number): boolean {
    if (port >= PCI_CONFIG_ADDRESS_PORT && port < PCI_CONFIG_DATA_PORT) {
      if (port === PCI_CONFIG_ADDRESS_PORT && size === 4) this.#configAddress = value >>> 0;
      return true;
    }
    if (port >= PCI_CONFIG_DATA_PORT && port < PCI_CONFIG_DATA_PORT + 4) {
      const target = this.#target(port);
      target?.fn.configWrite(target.offset, size, value);
      return true;
    }
    return false;
  }

  #target(port: number): { fn: PciFunction; offset: number } | undefined {
    const address = this.#configAddress;
    if ((address & CONFIG_ENABLE) === 0 || ((address >>> 16) & 0xff) !== 0) return undefined;
    const fn = this.#functions.get((address >>> 8) & 0xff);
    // The low two bits of the latched address and of the port both select the byte, as in QEMU.
    return fn === undefined ? undefined : { fn, offset: (address | (port & 3)) & 0xff };
  }
}

function truncate(value: number, size: number): number {
  return size >= 4 ? value >>> 0 : value & ((1 << (8 * size)) - 1);
}
