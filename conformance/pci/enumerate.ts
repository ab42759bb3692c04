// Finding the functions on a bus: probe every device's function 0, and functions 1..7 of
// multi-function devices. Reads for all slots are issued at once (qtest pipelining).

import {
  PCI_HEADER_TYPE,
  PCI_HEADER_TYPE_MULTI_FUNCTION,
  PCI_REVISION_ID,
  PCI_VENDOR_ID,
  formatPciAddress,
  type PciAddress,
  type PciConfig,
} from './config.js';

export interface PciFunction {
  address: PciAddress;
  vendorId: number;
  deviceId: number;
  revision: number;
  /** 24 bits: base class << 16 | subclass << 8 | programming interface. */
  classCode: number;
  /** Layout of the header (bit 7, the multi-function flag, removed): 0 for endpoints. */
  headerType: number;
  multiFunction: boolean;
}

const NO_DEVICE = 0xffff;

export async function enumerateBus(config: PciConfig, bus = 0): Promise<PciFunction[]> {
  const slots = Array.from({ length: 32 }, (_, device) => ({ bus, device, function: 0 }));
  const present = await probe(config, slots);
  const extra = present
    .filter((fn) => fn.multiFunction)
    .flatMap((fn) => [1, 2, 3, 4, 5, 6, 7].map((index) => ({ ...fn.address, function: index })));
  const functions = [...present, ...(await probe(config, extra))];
  return functions.sort(
    (a, b) => a.address.device - b.address.device || a.address.function - b.address.function,
  );
}

/** The first function with this vendor and device ID, or an error naming what was found. */
export async function findFunction(
  config: PciConfig,
  vendorId: number,
  deviceId: number,
  bus = 0,
): Promise<PciFunction> {
  const functions = await enumerateBus(config, bus);
  const found = functions.find((fn) => fn.vendorId === vendorId && fn.deviceId === deviceId);
  if (found === undefined) {
    const seen = functions
      .map((fn) => `${formatPciAddress(fn.address)} ${hex4(fn.vendorId)}:${hex4(fn.deviceId)}`)
      .join(', ');
    throw new Error(
      `no PCI function ${hex4(vendorId)}:${hex4(deviceId)} on bus ${bus} (found: ${seen || 'none'})`,
    );
  }
  return found;
}

async function probe(config: PciConfig, addresses: PciAddress[]): Promise<PciFunction[]> {
  // Vendor ID and device ID in one dword; revision ID and the class code in the next.
  const ids = await Promise.all(addresses.map((address) => config.read32(address, PCI_VENDOR_ID)));
  const present = addresses
    .map((address, index) => ({ address, id: ids[index]! }))
    .filter(({ id }) => (id & 0xffff) !== NO_DEVICE);
  return Promise.all(
    present.map(async ({ address, id }) => {
      const [revisionClass, headerType] = await Promise.all([
        config.read32(address, PCI_REVISION_ID),
        config.read8(address, PCI_HEADER_TYPE),
      ]);
      return {
        address,
        vendorId: id & 0xffff,
        deviceId: id >>> 16,
        revision: revisionClass & 0xff,
        classCode: revisionClass >>> 8,
        headerType: headerType & ~PCI_HEADER_TYPE_MULTI_FUNCTION,
        multiFunction: (headerType & PCI_HEADER_TYPE_MULTI_FUNCTION) !== 0,
      };
    }),
  );
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}
