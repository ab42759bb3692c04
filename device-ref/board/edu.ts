// Layer: board.
// A DMA-capable endpoint with the register layout of QEMU's `edu` device (hw/misc/edu.c), so
// one conformance test drives DMA on QEMU and on this board alike. BAR0 is 1 MiB of MMIO:
//   0x00 identification 0x010000ed    0x04 liveness (reads back the complement)
//   0x08 factorial                    0x20 status (bit 0 computing, bit 7 IRQ on factorial)
//   0x24 interrupt status             0x60 raise interrupt   0x64 acknowledge interrupt
//   0x80 DMA source   0x88 DMA destination   0x90 DMA count
//   0x98 DMA command: bit 0 run, bit 1 direction (0 RAM → buffer, 1 buffer → RAM), bit 2 IRQ
// Below 0x80 only 4-byte accesses count; from 0x80 4- or 8-byte ones. A transfer runs 100 ms
// of virtual time after the command, between the 4 KiB buffer at edu address 0x40000 and a
// RAM-side address masked with dma_mask (28 bits by default).
//
// Differences from QEMU 7.2: the factorial is computed at once (status bit 0 never shows),
// there is no MSI capability (interrupts are INTx only, visible as PCI status bit 3), and a
// transfer whose edu side leaves the buffer is refused with a finding where QEMU 7.2 aborts.
// As in QEMU 7.2, whose edu has no reset handler, a system reset resets the PCI
// configuration only: the registers, the buffer and a transfer under way stay.

import { hex } from '../hex.js';
import { BusMasterDma, type DmaHost } from '../platform/bus-master-dma.js';
import type { FindingLog } from '../platform/findings.js';
import type { AccessSize, MmioRegion } from '../platform/mmio-region.js';
import { PciFunction } from '../platform/pci/pci-function.js';
import type { VirtualClock } from '../platform/virtual-clock.js';

export const EDU_VENDOR_ID = 0x1234;
export const EDU_DEVICE_ID = 0x11e8;
export const EDU_BUFFER_ADDRESS = 0x40000n;
export const EDU_BUFFER_SIZE = 4096;
export const EDU_DEFAULT_DMA_MASK = (1n << 28n) - 1n;

const EDU_ID = 0x010000edn;
const STATUS_IRQ_ON_FACTORIAL = 0x80n;
const IRQ_FACTORIAL = 0x1n;
const IRQ_DMA = 0x100n;
const DMA_RUN = 0x1n;
const DMA_TO_RAM = 0x2n;
const DMA_IRQ = 0x4n;
const DMA_DELAY_NS = 100_000_000n;
const NS_PER_MS = 1_000_000n;
const U32 = 0xffffffffn;
const ALL_ONES = 0xffffffffffffffffn;

export interface EduOptions {
  slot: number;
  clock: VirtualClock;
  dma: DmaHost;
  findings: FindingLog;
  dmaMask?: bigint;
}

export class EduDevice extends PciFunction {
  readonly #clock: VirtualClock;
  readonly #dma: BusMasterDma;
  readonly #findings: FindingLog;
  readonly #dmaMask: bigint;
  readonly #buffer = new Uint8Array(EDU_BUFFER_SIZE);
  #liveness = 0n;
  #factorial = 0n;
  #status = 0n;
  #irqStatus = 0n;
  #dmaSource = 0n;
  #dmaDestination = 0n;
  #dmaCount = 0n;
  #dmaCommand = 0n;

  constructor(options: EduOptions) {
    super(options.slot << 3, 'edu', {
      vendorId: EDU_VENDOR_ID,
      deviceId: EDU_DEVICE_ID,
      revision: 0x10,
      classCode: 0x00ff00,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
      interruptPin: 1,
    });
    this.#clock = options.clock;
    this.#dma = new BusMasterDma(this, options.dma);
    this.#findings = options.findings;
    this.#dmaMask = options.dmaMask ?? EDU_DEFAULT_DMA_MASK;
    const region: MmioRegion = {
      size: 1 << 20,
      maxAccessSize: 8,
      read: (offset, size) => this.#read(offset, size),
      write: (offset, size, value) => this.#write(offset, size, value),
    };
    this.addBar({ index: 0, region, is64: false, prefetchable: false });
  }

  #read(offset: number, size: AccessSize): bigint {
    // QEMU's memory core refuses 1- and 2-byte accesses to edu (they read as 0); edu
    // itself answers all-ones to a valid access it does not decode.
    if (size < 4) return 0n;
    const mask = size === 4 ? U32 : ALL_ONES;
    if (offset < 0x80 && size !== 4) return mask;
    switch (offset) {
      case 0x00:
        return EDU_ID;
      case 0x04:
        return this.#liveness;
      case 0x08:
        return this.#factorial;
      case 0x20:
        return this.#status;
      case 0x24:
        return this.#irqStatus;
      case 0x80:
        return this.#dmaSource & mask;
      case 0x88:
        return this.#dmaDestination & mask;
      case 0x90:
        return this.#dmaCount & mask;
      case 0x98:
        return this.#dmaCommand & mask;
      default:
        return mask;
    }
  }

  #write(offset: number, size: AccessSize, value: bigint): void {
    if (size < 4 || (offset < 0x80 && size !== 4)) return;
    const busy = (this.#dmaCommand & DMA_RUN) !== 0n;
    switch (offset) {
      case 0x04:
        this.#liveness = ~value & U32;
        break;
      case 0x08:
        this.#factorial = factorial32(value);
        if ((this.#status & STATUS_IRQ_ON_FACTORIAL) !== 0n) this.#raise(IRQ_FACTORIAL);
        break;
      case 0x20:
        this.#status = value & STATUS_IRQ_ON_FACTORIAL;
        break;
      case 0x60:
        this.#raise(value);
        break;
      case 0x64:
        this.#irqStatus &= ~value & U32;
        this.setInterruptLevel(this.#irqStatus !== 0n);
        break;
      case 0x80:
        if (!busy) this.#dmaSource = value;
        break;
      case 0x88:
        if (!busy) this.#dmaDestination = value;
        break;
      case 0x90:
        if (!busy) this.#dmaCount = value;
        break;
      case 0x98:
        if (!busy && (value & DMA_RUN) !== 0n) this.#startTransfer(value);
        break;
    }
  }

  #raise(bits: bigint): void {
    this.#irqStatus |= bits & U32;
    if (this.#irqStatus !== 0n) this.setInterruptLevel(true);
  }

  #startTransfer(command: bigint): void {
    // Only called while no transfer runs (DMA_RUN clear), so no earlier timer is pending.
    this.#dmaCommand = command;
    // QEMU arms a millisecond timer: now, in whole ms, plus 100 ms.
    const deadline = (this.#clock.now() / NS_PER_MS) * NS_PER_MS + DMA_DELAY_NS;
    this.#clock.at(deadline, () => this.#completeTransfer());
  }

  #completeTransfer(): void {
    const toRam = (this.#dmaCommand & DMA_TO_RAM) !== 0n;
    const count = this.#dmaCount;
    const eduSide = toRam ? this.#dmaSource : this.#dmaDestination;
    const ramSide = toRam ? this.#dmaDestination : this.#dmaSource;
    const bufferEnd = EDU_BUFFER_ADDRESS + BigInt(EDU_BUFFER_SIZE);
    if (eduSide < EDU_BUFFER_ADDRESS || eduSide + count > bufferEnd) {
      this.#findings.add({
        message: `${this.label}: DMA refused: edu range ${hex(eduSide)}+${hex(count)} leaves the buffer 0x40000-0x40fff`,
        detail: {
          source: hex(this.#dmaSource),
          destination: hex(this.#dmaDestination),
          count: hex(count),
        },
      });
    } else {
      const start = Number(eduSide - EDU_BUFFER_ADDRESS);
      const length = Number(count);
      const address = ramSide & this.#dmaMask;
      if (address !== ramSide) {
        this.#findings.add({
          message: `${this.label}: DMA address ${hex(ramSide)} clamped to ${hex(address)} by dma_mask ${hex(this.#dmaMask)}`,
        });
      }
      if (toRam) this.#dma.write(address, this.#buffer.subarray(start, start + length));
      else this.#buffer.set(this.#dma.read(address, length), start);
    }
    this.#dmaCommand &= ~DMA_RUN;
    if ((this.#dmaCommand & DMA_IRQ) !== 0n) this.#raise(IRQ_DMA);
  }
}

/** n! modulo 2^32, as edu's 32-bit computation gives it. */
function factorial32(value: bigint): bigint {
  let n = Number(value & U32);
  let result = 1;
  // From 34! on, the product holds 2^32 and stays 0: stop there rather than loop 2^32 times.
  while (n > 0 && result !== 0) result = Math.imul(result, n--) >>> 0;
  return BigInt(result);
}
