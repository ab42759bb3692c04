// Test fixture: QEMU's virtio-iommu-pci found, its BAR placed, and its virtio-pci transport
// opened (not yet reset or negotiated: tests take those steps themselves).

import { PciBus } from '../../pci/bus.js';
import type { QtestClient } from '../../qtest/client.js';
import { VIRTIO_PCI_MODERN_DEVICE_ID_BASE, VIRTIO_PCI_VENDOR_ID } from '../../virtio/constants.js';
import { VirtioPciTransport } from '../../virtio/pci-transport.js';

/** The virtio device ID of the IOMMU (virtio 1.4, "Device ID"). */
export const VIRTIO_ID_IOMMU = 23;

export async function openVirtioIommu(
  qtest: QtestClient,
  bus = new PciBus(qtest),
): Promise<VirtioPciTransport> {
  const device = await bus.open(
    VIRTIO_PCI_VENDOR_ID,
    VIRTIO_PCI_MODERN_DEVICE_ID_BASE + VIRTIO_ID_IOMMU,
  );
  return VirtioPciTransport.open(device);
}

/** Raw ATTACH request (device-readable part, 20 bytes): head, domain, endpoint, flags, reserved. */
export function attachRequest(domain: number, endpoint: number): Uint8Array {
  const bytes = Buffer.alloc(20);
  bytes[0] = 1; // VIRTIO_IOMMU_T_ATTACH
  bytes.writeUInt32LE(domain, 4);
  bytes.writeUInt32LE(endpoint, 8);
  return bytes;
}
