// A PCI function made usable: BARs sized and placed, memory decoding and bus mastering on.
// Bus mastering matters: without it QEMU drops an endpoint's DMA before it reaches the IOMMU.

import {
  listCapabilities,
  readCapabilityListHead,
  type CapabilityListHead,
  type PciCapability,
} from './capabilities.js';
import {
  barOffsets,
  probeBars,
  restoreRegisters,
  writeBarBase,
  type BarInfo,
  type MmioAllocator,
} from './bars.js';
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
import { checkPlatformBars } from './platform-functions.js';

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
    /** Whether it has a capability list and where it starts, read while it was set up. */
    readonly capabilityListHead: CapabilityListHead,
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
    const [device] = await PciDevice.setUpAll(config, [info], allocators);
    return device!;
  }

  /**
   * setUp() for several functions at once: their BARs are sized side by side (a few round
   * trips for all of them, not a few each), then placed in the order given, so that where a
   * BAR goes never depends on which function's replies came first.
   */
  static async setUpAll(
    config: PciConfig,
    infos: readonly PciFunction[],
    allocators: BarAllocators,
  ): Promise<PciDevice[]> {
    const decoding = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    const sized = await Promise.all(
      infos.map(async (info) => {
        const command = await config.read16(info.address, PCI_COMMAND);
        // Decoding off before sizing (a BAR briefly holds all ones): the write goes first in
        // the same pipeline.
        const [, { bars, registers }] = await Promise.all([
          config.write16(info.address, PCI_COMMAND, command & ~decoding),
          probeBars(config, info.address),
        ]);
        checkPlatformBars(info, bars);
        return { info, command, bars, registers };
      }),
    );
    const placed = sized.map(({ info, command, bars, registers }) => {
      const assigned = new Map<number, AssignedBar>();
      for (const bar of bars) {
        if (bar.kind === 'io') continue;
        const allocator =
          bar.kind === 'memory64'
            ? (allocators.memory64 ?? allocators.memory32)
            : allocators.memory32;
        const base = allocator.allocate(bar.size);
        const name = `${formatPciAddress(info.address)} BAR${bar.index}`;
        const region = new MmioRegion(config.qtest, base, Number(bar.size), name);
        assigned.set(bar.index, { ...bar, base, region });
      }
      return { info, command, bars, registers, assigned };
    });
    // Every base, the other registers sizing changed put back, then decoding back on, in one
    // pipeline (qtest keeps the order), and the capability list's head read behind them, saving
    // the walk a round trip.
    const writes = placed.flatMap(({ info, command, registers, assigned }) => [
      ...[...assigned.values()].map((bar) => writeBarBase(config, info.address, bar, bar.base)),
      ...restoreRegisters(
        config,
        info.address,
        registers,
        new Set([...assigned.values()].flatMap(barOffsets)),
      ),
      config.write16(
        info.address,
        PCI_COMMAND,
        (command & ~PCI_COMMAND_IO) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
      ),
    ]);
    const heads = placed.map(({ info }) => readCapabilityListHead(config, info.address));
    const [, read] = await Promise.all([Promise.all(writes), Promise.all(heads)]);
    return placed.map(
      ({ info, bars, assigned }, index) =>
        new PciDevice(config, info, bars, assigned, read[index]!),
    );
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
    return listCapabilities(this.config, this.address, this.capabilityListHead);
  }
}
