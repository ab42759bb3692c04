// Layer: virtio.
// A modern virtio-pci function (virtio 1.4, "Virtio Over PCI Bus") laid out as QEMU 7.2
// lays out virtio-iommu-pci on q35, so that a driver finds everything where it would on
// QEMU: no legacy I/O BAR, no MSI-X, one 16 KiB 64-bit prefetchable memory BAR 4 holding
//   0x0000 common configuration   0x1000 ISR status
//   0x2000 device configuration   0x3000 notifications (notify_off_multiplier 4)
// and the capability list 0x84 PCI_CFG → 0x70 NOTIFY → 0x60 DEVICE → 0x50 ISR → 0x40 COMMON.

import type { FindingLog } from '../platform/findings.js';
import type { GuestRam } from '../platform/guest-ram.js';
import {
  readRegionBytes,
  writeRegionBytes,
  type AccessSize,
  type MmioRegion,
} from '../platform/mmio-region.js';
import { PciFunction } from '../platform/pci/pci-function.js';
import { hex } from '../hex.js';
import { CommonConfigRegion } from './common-config.js';
import {
  PCI_CAP_ID_VNDR,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_PCI_CFG,
  VIRTIO_PCI_DEVICE_ID_BASE,
  VIRTIO_PCI_VENDOR_ID,
} from './constants.js';
import type { VirtioDeviceContext, VirtioDeviceModel } from './device-model.js';
import { VirtioTransport } from './transport.js';

const VIRTIO_BAR_INDEX = 4;
const COMMON_OFFSET = 0x0000;
const ISR_OFFSET = 0x1000;
const DEVICE_OFFSET = 0x2000;
const NOTIFY_OFFSET = 0x3000;
const STRUCTURE_LENGTH = 0x1000;
const BAR_SIZE = 0x4000;
const NOTIFY_OFF_MULTIPLIER = 4;

/** Offsets of the PCI_CFG capability's fields (struct virtio_pci_cfg_cap). */
const CFG_CAP_OFFSET = 0x84;
const CFG_BAR = CFG_CAP_OFFSET + 4;
const CFG_OFFSET = CFG_CAP_OFFSET + 8;
const CFG_LENGTH = CFG_CAP_OFFSET + 12;
const CFG_DATA = CFG_CAP_OFFSET + 16;

export interface VirtioPciOptions {
  slot: number;
  /** For messages: "virtio-iommu". */
  name: string;
  ram: GuestRam;
  findings: FindingLog;
  createModel: (context: VirtioDeviceContext) => VirtioDeviceModel;
}

export class VirtioPciFunction extends PciFunction {
  readonly transport: VirtioTransport;
  readonly #bar: MmioRegion;

  constructor(options: VirtioPciOptions) {
    super(options.slot << 3, options.name, {
      vendorId: VIRTIO_PCI_VENDOR_ID,
      deviceId: VIRTIO_PCI_DEVICE_ID_BASE, // completed below, once the model tells its ID
      revision: 1,
      classCode: 0x00ff00,
      subsystemVendorId: VIRTIO_PCI_VENDOR_ID,
      subsystemId: 0x1100,
      interruptPin: 1,
    });
    this.transport = new VirtioTransport(
      {
        ram: options.ram,
        findings: options.findings,
        label: this.label,
        busMasterEnabled: () => this.busMasterEnabled,
        setInterruptLevel: (asserted) => this.setInterruptLevel(asserted),
      },
      options.createModel,
    );
    this.config.set(0x02, 2, VIRTIO_PCI_DEVICE_ID_BASE + this.transport.model.deviceId);
    this.#bar = new VirtioBarRegion(this.transport, new CommonConfigRegion(this.transport));
    this.addBar({ index: VIRTIO_BAR_INDEX, region: this.#bar, is64: true, prefetchable: true });
    this.#addCapabilities();
  }

  override systemReset(): void {
    super.systemReset();
    this.transport.systemReset();
  }

  override configRead(offset: number, size: number): number {
    if (overlapsCfgData(offset, size)) this.#pciCfgAccess('read');
    return super.configRead(offset, size);
  }

  override configWrite(offset: number, size: number, value: number): void {
    super.configWrite(offset, size, value);
    if (overlapsCfgData(offset, size)) this.#pciCfgAccess('write');
  }

  #addCapabilities(): void {
    const c = this.config;
    const structures: [number, number, number][] = [
      [0x40, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFFSET],
      [0x50, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFFSET],
      [0x60, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_OFFSET],
      [0x70, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFFSET],
    ];
    for (const [at, type, offset] of structures) {
      const length = type === VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16;
      c.addCapability(at, PCI_CAP_ID_VNDR, length);
      c.set(at + 2, 1, length);
      c.set(at + 3, 1, type);
      c.set(at + 4, 1, VIRTIO_BAR_INDEX);
      c.set(at + 8, 4, offset);
      c.set(at + 12, 4, STRUCTURE_LENGTH);
      if (type === VIRTIO_PCI_CAP_NOTIFY_CFG) c.set(at + 16, 4, NOTIFY_OFF_MULTIPLIER);
    }
    c.addCapability(CFG_CAP_OFFSET, PCI_CAP_ID_VNDR, 20);
    c.set(CFG_CAP_OFFSET + 2, 1, 20);
    c.set(CFG_CAP_OFFSET + 3, 1, VIRTIO_PCI_CAP_PCI_CFG);
    c.setWritable(CFG_BAR, 1, 0xff);
    c.setWritable(CFG_OFFSET, 4, 0xffffffff);
    c.setWritable(CFG_LENGTH, 4, 0xffffffff);
    c.setWritable(CFG_DATA, 4, 0xffffffff);
  }

  /**
   * The PCI configuration access capability: a driver access to pci_cfg_data performs an
   * access of cap.length (1, 2 or 4) bytes at cap.offset in BAR cap.bar, whether or not
   * memory decoding is on.
   */
  #pciCfgAccess(access: 'read' | 'write'): void {
    const c = this.config;
    const bar = c.read(CFG_BAR, 1);
    const offset = c.read(CFG_OFFSET, 4);
    const length = c.read(CFG_LENGTH, 4);
    if (bar !== VIRTIO_BAR_INDEX || ![1, 2, 4].includes(length) || offset + length > BAR_SIZE) {
      this.transport.finding(
        `VIRTIO_PCI_CAP_PCI_CFG ${access} with bar ${bar}, offset ${offset}, length ${length}: no such BAR range; ignored`,
      );
      return;
    }
    if (access === 'read') {
      const data = readRegionBytes(this.#bar, offset, length);
      data.forEach((byte, i) => c.set(CFG_DATA + i, 1, byte));
    } else {
      const data = Uint8Array.from({ length }, (_, i) => c.read(CFG_DATA + i, 1));
      writeRegionBytes(this.#bar, offset, data);
    }
  }
}

function overlapsCfgData(offset: number, size: number): boolean {
  return offset < CFG_DATA + 4 && offset + size > CFG_DATA;
}

/** BAR 4: the four virtio structures, 4 KiB each. */
class VirtioBarRegion implements MmioRegion {
  readonly size = BAR_SIZE;
  readonly maxAccessSize = 4;
  readonly #transport: VirtioTransport;
  readonly #common: CommonConfigRegion;

  constructor(transport: VirtioTransport, common: CommonConfigRegion) {
    this.#transport = transport;
    this.#common = common;
  }

  read(offset: number, size: AccessSize): bigint {
    const t = this.#transport;
    if (offset < ISR_OFFSET) return this.#common.read(offset - COMMON_OFFSET, size);
    // As in QEMU, a read anywhere in the ISR structure returns and clears ISR status.
    if (offset < DEVICE_OFFSET) return BigInt(t.readIsr());
    if (offset < NOTIFY_OFFSET)
      return BigInt(t.readDeviceConfig(offset - DEVICE_OFFSET, size as 1 | 2 | 4));
    return 0n;
  }

  write(offset: number, size: AccessSize, value: bigint): void {
    const t = this.#transport;
    if (offset < ISR_OFFSET) {
      this.#common.write(offset - COMMON_OFFSET, size, value);
    } else if (offset < DEVICE_OFFSET) {
      t.finding(`driver wrote ISR status (BAR offset ${hex(offset)}), which is read-only; ignored`);
    } else if (offset < NOTIFY_OFFSET) {
      t.writeDeviceConfig(offset - DEVICE_OFFSET, size as 1 | 2 | 4, Number(value));
    } else {
      // As in QEMU, the address selects the queue.
      const queue = Math.floor((offset - NOTIFY_OFFSET) / NOTIFY_OFF_MULTIPLIER);
      if (size !== 2)
        t.finding(`${size}-byte notification for queue ${queue}; it MUST be a 16-bit write`);
      if (Number(value) !== queue)
        t.finding(`notification value ${value} written at queue ${queue}'s notify address`);
      t.notify(queue);
    }
  }
}
