// The virtio structure capabilities (virtio 1.4, "Virtio Structure PCI Capabilities"):
// vendor-specific PCI capabilities that say in which BAR, at which offset, the common
// configuration, notification area, ISR status and device configuration live.

import { PCI_CAP_ID_VNDR } from '../pci/capabilities.js';
import { formatPciAddress } from '../pci/config.js';
import type { PciDevice } from '../pci/device.js';
import {
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
} from './constants.js';

/** struct virtio_pci_cap, plus notify_off_multiplier for the notification capability. */
export interface VirtioPciCap {
  /** Where the capability itself sits in configuration space. */
  capOffset: number;
  capLen: number;
  cfgType: number;
  bar: number;
  id: number;
  offset: number;
  length: number;
  /** Only for VIRTIO_PCI_CAP_NOTIFY_CFG (struct virtio_pci_notify_cap). */
  notifyOffMultiplier?: number;
}

export interface VirtioPciLayout {
  common: VirtioPciCap;
  notify: VirtioPciCap & { notifyOffMultiplier: number };
  isr: VirtioPciCap;
  /** Absent for device types without device-specific configuration. */
  device?: VirtioPciCap;
}

/** Every vendor-specific capability of the function, parsed as a virtio structure capability. */
export async function readVirtioCaps(device: PciDevice): Promise<VirtioPciCap[]> {
  const { config, address } = device;
  const vendorCaps = (await device.capabilities()).filter((cap) => cap.id === PCI_CAP_ID_VNDR);
  // The walk read each cap's first dword: its length and type. The rest of every vendor cap,
  // the notify cap's multiplier included, leaves in one pipeline.
  return Promise.all(
    vendorCaps.map(async ({ offset: at, header: word0 }) => {
      const capLen = (word0 >>> 16) & 0xff;
      const cfgType = word0 >>> 24;
      const hasMultiplier = cfgType === VIRTIO_PCI_CAP_NOTIFY_CFG && capLen >= 20;
      const [word1, offset, length, multiplier] = await Promise.all([
        config.read32(address, at + 4),
        config.read32(address, at + 8),
        config.read32(address, at + 12),
        hasMultiplier ? config.read32(address, at + 16) : undefined,
      ]);
      const cap: VirtioPciCap = {
        capOffset: at,
        capLen,
        cfgType,
        bar: word1 & 0xff,
        id: (word1 >>> 8) & 0xff,
        offset,
        length,
      };
      if (multiplier !== undefined) cap.notifyOffMultiplier = multiplier;
      return cap;
    }),
  );
}

/**
 * The structures a driver uses: the first capability of each type (the device's preferred
 * one), skipping reserved BAR numbers (the driver MUST ignore those), as the spec asks.
 */
export function selectVirtioLayout(device: PciDevice, caps: VirtioPciCap[]): VirtioPciLayout {
  const first = (type: number): VirtioPciCap | undefined =>
    caps.find((cap) => cap.cfgType === type && cap.bar <= 5);
  const where = formatPciAddress(device.address);
  const need = (type: number, name: string): VirtioPciCap => {
    const cap = first(type);
    if (cap === undefined) throw new Error(`${where}: no usable virtio ${name} capability`);
    return cap;
  };
  const common = need(VIRTIO_PCI_CAP_COMMON_CFG, 'common configuration');
  const notify = need(VIRTIO_PCI_CAP_NOTIFY_CFG, 'notification');
  if (notify.notifyOffMultiplier === undefined) {
    throw new Error(`${where}: notification capability too short (cap_len ${notify.capLen})`);
  }
  const isr = need(VIRTIO_PCI_CAP_ISR_CFG, 'ISR status');
  const deviceCfg = first(VIRTIO_PCI_CAP_DEVICE_CFG);
  return {
    common,
    notify: { ...notify, notifyOffMultiplier: notify.notifyOffMultiplier },
    isr,
    ...(deviceCfg && { device: deviceCfg }),
  };
}
