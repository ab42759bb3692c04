// Layer: platform.
// A PCI function on bus 0: its type 0 configuration header, the memory BARs a driver sizes
// and places, and the COMMAND bits that gate them (memory space decode, bus mastering).
// Header write masks follow QEMU's, so sizing and read-back give what QEMU gives.

import type { MappedRegion } from '../memory-map.js';
import type { MmioRegion } from '../mmio-region.js';
import {
  ConfigSpace,
  PCI_CONFIG_HEADER_SIZE,
  PCI_CONFIG_SPACE_SIZE,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
} from './config-space.js';

export const PCI_COMMAND = 0x04;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
/** QEMU's writable COMMAND bits: I/O, memory, bus master, SERR#, INTx disable. */
const PCI_COMMAND_WRITABLE = 0x0507;
const PCI_BAR0 = 0x10;
const PCI_BAR_MEM_64 = 0x4;
const PCI_BAR_MEM_PREFETCH = 0x8;

export interface PciIdentity {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** Base class, sub-class and programming interface: 0xBBSSPP. */
  classCode: number;
  subsystemVendorId: number;
  subsystemId: number;
  /** 0 for none, 1 for INTA#. */
  interruptPin: number;
}

export interface MemoryBar {
  index: number;
  region: MmioRegion;
  is64: boolean;
  prefetchable: boolean;
}

export class PciFunction {
  /** Device (slot) << 3 | function, on bus 0. */
  readonly devfn: number;
  /** For messages: "virtio-iommu 00:01.0". */
  readonly label: string;
  readonly config = new ConfigSpace();
  readonly #bars: MemoryBar[] = [];

  constructor(devfn: number, name: string, identity: PciIdentity) {
    this.devfn = devfn;
    const slot = (devfn >> 3).toString(16).padStart(2, '0');
    this.label = `${name} 00:${slot}.${devfn & 7}`;
    const c = this.config;
    c.set(0x00, 2, identity.vendorId);
    c.set(0x02, 2, identity.deviceId);
    c.set(0x08, 1, identity.revision);
    c.set(0x09, 3, identity.classCode);
    c.set(0x2c, 2, identity.subsystemVendorId);
    c.set(0x2e, 2, identity.subsystemId);
    c.set(0x3d, 1, identity.interruptPin);
    c.setWritable(PCI_COMMAND, 2, PCI_COMMAND_WRITABLE);
    c.setWritable(0x0c, 1, 0xff); // cache line size
    c.setWritable(0x3c, 1, 0xff); // interrupt line
    // QEMU leaves the space after the header writable except where capabilities sit.
    c.setAllWritable(PCI_CONFIG_HEADER_SIZE, PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
  }

  /** The PCI requester ID (bus 0): the endpoint ID the IOMMU sees. */
  get requesterId(): number {
    return this.devfn;
  }

  get memoryEnabled(): boolean {
    return (this.config.read(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) !== 0;
  }

  get busMasterEnabled(): boolean {
    return (this.config.read(PCI_COMMAND, 2) & PCI_COMMAND_MASTER) !== 0;
  }

  /** A driver read through 0xcf8/0xcfc. */
  configRead(offset: number, size: number): number {
    return this.config.read(offset, size);
  }

  /** A driver write through 0xcf8/0xcfc. */
  configWrite(offset: number, size: number, value: number): void {
    this.config.write(offset, size, value);
  }

  /** The BARs memory space decoding maps right now, where the driver placed them. */
  mappedRegions(): MappedRegion[] {
    if (!this.memoryEnabled) return [];
    return this.#bars.map((bar) => ({ base: this.#barAddress(bar), region: bar.region }));
  }

  /**
   * System reset: the configuration space goes back to its power-on state (COMMAND 0, BARs
   * unplaced). Subclasses reset their device behind it as the device's reset does.
   */
  systemReset(): void {
    this.config.restorePowerOnState();
  }

  /** Declares a memory BAR; its size (the region's) must be a power of two of at least 16. */
  protected addBar(bar: MemoryBar): void {
    const size = bar.region.size;
    if (size < 16 || (size & (size - 1)) !== 0)
      throw new RangeError(`BAR size ${size} is not a power of two ≥ 16`);
    const offset = PCI_BAR0 + 4 * bar.index;
    const type = (bar.is64 ? PCI_BAR_MEM_64 : 0) | (bar.prefetchable ? PCI_BAR_MEM_PREFETCH : 0);
    this.config.set(offset, 4, type);
    this.config.setWritable(offset, 4, (0x1_0000_0000 - size) & 0xfffffff0);
    if (bar.is64) this.config.setWritable(offset + 4, 4, 0xffffffff);
    this.#bars.push(bar);
  }

  /** Drives the INTx line: PCI status bit 3 shows whether the function asserts it. */
  protected setInterruptLevel(asserted: boolean): void {
    const status = this.config.read(PCI_STATUS, 2);
    this.config.set(
      PCI_STATUS,
      2,
      asserted ? status | PCI_STATUS_INTERRUPT : status & ~PCI_STATUS_INTERRUPT,
    );
  }

  #barAddress(bar: MemoryBar): bigint {
    const offset = PCI_BAR0 + 4 * bar.index;
    const low = BigInt((this.config.read(offset, 4) & 0xfffffff0) >>> 0);
    return bar.is64 ? low | (BigInt(this.config.read(offset + 4, 4)) << 32n) : low;
  }
}
