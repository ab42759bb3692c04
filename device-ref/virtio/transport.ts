// Layer: virtio.
// The virtio device side that does not depend on PCI: device status and the FEATURES_OK
// handshake, feature selection windows, queue selection and configuration, the ISR, queue
// notifications and the device configuration pass-through to the model. The PCI glue
// (virtio-pci-function.ts) and the common configuration registers (common-config.ts) sit on
// top of it. Driver mistakes become findings; none of them throws.

import type { Finding, FindingLog } from '../platform/findings.js';
import type { GuestRam } from '../platform/guest-ram.js';
import { hex } from '../hex.js';
import {
  DEVICE_NEEDS_RESET,
  DRIVER_OK,
  FEATURES_OK,
  ISR_CONFIG,
  ISR_QUEUE,
  TRANSPORT_FEATURES,
  VIRTIO_F_VERSION_1,
} from './constants.js';
import type { ConfigAccessSize, VirtioDeviceContext, VirtioDeviceModel } from './device-model.js';
import { SplitVirtqueue } from './split-virtqueue.js';

export type QueueAddressField = 'desc' | 'driver' | 'device';

export interface TransportHost {
  readonly ram: GuestRam;
  readonly findings: FindingLog;
  /** For messages: "virtio-iommu 00:01.0". */
  readonly label: string;
  busMasterEnabled(): boolean;
  /** The interrupt line follows "ISR status is non-zero". */
  setInterruptLevel(asserted: boolean): void;
}

export class VirtioTransport implements VirtioDeviceContext {
  readonly model: VirtioDeviceModel;
  readonly queues: readonly SplitVirtqueue[];
  readonly #host: TransportHost;
  /** The common configuration's select registers, as the driver wrote them. */
  deviceFeatureSelect = 0;
  driverFeatureSelect = 0;
  queueSelect = 0;
  #status = 0;
  /** What the driver wrote to driver_feature, all words. */
  #driverFeatures = 0n;
  /** The driver_feature windows past bit 63 (select 2 and up) that hold bits the driver wrote. */
  readonly #windowsPast63 = new Set<number>();
  /** What FEATURES_OK accepted, as two 32-bit words: the queues ask for bits per request. */
  #negotiatedLow = 0;
  #negotiatedHigh = 0;
  #isr = 0;
  #configGeneration = 0;
  #configChangedSinceRead = false;

  constructor(
    host: TransportHost,
    createModel: (context: VirtioDeviceContext) => VirtioDeviceModel,
  ) {
    this.#host = host;
    const queueHost = {
      ram: host.ram,
      findings: host.findings,
      deviceLive: () =>
        (this.#status & (DRIVER_OK | DEVICE_NEEDS_RESET)) === DRIVER_OK && host.busMasterEnabled(),
      negotiated: (bit: number) => this.negotiated(bit),
      needsReset: (reason: string) => this.needsReset(reason),
      notifyUsed: () => this.#raiseIsr(ISR_QUEUE),
    };
    // The queue sizes come from the model, so the queues exist once the factory has returned:
    // a model asks for its QueueAccess handles after construction, not inside it.
    const queues: SplitVirtqueue[] = [];
    this.queues = queues;
    this.model = createModel(this);
    this.model.queueMaxSizes.forEach((size, index) =>
      queues.push(new SplitVirtqueue(index, size, queueHost)),
    );
  }

  // ---- VirtioDeviceContext -------------------------------------------------------------

  queue(index: number): SplitVirtqueue {
    const queue = this.queues[index];
    if (queue === undefined) throw new RangeError(`no virtqueue ${index}`);
    return queue;
  }

  configChanged(): void {
    this.#configChangedSinceRead = true;
    if ((this.#status & DRIVER_OK) !== 0) this.#raiseIsr(ISR_CONFIG);
  }

  needsReset(reason: string): void {
    this.finding(`${reason}; DEVICE_NEEDS_RESET set`);
    if ((this.#status & DEVICE_NEEDS_RESET) !== 0) return;
    this.#status |= DEVICE_NEEDS_RESET;
    if ((this.#status & DRIVER_OK) !== 0) this.#raiseIsr(ISR_CONFIG);
  }

  // ---- features ------------------------------------------------------------------------

  offeredFeatures(): bigint {
    return this.model.offeredFeatures() | TRANSPORT_FEATURES;
  }

  /** True when FEATURES_OK accepted feature `bit`. */
  negotiated(bit: number): boolean {
    if (bit < 32) return ((this.#negotiatedLow >>> bit) & 1) === 1;
    return bit < 64 && ((this.#negotiatedHigh >>> (bit - 32)) & 1) === 1;
  }

  /** device_feature: the 32 offered bits the select chooses (0 beyond bit 63). */
  get deviceFeatureWord(): number {
    return featureWord(this.offeredFeatures(), this.deviceFeatureSelect);
  }

  /** driver_feature reads back what the driver wrote (the spec allows presenting it as is). */
  get driverFeatureWord(): number {
    return featureWord(this.#driverFeatures, this.driverFeatureSelect);
  }

  writeDriverFeatureWord(value: number): void {
    const select = this.driverFeatureSelect;
    if ((this.#status & FEATURES_OK) !== 0) {
      this.finding(
        `driver_feature written after FEATURES_OK (select ${select}, value ${hex(value)}); ignored`,
      );
      return;
    }
    if (select > 1) {
      // No device offers a bit past 63, so only whether a window holds any matters: one
      // that does makes FEATURES_OK fail, until the driver writes it back to 0.
      if (value === 0) this.#windowsPast63.delete(select);
      else {
        this.#windowsPast63.add(select);
        this.finding(`driver accepts feature bits ${32 * select}+ that no device offers`);
      }
      return;
    }
    const shift = BigInt(32 * select);
    this.#driverFeatures =
      (this.#driverFeatures & ~(0xffffffffn << shift)) | (BigInt(value >>> 0) << shift);
  }

  // ---- device status -------------------------------------------------------------------

  get status(): number {
    return this.#status;
  }

  /** A driver write to device_status: 0 resets; setting FEATURES_OK runs the negotiation. */
  writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const old = this.#status;
    let next = value & ~DEVICE_NEEDS_RESET;
    if ((next & FEATURES_OK) !== 0 && (old & FEATURES_OK) === 0 && !this.#acceptFeatures()) {
      next &= ~FEATURES_OK;
    }
    const cleared = old & ~next & ~DEVICE_NEEDS_RESET;
    if (cleared !== 0) {
      this.finding(
        `driver cleared device_status bits ${hex(cleared)} without a reset (${hex(old)} → ${hex(next)})`,
      );
    }
    if ((next & DRIVER_OK) !== 0 && (next & FEATURES_OK) === 0) {
      this.finding('driver set DRIVER_OK without FEATURES_OK');
    }
    this.#status = next | (old & DEVICE_NEEDS_RESET);
  }

  /** The FEATURES_OK check: only offered features, and VIRTIO_F_VERSION_1 among them. */
  #acceptFeatures(): boolean {
    const wanted = this.#driverFeatures;
    const unoffered = wanted & ~this.offeredFeatures();
    if (this.#windowsPast63.size > 0) {
      this.finding(
        `driver accepted feature bits past 63 (in ${this.#windowsPast63.size} driver_feature windows); FEATURES_OK refused`,
      );
      return false;
    }
    if (unoffered !== 0n) {
      this.finding(
        `driver accepted features it was not offered (bits ${bitList(unoffered)}); FEATURES_OK refused`,
      );
      return false;
    }
    if (((wanted >> BigInt(VIRTIO_F_VERSION_1)) & 1n) === 0n) {
      this.finding('driver did not accept VIRTIO_F_VERSION_1; FEATURES_OK refused');
      return false;
    }
    this.#negotiatedLow = Number(wanted & 0xffffffffn);
    this.#negotiatedHigh = Number((wanted >> 32n) & 0xffffffffn);
    this.model.featuresAccepted(wanted);
    return true;
  }

  /** Device reset: every register back to its initial value, then the model's reset. */
  reset(): void {
    this.#resetRegisters();
    this.model.reset();
  }

  /** System reset: the registers as for a device reset, then the model's system reset. */
  systemReset(): void {
    this.#resetRegisters();
    this.model.systemReset();
  }

  #resetRegisters(): void {
    this.#status = 0;
    this.deviceFeatureSelect = 0;
    this.driverFeatureSelect = 0;
    this.#driverFeatures = 0n;
    this.#windowsPast63.clear();
    this.#negotiatedLow = 0;
    this.#negotiatedHigh = 0;
    this.queueSelect = 0;
    this.#configChangedSinceRead = false;
    this.#setIsr(0);
    for (const queue of this.queues) queue.reset();
  }

  // ---- configuration -------------------------------------------------------------------

  get configGeneration(): number {
    return this.#configGeneration;
  }

  readDeviceConfig(offset: number, size: ConfigAccessSize): number {
    if (this.#configChangedSinceRead) {
      // The spec's recipe: bump the generation when the driver reads a changed configuration.
      this.#configChangedSinceRead = false;
      this.#configGeneration = (this.#configGeneration + 1) & 0xff;
    }
    return this.model.readConfig(offset, size);
  }

  writeDeviceConfig(offset: number, size: ConfigAccessSize, value: number): void {
    this.model.writeConfig(offset, size, value);
  }

  // ---- queues --------------------------------------------------------------------------

  /** The queue queue_select names, if it exists. */
  get selectedQueue(): SplitVirtqueue | undefined {
    return this.queues[this.queueSelect];
  }

  writeQueueSize(value: number): void {
    const queue = this.#configurableQueue('queue_size');
    if (queue === undefined) return;
    if (value === 0 || value > queue.maxSize || (value & (value - 1)) !== 0) {
      this.finding(
        `queue_size ${value} for queue ${queue.index} is not a power of 2 up to ${queue.maxSize}; ignored`,
      );
      return;
    }
    queue.size = value;
  }

  writeQueueAddress(field: QueueAddressField, high: boolean, value: number): void {
    const queue = this.#configurableQueue(`queue_${field}`);
    if (queue === undefined) return;
    const word = BigInt(value >>> 0);
    queue[field] = high
      ? (queue[field] & 0xffffffffn) | (word << 32n)
      : (queue[field] & ~0xffffffffn) | word;
  }

  writeQueueEnable(value: number): void {
    const queue = this.selectedQueue;
    if (queue === undefined) {
      this.finding(`queue_enable written for queue ${this.queueSelect}, which does not exist`);
    } else if (value !== 1) {
      this.finding(
        `queue_enable written with ${value} for queue ${queue.index}; only 1 is allowed; ignored`,
      );
    } else if (!queue.enabled) {
      if ((this.#status & FEATURES_OK) === 0) {
        this.finding(`queue ${queue.index} enabled before FEATURES_OK`);
      }
      queue.enable();
    }
  }

  /** queue_reset (VIRTIO_F_RING_RESET): 1 resets the selected queue at once. */
  writeQueueReset(value: number): void {
    if (value === 1) this.selectedQueue?.reset();
  }

  /** A write to the queue's notify address. */
  notify(index: number): void {
    const queue = this.queues[index];
    if (queue === undefined) {
      this.finding(`notification for queue ${index}, which does not exist`);
    } else if ((this.#status & DEVICE_NEEDS_RESET) !== 0) {
      return;
    } else if ((this.#status & DRIVER_OK) === 0) {
      this.finding(`queue ${index} notified before DRIVER_OK; ignored`);
    } else if (!queue.enabled) {
      this.finding(`queue ${index} notified but not enabled; ignored`);
    } else if (!this.#host.busMasterEnabled()) {
      this.finding(
        `queue ${index} notified while bus mastering is off (COMMAND bit 2); the device cannot reach the rings`,
      );
    } else {
      this.model.queueNotified(index, queue);
    }
  }

  // ---- ISR -----------------------------------------------------------------------------

  /** A driver read of ISR status: returns it and clears it. */
  readIsr(): number {
    const value = this.#isr;
    this.#setIsr(0);
    return value;
  }

  #raiseIsr(bits: number): void {
    // Once raised, the line stays asserted: a used buffer per request changes nothing more.
    if ((this.#isr | bits) !== this.#isr) this.#setIsr(this.#isr | bits);
  }

  #setIsr(value: number): void {
    this.#isr = value;
    this.#host.setInterruptLevel(value !== 0);
  }

  #configurableQueue(field: string): SplitVirtqueue | undefined {
    const queue = this.selectedQueue;
    if (queue === undefined) {
      this.finding(`${field} written for queue ${this.queueSelect}, which does not exist; ignored`);
      return undefined;
    }
    if (queue.enabled) {
      this.finding(`${field} written for queue ${queue.index} after it was enabled; ignored`);
      return undefined;
    }
    return queue;
  }

  finding(message: string, detail?: Finding['detail']): void {
    this.#host.findings.add({
      message: `${this.#host.label}: ${message}`,
      ...(detail && { detail }),
    });
  }
}

function featureWord(features: bigint, select: number): number {
  return select > 1 ? 0 : Number((features >> BigInt(32 * select)) & 0xffffffffn);
}

function bitList(bits: bigint): string {
  const list: number[] = [];
  for (let bit = 0; bits >> BigInt(bit) !== 0n; bit++) {
    if (((bits >> BigInt(bit)) & 1n) === 1n) list.push(bit);
  }
  return list.join(', ');
}
