// The virtio-pci modern transport, driver side (virtio 1.4, "Virtio Over PCI Bus"): status
// handshake, feature negotiation over both 32-bit halves, queue setup, notification and
// device-configuration reads under the config_generation check.
//
// Every method is one small step so that a conformance test can take the steps in the
// order the spec asks (or, for a robustness probe, in an order it forbids).

import { VIRTIO_PCI_COMMON_CFG } from '../../dist/ts/index.js';
import type { PciDevice } from '../pci/device.js';
import type { MmioRegion } from '../pci/mmio.js';
import { deviceClock } from '../qtest/device-clock.js';
import type { QtestClient } from '../qtest/client.js';
import {
  VIRTIO_F_VERSION_1,
  VIRTIO_STATUS_ACKNOWLEDGE,
  VIRTIO_STATUS_DRIVER,
  VIRTIO_STATUS_DRIVER_OK,
  VIRTIO_STATUS_FAILED,
  VIRTIO_STATUS_FEATURES_OK,
  featureBit,
} from './constants.js';
import { DeviceConfigView } from './device-config.js';
import {
  readVirtioCaps,
  selectVirtioLayout,
  type VirtioPciCap,
  type VirtioPciLayout,
} from './pci-caps.js';
import type { QueueAddresses, RingFinding, VirtqueueHost } from './split-virtqueue.js';

export interface NegotiatedFeatures {
  offered: bigint;
  accepted: bigint;
}

export const DEFAULT_RESET_TIMEOUT_MS = 1000;
/** How often readDeviceConfig retries when config_generation keeps changing under it. */
const CONFIG_READ_ATTEMPTS = 8;

export class VirtioPciTransport implements VirtqueueHost {
  readonly #notifyOffsets = new Map<number, number>();
  /** What the device did to the readable buffers of every queue on this transport. */
  readonly ringFindings: RingFinding[] = [];

  private constructor(
    readonly device: PciDevice,
    /** Every virtio structure capability, in list order. */
    readonly caps: readonly VirtioPciCap[],
    /** The ones in use: the first of each type. */
    readonly layout: VirtioPciLayout,
    readonly common: MmioRegion,
    readonly notifyArea: MmioRegion,
    readonly isr: MmioRegion,
    readonly deviceConfig: DeviceConfigView | undefined,
  ) {}

  /** Reads the virtio capabilities of a set-up PCI device and maps its structures. */
  static async open(device: PciDevice): Promise<VirtioPciTransport> {
    const caps = await readVirtioCaps(device);
    const layout = selectVirtioLayout(device, caps);
    const map = (cap: VirtioPciCap, name: string): MmioRegion =>
      device.bar(cap.bar).subregion(cap.offset, cap.length, name);
    return new VirtioPciTransport(
      device,
      caps,
      layout,
      map(layout.common, 'virtio common cfg'),
      map(layout.notify, 'virtio notify area'),
      map(layout.isr, 'virtio ISR status'),
      layout.device && new DeviceConfigView(map(layout.device, 'virtio device cfg')),
    );
  }

  get qtest(): QtestClient {
    return this.common.qtest;
  }

  readStatus(): Promise<number> {
    return this.common.read8(VIRTIO_PCI_COMMON_CFG.device_status.offset);
  }

  writeStatus(status: number): Promise<void> {
    return this.common.write8(VIRTIO_PCI_COMMON_CFG.device_status.offset, status);
  }

  /** Sets more status bits on top of the current ones. */
  async addStatus(bits: number): Promise<void> {
    await this.writeStatus((await this.readStatus()) | bits);
  }

  /** Writes 0 to device_status and waits until the device reads back 0 (the driver MUST). */
  async reset(timeoutMs = DEFAULT_RESET_TIMEOUT_MS): Promise<void> {
    this.#notifyOffsets.clear();
    const [, status] = await Promise.all([this.writeStatus(0), this.readStatus()]);
    if (status === 0) return;
    const clock = await deviceClock(this.qtest);
    await clock.waitFor(async () => ((await this.readStatus()) === 0 ? true : undefined), {
      timeoutMs,
      what: 'device_status to read 0 after reset',
    });
  }

  /** All 64 offered feature bits: device_feature with device_feature_select 0, then 1. */
  async deviceFeatures(): Promise<bigint> {
    const [, low, , high] = await Promise.all([
      this.common.write32(VIRTIO_PCI_COMMON_CFG.device_feature_select.offset, 0),
      this.common.read32(VIRTIO_PCI_COMMON_CFG.device_feature.offset),
      this.common.write32(VIRTIO_PCI_COMMON_CFG.device_feature_select.offset, 1),
      this.common.read32(VIRTIO_PCI_COMMON_CFG.device_feature.offset),
    ]);
    return (BigInt(high) << 32n) | BigInt(low);
  }

  async writeDriverFeatures(features: bigint): Promise<void> {
    await Promise.all([
      this.common.write32(VIRTIO_PCI_COMMON_CFG.driver_feature_select.offset, 0),
      this.common.write32(
        VIRTIO_PCI_COMMON_CFG.driver_feature.offset,
        Number(features & 0xffff_ffffn),
      ),
      this.common.write32(VIRTIO_PCI_COMMON_CFG.driver_feature_select.offset, 1),
      this.common.write32(
        VIRTIO_PCI_COMMON_CFG.driver_feature.offset,
        Number((features >> 32n) & 0xffff_ffffn),
      ),
    ]);
  }

  /**
   * Device initialization steps 2–6 on a freshly reset device: ACKNOWLEDGE, DRIVER, accept
   * `wanted ∩ offered` plus VERSION_1, FEATURES_OK, and re-read the status to check the
   * device kept FEATURES_OK. On refusal sets FAILED and throws.
   */
  async negotiate(wanted: bigint): Promise<NegotiatedFeatures> {
    await this.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE);
    await this.writeStatus(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    const offered = await this.deviceFeatures();
    const version1 = featureBit(VIRTIO_F_VERSION_1);
    if ((offered & version1) === 0n) {
      await this.addStatus(VIRTIO_STATUS_FAILED);
      throw new Error(`device offers features 0x${offered.toString(16)} without VERSION_1`);
    }
    const accepted = (offered & wanted) | version1;
    await this.writeDriverFeatures(accepted);
    await this.addStatus(VIRTIO_STATUS_FEATURES_OK);
    const status = await this.readStatus();
    if ((status & VIRTIO_STATUS_FEATURES_OK) === 0) {
      await this.addStatus(VIRTIO_STATUS_FAILED);
      throw new Error(
        `device cleared FEATURES_OK (status 0x${status.toString(16)}) for features 0x${accepted.toString(16)}`,
      );
    }
    return { offered, accepted };
  }

  /** Sets DRIVER_OK: the device is live. */
  driverOk(): Promise<void> {
    return this.addStatus(VIRTIO_STATUS_DRIVER_OK);
  }

  numQueues(): Promise<number> {
    return this.common.read16(VIRTIO_PCI_COMMON_CFG.num_queues.offset);
  }

  /** queue_size right after selecting the queue: the device's maximum (0: no such queue). */
  async queueMaxSize(index: number): Promise<number> {
    const [, size] = await Promise.all([
      this.common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, index),
      this.common.read16(VIRTIO_PCI_COMMON_CFG.queue_size.offset),
    ]);
    return size;
  }

  /** Selects the queue, writes its size and ring addresses, and reads its notify offset. */
  async configureQueue(index: number, queue: QueueAddresses): Promise<void> {
    const writes: Promise<void>[] = [
      this.common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, index),
      this.common.write16(VIRTIO_PCI_COMMON_CFG.queue_size.offset, queue.size),
      ...this.#write64(VIRTIO_PCI_COMMON_CFG.queue_desc.offset, queue.desc),
      ...this.#write64(VIRTIO_PCI_COMMON_CFG.queue_driver.offset, queue.driver),
      ...this.#write64(VIRTIO_PCI_COMMON_CFG.queue_device.offset, queue.device),
    ];
    const notifyOff = this.common.read16(VIRTIO_PCI_COMMON_CFG.queue_notify_off.offset);
    const [, offset] = await Promise.all([Promise.all(writes), notifyOff]);
    this.#notifyOffsets.set(index, offset);
  }

  async enableQueue(index: number): Promise<void> {
    await Promise.all([
      this.common.write16(VIRTIO_PCI_COMMON_CFG.queue_select.offset, index),
      this.common.write16(VIRTIO_PCI_COMMON_CFG.queue_enable.offset, 1),
    ]);
  }

  /** Guest-physical address a driver writes to notify queue `index`. */
  notifyAddress(index: number): bigint {
    const notifyOff = this.#notifyOffsets.get(index);
    if (notifyOff === undefined) throw new Error(`queue ${index} is not configured`);
    return this.notifyArea.address(notifyOff * this.layout.notify.notifyOffMultiplier);
  }

  /** Available buffer notification without VIRTIO_F_NOTIFICATION_DATA: le16 queue index. */
  notify(index: number): Promise<void> {
    let address: bigint;
    try {
      address = this.notifyAddress(index);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.qtest.writew(address, index);
  }

  configGeneration(): Promise<number> {
    return this.common.read8(VIRTIO_PCI_COMMON_CFG.config_generation.offset);
  }

  /**
   * Runs `read` on the device configuration between two config_generation reads and
   * retries until both agree, so a multi-field read is consistent. `read` must issue all its
   * reads before it returns (no await in between): the second generation read is queued right
   * behind them, so the three leave in one round trip.
   */
  async readDeviceConfig<T>(read: (config: DeviceConfigView) => Promise<T>): Promise<T> {
    const config = this.deviceConfig;
    if (config === undefined) throw new Error('the device has no device configuration structure');
    for (let attempt = 0; attempt < CONFIG_READ_ATTEMPTS; attempt++) {
      const before = this.configGeneration();
      const value = read(config);
      const after = this.configGeneration();
      const [first, fields, second] = await Promise.all([before, value, after]);
      if (first === second) return fields;
    }
    throw new Error(`config_generation changed on each of ${CONFIG_READ_ATTEMPTS} reads`);
  }

  /** Reads (and so clears) the ISR status byte. */
  readIsr(): Promise<number> {
    return this.isr.read8(0);
  }

  /** 64-bit common-config fields are written as two 32-bit halves, low first. */
  #write64(offset: number, value: bigint): Promise<void>[] {
    return [
      this.common.write32(offset, Number(value & 0xffff_ffffn)),
      this.common.write32(offset + 4, Number(value >> 32n)),
    ];
  }
}
