// A PCI function made usable: BARs sized and placed, memory decoding and bus mastering on.
// Bus mastering matters: without it QEMU drops an endpoint's DMA before it reaches the IOMMU.

import { listCapabilities, type PciCapability } from './capabilities.js';
import { sizeBars, writeBarBase, type BarInfo, type MmioAllocator } from './bars.js';
import {
  PCI_COMMAND,
  PCI_COMMAND_IO,
  PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY,
  formatPciAddress,
  requesterId,
  type PciAddress,
  type PciConfig,
} from './config.js';
import type { PciFunction } from './enumerate.js';
import { MmioRegion } from './mmio.js';

export interface AssignedBar extends BarInfo {
  base: bigint;
  region: MmioRegion;
}

export interface BarAllocators {
  /** For 32-bit memory BARs, and 64-bit ones when `memory64` is absent. */
  memory32: MmioAllocator;
  memory64?: MmioAllocator;
}

export class PciDevice {
  private constructor(
    readonly config: PciConfig,
    readonly info: PciFunction,
    /** Every implemented BAR; I/O BARs are sized but left unassigned (I/O decoding stays off). */
    readonly bars: readonly BarInfo[],
    readonly assigned: ReadonlyMap<number, AssignedBar>,
  ) {}

  /**
   * Disables decoding, sizes the BARs, places the memory BARs, then sets COMMAND to memory
   * space + bus master.
   */
  static async setUp(
    config: PciConfig,
    info: PciFunction,
    allocators: BarAllocators,
  ): Promise<PciDevice> {
    const { address } = info;
    const command = await config.read16(address, PCI_COMMAND);
    const decoding = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    await config.write16(address, PCI_COMMAND, command & ~decoding);
    const bars = await sizeBars(config, address);
    const assigned = new Map<number, AssignedBar>();
    for (const bar of bars) {
      if (bar.kind === 'io') continue;
      const allocator =
        bar.kind === 'memory64'
          ? (allocators.memory64 ?? allocators.memory32)
          : allocators.memory32;
      const base = allocator.allocate(bar.size);
      await writeBarBase(config, address, bar, base);
      const name = `${formatPciAddress(address)} BAR${bar.index}`;
      const region = new MmioRegion(config.qtest, base, Number(bar.size), name);
      assigned.set(bar.index, { ...bar, base, region });
    }
    await config.write16(
      address,
      PCI_COMMAND,
      (command & ~PCI_COMMAND_IO) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
    );
    return new PciDevice(config, info, bars, assigned);
  }

  get address(): PciAddress {
    return this.info.address;
  }

  /** `bus << 8 | device << 3 | function`: the endpoint ID virtio-iommu uses for this function. */
  get requesterId(): number {
    return requesterId(this.info.address);
  }

  /** The MMIO window of an assigned memory BAR. */
  bar(index: number): MmioRegion {
    const bar = this.assigned.get(index);
    if (bar === undefined) {
      throw new Error(
        `${formatPciAddress(this.address)}: BAR${index} is not an assigned memory BAR`,
      );
    }
    return bar.region;
  }

  capabilities(): Promise<PciCapability[]> {
    return listCapabilities(this.config, this.address);
  }
}
