// Layer: board.
// A board: guest RAM, virtual time, the PCI host with the virtio-iommu function and the edu
// endpoints a description lists, with the chipset `chipset: "q35"` asks for (QEMU's host
// bridge at 00:00.0 and the reset control register at port 0xcf9), and the CPU's view of it
// all for the qtest server. The
// IOMMU core plugs in through `iommuModel`: it is both the virtio device model behind the
// virtio-pci function and the translation every endpoint's DMA goes through.

import type { Iommu } from '../platform/dma-translation.js';
import { FindingLog } from '../platform/findings.js';
import { GuestRam } from '../platform/guest-ram.js';
import { MemoryMap } from '../platform/memory-map.js';
import { PciHost, type PortSize } from '../platform/pci/pci-host.js';
import { VirtualClock, type HostClock } from '../platform/virtual-clock.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from '../virtio/device-model.js';
import { VirtioPciFunction } from '../virtio/virtio-pci-function.js';
import type { BoardDescription, EndpointDescription, IommuDescription } from './description.js';
import { EduDevice } from './edu.js';
import { Q35HostBridge } from './q35-host-bridge.js';
import { RESET_CONTROL_PORT, ResetControl } from './reset-control.js';

/** What the IOMMU core gets when the board creates it. */
export interface IommuModelHost {
  /** The `iommu` section of the board description: features and initial configuration. */
  readonly config: IommuDescription;
  /** The endpoints behind the IOMMU, with their IDs and reserved regions. */
  readonly endpoints: readonly EndpointDescription[];
  /** Where to report driver mistakes (with the statement ID they break). */
  readonly findings: FindingLog;
  /** The transport's side: queues at any time, config change, DEVICE_NEEDS_RESET. */
  readonly virtio: VirtioDeviceContext;
}

export type IommuModel = VirtioDeviceModel & Iommu;
export type IommuModelFactory = (host: IommuModelHost) => IommuModel;

export interface BoardOptions {
  iommuModel: IommuModelFactory;
  /** The host clock virtual time follows until a client steps it (tests inject one). */
  hostClock?: HostClock;
}

export class Board {
  readonly endianness = 'little';
  readonly description: BoardDescription;
  readonly ram: GuestRam;
  readonly clock: VirtualClock;
  readonly findings = new FindingLog();
  readonly pci = new PciHost();
  readonly memory: MemoryMap;
  readonly iommuFunction: VirtioPciFunction;
  readonly iommu: IommuModel;
  readonly endpoints: readonly EduDevice[];
  /** With `chipset: "q35"`: port 0xcf9, whose RST_CPU bit resets the system. */
  readonly resetControl: ResetControl | undefined;

  constructor(description: BoardDescription, options: BoardOptions) {
    this.description = description;
    this.ram = new GuestRam(description.ram_size);
    this.clock = new VirtualClock(options.hostClock);
    this.memory = new MemoryMap(this.ram, () => this.pci.mappedRegions());
    let iommu: IommuModel | undefined;
    this.iommuFunction = new VirtioPciFunction({
      slot: description.iommu.slot,
      name: 'virtio-iommu',
      ram: this.ram,
      findings: this.findings,
      createModel: (virtio) =>
        (iommu = options.iommuModel({
          config: description.iommu,
          endpoints: description.endpoints,
          findings: this.findings,
          virtio,
        })),
    });
    this.iommu = iommu!;
    if (description.chipset === 'q35') {
      this.pci.attach(new Q35HostBridge());
      this.resetControl = new ResetControl(() => this.systemReset());
    }
    this.pci.attach(this.iommuFunction);
    this.endpoints = description.endpoints.map(
      (endpoint) =>
        new EduDevice({
          slot: endpoint.slot,
          clock: this.clock,
          dma: { ram: this.ram, iommu: this.iommu, findings: this.findings },
          findings: this.findings,
          dmaMask: endpoint.dma_mask,
        }),
    );
    for (const endpoint of this.endpoints) this.pci.attach(endpoint);
  }

  /**
   * What a reset of the whole machine does to it: every PCI function goes back to its
   * power-on configuration and resets its device (the IOMMU forgets its domains, mappings
   * and features, and bypass takes its first value again), and the reset control register
   * clears. RAM, virtual time, the latched PCI configuration address and the findings
   * stay, as on QEMU 7.2's q35.
   */
  systemReset(): void {
    this.pci.systemReset();
    this.resetControl?.reset();
  }

  // ---- the CPU's view, as the qtest server drives it (qtest/target.ts) ----------------

  syncTime(): void {
    this.clock.fireDueTimers();
  }

  portRead(port: number, size: PortSize): number {
    if (port === RESET_CONTROL_PORT && this.resetControl) return this.resetControl.read();
    // Unclaimed ports float high, as on a PC.
    return this.pci.ioRead(port, size) ?? (size === 4 ? 0xffffffff : (1 << (8 * size)) - 1);
  }

  portWrite(port: number, size: PortSize, value: number): void {
    // Any access at 0xcf9 goes to the reset control register, inside the PCI host's
    // 0xcf8-0xcfb: QEMU gives it priority over the configuration address there.
    if (port === RESET_CONTROL_PORT && this.resetControl) this.resetControl.write(value);
    else this.pci.ioWrite(port, size, value);
  }

  memoryBacked(address: number | bigint, length: number): boolean {
    return this.memory.backs(address, length);
  }

  memoryRead(address: number | bigint, length: number): Uint8Array | undefined {
    return this.memory.read(address, length);
  }

  memoryWrite(address: number | bigint, data: Uint8Array): boolean {
    return this.memory.write(address, data);
  }

  memoryFill(address: number | bigint, length: bigint, byte: number): boolean {
    return this.memory.fill(address, length, byte);
  }

  clockStep(ns?: bigint): bigint {
    return this.clock.step(ns);
  }

  clockSet(ns: bigint): bigint {
    return this.clock.set(ns);
  }

  /** Its connection ended: its RAM's pages go to the boards to come. */
  dispose(): void {
    this.ram.release();
  }
}

export function createBoard(description: BoardDescription, options: BoardOptions): Board {
  return new Board(description, options);
}
