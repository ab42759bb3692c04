// The device-specific configuration structure, accessed at the widths virtio-pci asks for
// (virtio 1.4, "PCI Device Layout": 8 and 32-bit fields with accesses of their own width,
// 64-bit fields with 32-bit accesses, low half first). The only field a driver may write in
// virtio-iommu's configuration is the u8 `bypass`.

import type { MmioRegion } from '../pci/mmio.js';

export class DeviceConfigView {
  constructor(readonly region: MmioRegion) {}

  read8(offset: number): Promise<number> {
    return this.region.read8(offset);
  }
  read32(offset: number): Promise<number> {
    return this.region.read32(offset);
  }
  async read64(offset: number): Promise<bigint> {
    const [low, high] = await Promise.all([
      this.region.read32(offset),
      this.region.read32(offset + 4),
    ]);
    return (BigInt(high) << 32n) | BigInt(low);
  }
  write8(offset: number, value: number): Promise<void> {
    return this.region.write8(offset, value);
  }
}
