// Layer: virtio.
// The contract between the virtio-pci transport (this folder) and a virtio device model such
// as the IOMMU core (device-ref/iommu/). The transport owns everything the virtio spec says
// about PCI, feature negotiation, device status and split virtqueues; the model owns the
// device type: its feature bits, its configuration space and what a request means.
//
// Everything here is synchronous. The transport calls the model when the driver kicks a queue
// (a write to the notify register); the model may also use a queue at any other time (for
// example the IOMMU's event queue when a DMA faults), through VirtioDeviceContext.queue().

/**
 * One descriptor chain the driver made available, already validated by the transport: every
 * address and length lies in guest RAM, device-readable descriptors come before
 * device-writable ones, there are no loops and at most one indirect table. Chains that break
 * a rule never reach the model: the transport returns them to the driver with used length 0
 * and records a finding.
 */
export interface DescriptorChain {
  /** A copy of every device-readable byte of the chain, in chain order. */
  readonly readable: Uint8Array;
  /** The total size of the device-writable buffers: the most `push` can write. */
  readonly writableLength: number;
}

/** One virtqueue as the model sees it. */
export interface QueueAccess {
  /**
   * The next available chain, or null when the driver has made none available, when the
   * queue is not usable (not enabled, device not DRIVER_OK, DEVICE_NEEDS_RESET set, bus
   * mastering off) or when the ring itself is broken (the transport then sets
   * DEVICE_NEEDS_RESET).
   */
  pop(): DescriptorChain | null;
  /**
   * Returns `chain` to the driver: scatters `written` into its device-writable buffers and
   * adds a used ring element whose length is `written.length` (0 is allowed). Chains may be
   * pushed in any order. A chain popped before a device or queue reset is silently dropped.
   * Throws RangeError for a model bug: `written` longer than `chain.writableLength`, a chain
   * pushed twice or pushed to another queue.
   */
  push(chain: DescriptorChain, written: Uint8Array): void;
}

/** What the transport offers a model besides its queues. */
export interface VirtioDeviceContext {
  /**
   * The access to queue `index`, stable for the model's lifetime and usable at any time once
   * the model exists (not inside the factory that creates it: the queues follow from
   * `queueMaxSizes`).
   */
  queue(index: number): QueueAccess;
  /** The model changed its configuration space: bumps config_generation, sets ISR bit 1. */
  configChanged(): void;
  /** The device is broken until the driver resets it: sets DEVICE_NEEDS_RESET. */
  needsReset(reason: string): void;
}

export type ConfigAccessSize = 1 | 2 | 4;

export interface VirtioDeviceModel {
  /** The virtio device ID; the PCI device ID is 0x1040 + deviceId (23 → 0x1057 for the IOMMU). */
  readonly deviceId: number;
  /** One entry per virtqueue: its maximum (and initial) size, a power of two. */
  readonly queueMaxSizes: readonly number[];
  /**
   * Device-type feature bits. The transport adds its own: VIRTIO_F_INDIRECT_DESC (28),
   * VIRTIO_F_EVENT_IDX (29), VIRTIO_F_VERSION_1 (32) and VIRTIO_F_RING_RESET (40), the same
   * transport features QEMU 7.2 offers.
   */
  offeredFeatures(): bigint;
  /**
   * A driver read of the device-specific configuration. `offset` is anywhere in the
   * 4 KiB window (QEMU answers all-ones beyond the end of the configuration); an 8-byte
   * driver access arrives as two 4-byte reads.
   */
  readConfig(offset: number, size: ConfigAccessSize): number;
  /** A driver write of the device-specific configuration; `value` is already truncated to `size`. */
  writeConfig(offset: number, size: ConfigAccessSize, value: number): void;
  /** The driver set FEATURES_OK and the transport accepted `features` (all 64 bits). */
  featuresAccepted(features: bigint): void;
  /** Device reset (the driver wrote 0 to device_status): forget everything the driver set up. */
  reset(): void;
  /**
   * System reset (the whole machine, e.g. through the reset control register): a device
   * reset, and whatever a device reset keeps goes back to its power-on value.
   */
  systemReset(): void;
  /** The driver notified queue `index`: handle what is available on it. */
  queueNotified(index: number, queue: QueueAccess): void;
}
