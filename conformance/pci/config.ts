// PCI configuration space through the x86 configuration mechanism #1: write the address
// of a dword to 0xCF8, then access its bytes at 0xCFC..0xCFF. Each access sends the two
// qtest commands back to back in one tick, so concurrent callers can never interleave
// between the address and the data phase.

import type { QtestClient } from '../qtest/client.js';

export interface PciAddress {
  bus: number;
  device: number;
  function: number;
}

// Type 0 header registers we use (PCI Local Bus 3.0, 6.1).
export const PCI_VENDOR_ID = 0x00;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_CAPABILITY_LIST = 0x34;

export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
/** The function asserts its INTx line (PCI Local Bus 3.0, 6.2.3). */
export const PCI_STATUS_INTERRUPT = 0x08;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_HEADER_TYPE_MULTI_FUNCTION = 0x80;

const CONFIG_ADDRESS_PORT = 0xcf8;
const CONFIG_DATA_PORT = 0xcfc;

/** `00:02.0` style. */
export function formatPciAddress(address: PciAddress): string {
  const hex2 = (value: number): string => value.toString(16).padStart(2, '0');
  return `${hex2(address.bus)}:${hex2(address.device)}.${address.function}`;
}

/** The PCI requester ID, which virtio-iommu on PCI uses as the endpoint ID. */
export function requesterId(address: PciAddress): number {
  return (address.bus << 8) | (address.device << 3) | address.function;
}

export class PciConfig {
  constructor(readonly qtest: QtestClient) {}

  read8(address: PciAddress, offset: number): Promise<number> {
    return this.#read(address, offset, 1);
  }
  read16(address: PciAddress, offset: number): Promise<number> {
    return this.#read(address, offset, 2);
  }
  read32(address: PciAddress, offset: number): Promise<number> {
    return this.#read(address, offset, 4);
  }
  write8(address: PciAddress, offset: number, value: number): Promise<void> {
    return this.#write(address, offset, 1, value);
  }
  write16(address: PciAddress, offset: number, value: number): Promise<void> {
    return this.#write(address, offset, 2, value);
  }
  write32(address: PciAddress, offset: number, value: number): Promise<void> {
    return this.#write(address, offset, 4, value);
  }

  async #read(address: PciAddress, offset: number, width: 1 | 2 | 4): Promise<number> {
    const selected = this.qtest.outl(CONFIG_ADDRESS_PORT, configAddress(address, offset, width));
    const port = CONFIG_DATA_PORT + (offset & 3);
    const data =
      width === 1
        ? this.qtest.inb(port)
        : width === 2
          ? this.qtest.inw(port)
          : this.qtest.inl(port);
    const [, value] = await Promise.all([selected, data]);
    return value;
  }

  async #write(
    address: PciAddress,
    offset: number,
    width: 1 | 2 | 4,
    value: number,
  ): Promise<void> {
    const selected = this.qtest.outl(CONFIG_ADDRESS_PORT, configAddress(address, offset, width));
    const port = CONFIG_DATA_PORT + (offset & 3);
    const written =
      width === 1
        ? this.qtest.outb(port, value)
        : width === 2
          ? this.qtest.outw(port, value)
          : this.qtest.outl(port, value);
    await Promise.all([selected, written]);
  }
}

function configAddress(address: PciAddress, offset: number, width: number): number {
  const { bus, device, function: fn } = address;
  if (!inRange(bus, 255) || !inRange(device, 31) || !inRange(fn, 7)) {
    throw new RangeError(`invalid PCI address ${bus}:${device}.${fn}`);
  }
  if (!inRange(offset, 256 - width) || offset % width !== 0) {
    throw new RangeError(`invalid ${width}-byte config offset 0x${offset.toString(16)}`);
  }
  return (0x80000000 | (bus << 16) | (device << 11) | (fn << 8) | (offset & 0xfc)) >>> 0;
}

function inRange(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}
