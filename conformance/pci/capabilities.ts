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
  /** Its first dword: ID, next pointer and the two bytes after them (a vendor cap's length). */
  header: number;
}

/** At most this many capabilities fit in the 192 bytes after the header. */
const MAX_CAPABILITIES = 48;

/** Where a capability list starts: whether there is one (Status bit 4) and the pointer at 0x34. */
export interface CapabilityListHead {
  present: boolean;
  first: number;
}

/** Reads Status and the first pointer, in one round trip; both are read-only. */
export async function readCapabilityListHead(
  config: PciConfig,
  address: PciAddress,
): Promise<CapabilityListHead> {
  const [status, first] = await Promise.all([
    config.read16(address, PCI_STATUS),
    config.read8(address, PCI_CAPABILITY_LIST),
  ]);
  return { present: (status & PCI_STATUS_CAP_LIST) !== 0, first };
}

/**
 * The capability list from its head, one round trip per entry: each entry is read as a dword,
 * so a caller that needs a vendor capability's length has it from the walk.
 */
export async function listCapabilities(
  config: PciConfig,
  address: PciAddress,
  { present, first }: CapabilityListHead,
): Promise<PciCapability[]> {
  if (!present) return [];
  const capabilities: PciCapability[] = [];
  let pointer = first & 0xfc;
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
    const header = await config.read32(address, pointer);
    capabilities.push({ id: header & 0xff, offset: pointer, header });
    pointer = (header >>> 8) & 0xfc;
  }
  return capabilities;
}
