// Layer: virtio.
// Numbers from the virtio 1.4 spec (Basic Facilities; Virtio Over PCI Bus) the transport uses.

export const VIRTIO_PCI_VENDOR_ID = 0x1af4;
/** Modern (non-transitional) PCI device IDs are 0x1040 + the virtio device ID. */
export const VIRTIO_PCI_DEVICE_ID_BASE = 0x1040;

// device_status bits the device acts on
export const DRIVER_OK = 0x04;
export const FEATURES_OK = 0x08;
export const DEVICE_NEEDS_RESET = 0x40;

// Transport feature bits
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_RING_RESET = 40;

/** The transport features this transport implements and offers (QEMU 7.2 offers the same). */
export const TRANSPORT_FEATURES =
  (1n << BigInt(VIRTIO_F_INDIRECT_DESC)) |
  (1n << BigInt(VIRTIO_F_EVENT_IDX)) |
  (1n << BigInt(VIRTIO_F_VERSION_1)) |
  (1n << BigInt(VIRTIO_F_RING_RESET));

// Split virtqueue descriptor flags
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

// ISR status bits
export const ISR_QUEUE = 0x1;
export const ISR_CONFIG = 0x2;

/** Read back from an MSI-X vector field: this transport has no MSI-X. */
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

// Virtio structure PCI capabilities
export const PCI_CAP_ID_VNDR = 0x09;
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;
