// Transport-level virtio numbers (virtio 1.4: "Device Status Field", "Reserved Feature
// Bits", "Virtio Structure PCI Capabilities", "The Virtqueue Descriptor Table"). Device
// types' own numbers come from the spec model (dist/ts), not from here.

export const VIRTIO_PCI_VENDOR_ID = 0x1af4;
/** Modern (non-transitional) virtio PCI device IDs are 0x1040 + the virtio device ID. */
export const VIRTIO_PCI_MODERN_DEVICE_ID_BASE = 0x1040;

// Device status bits.
export const VIRTIO_STATUS_ACKNOWLEDGE = 1;
export const VIRTIO_STATUS_DRIVER = 2;
export const VIRTIO_STATUS_DRIVER_OK = 4;
export const VIRTIO_STATUS_FEATURES_OK = 8;
export const VIRTIO_STATUS_DEVICE_NEEDS_RESET = 64;
export const VIRTIO_STATUS_FAILED = 128;

// Reserved feature bits (bit numbers).
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_VERSION_1 = 32;

/** The feature mask with one bit set. */
export function featureBit(bit: number): bigint {
  return 1n << BigInt(bit);
}

// Virtio structure PCI capability types.
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;

// Split virtqueue descriptor flags.
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
