// Walking the capability list (PCI Local Bus 3.0, 6.7): Status bit 4 says a list exists,
// 0x34 points at the first entry, each entry is {id, next, ...}. A broken list (a pointer
// into the header, a loop) is reported, not followed forever.

import {
  PCI_CAPABILITY_LIST,
  PCI_STATUS,
  PCI_STATUS_CAP_LIST,
  formatPciAddress,
  type PciAddress,
  type PciConfig,
} from './config.js';

export const PCI_CAP_ID_VNDR = 0x09;

export interface PciCapability {
  id: number;
  /** Offset of the capability in configuration space. */
  offset: number;
}

/** At most this many capabilities fit in the 192 bytes after the header. */
const MAX_CAPABILITIES = 48;

export async function listCapabilities(
  config: PciConfig,
  address: PciAddress,
): Promise<PciCapability[]> {
  const status = await config.read16(address, PCI_STATUS);
  if ((status & PCI_STATUS_CAP_LIST) === 0) return [];
  const capabilities: PciCapability[] = [];
  let pointer = (await config.read8(address, PCI_CAPABILITY_LIST)) & 0xfc;
  while (pointer !== 0) {
    if (pointer < 0x40) {
      throw new Error(
        `${formatPciAddress(address)}: capability pointer 0x${pointer.toString(16)} points into the header`,
      );
    }
    if (
      capabilities.some((cap) => cap.offset === pointer) ||
      capabilities.length === MAX_CAPABILITIES
    ) {
      throw new Error(
        `${formatPciAddress(address)}: capability list loops at 0x${pointer.toString(16)}`,
      );
    }
    const header = await config.read16(address, pointer);
    capabilities.push({ id: header & 0xff, offset: pointer });
    pointer = (header >>> 8) & 0xfc;
  }
  return capabilities;
}
