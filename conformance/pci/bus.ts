// The PCI host as the suite sees it: config access, enumeration, and one BAR allocator per
// window so that devices set up one after another never overlap.

import type { QtestClient } from '../qtest/client.js';
import { MmioAllocator, Q35_MMIO_WINDOW_32, type MmioWindow } from './bars.js';
import { PciConfig } from './config.js';
import { PciDevice } from './device.js';
import { enumerateBus, findFunction, type PciFunction } from './enumerate.js';

export interface PciBusOptions {
  bus?: number;
  /** Where memory BARs go; defaults to Q35_MMIO_WINDOW_32. */
  mmio32?: MmioWindow;
  /** Where 64-bit memory BARs go; if absent they share the 32-bit window. */
  mmio64?: MmioWindow;
}

export class PciBus {
  readonly config: PciConfig;
  readonly bus: number;
  readonly #memory32: MmioAllocator;
  readonly #memory64: MmioAllocator | undefined;

  constructor(qtest: QtestClient, options: PciBusOptions = {}) {
    this.config = new PciConfig(qtest);
    this.bus = options.bus ?? 0;
    this.#memory32 = new MmioAllocator(options.mmio32 ?? Q35_MMIO_WINDOW_32);
    this.#memory64 = options.mmio64 && new MmioAllocator(options.mmio64);
  }

  enumerate(): Promise<PciFunction[]> {
    return enumerateBus(this.config, this.bus);
  }

  find(vendorId: number, deviceId: number): Promise<PciFunction> {
    return findFunction(this.config, vendorId, deviceId, this.bus);
  }

  /** Sizes and places the function's BARs and enables memory decoding and bus mastering. */
  setUp(fn: PciFunction): Promise<PciDevice> {
    return PciDevice.setUp(this.config, fn, {
      memory32: this.#memory32,
      ...(this.#memory64 && { memory64: this.#memory64 }),
    });
  }

  /** setUp() for each of `functions`, side by side; BARs placed in the order given. */
  setUpAll(functions: readonly PciFunction[]): Promise<PciDevice[]> {
    return PciDevice.setUpAll(this.config, functions, {
      memory32: this.#memory32,
      ...(this.#memory64 && { memory64: this.#memory64 }),
    });
  }

  /** find() then setUp(). */
  async open(vendorId: number, deviceId: number): Promise<PciDevice> {
    return this.setUp(await this.find(vendorId, deviceId));
  }
}
