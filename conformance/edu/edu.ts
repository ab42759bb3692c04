// QEMU's `edu` device (1234:11e8) as a DMA endpoint behind the IOMMU. Its DMA engine copies
// between RAM and a 4 KiB buffer inside the device (device addresses 0x40000..0x40ffe are
// usable, see EDU_BUFFER_USABLE):
//   0x80 source, 0x88 destination, 0x90 count, 0x98 command (bit 0 run, bit 1 direction:
//   0 RAM → buffer, 1 buffer → RAM). A transfer starts 100 ms of virtual time after the command
//   (host time on a QEMU with neither the qtest accelerator nor `-icount …,sleep=off`); bit 0
//   clears when done.
//
// Where the target lets the client step virtual time (clock_step), a transfer is stepped to
// completion at once; elsewhere it is polled for until a host-time deadline
// (qtest/device-clock.ts), which on the QEMU we spawn (its virtual clock jumps to edu's timer
// once its vCPU idles) is reached only when edu is broken.
//
// edu ignores DMA errors and its buffer is not readable over MMIO, so a transfer is judged
// by the bytes that arrived. To see or set the buffer we bounce through a *staging page*:
// guest RAM that the caller knows the endpoint reaches (in bypass, any page: iova = phys;
// attached to a domain, a page the test mapped). The primitives toDevice()/fromDevice() do
// one transfer each; dmaRead()/dmaWrite() combine one of them with a staging transfer.
//
// A transfer edu never finishes says nothing about the IOMMU: edu clears its run bit whatever
// the translation answered (it ignores DMA errors), and an IOMMU that hangs the target stops
// qtest replies too (a QtestTimeoutError, a hang the harness charges to the device). So a
// transfer still running while the target answers is edu or the platform's clock: an
// EduStalledError, a suite error, never a device fail.

import type { PciBus } from '../pci/bus.js';
import type { PciDevice } from '../pci/device.js';
import { deviceClock, knownDeviceClock } from '../qtest/device-clock.js';
import { PollTimeoutError } from '../qtest/poll.js';
import { SuiteError } from '../scenario/expectation.js';

export const EDU_VENDOR_ID = 0x1234;
export const EDU_DEVICE_ID = 0x11e8;
/** Where the DMA buffer sits in edu's own address space, and its size. */
export const EDU_BUFFER_ADDRESS = 0x40000n;
export const EDU_BUFFER_SIZE = 0x1000;
/**
 * The most a transfer can use: QEMU 7.2's range check wants the transfer's end strictly
 * below the buffer's end (an off-by-one), so the buffer's last byte is out of reach and a
 * transfer touching it aborts QEMU ("EDU: DMA range … out of bounds").
 */
export const EDU_BUFFER_USABLE = EDU_BUFFER_SIZE - 1;
/** edu's default dma_mask: RAM-side addresses are cut to 28 bits (silently, by QEMU). */
export const EDU_DEFAULT_DMA_MASK = (1n << 28n) - 1n;

/** edu's DMA registers, as a transfer uses them. */
export interface DmaRegisters {
  source: bigint;
  destination: bigint;
  count: bigint;
}

/** edu's BAR0 registers, by offset, as QEMU's edu documents them (docs/specs/edu.rst). */
export const EDU_REG = {
  id: 0x00,
  liveness: 0x04,
  factorial: 0x08,
  /** Decoded by no register: reads all-ones. */
  undecoded: 0x10,
  status: 0x20,
  irqStatus: 0x24,
  irqRaise: 0x60,
  irqAck: 0x64,
  dmaSource: 0x80,
  dmaDestination: 0x88,
  dmaCount: 0x90,
  dmaCommand: 0x98,
} as const;
/** What the identification register reads on edu 1.0. */
export const EDU_ID = 0x0100_00ed;
/** Bits of the DMA command register. */
export const EDU_DMA = { run: 0x1n, toRam: 0x2n, irq: 0x4n } as const;

export interface EduOptions {
  /** The device's dma_mask property; addresses beyond it are refused here. */
  dmaMask?: bigint;
  /** Longest wait for one transfer. Default 2000 ms (a transfer takes ~100 ms). */
  timeoutMs?: number;
}

/** Guest RAM the endpoint reaches at `iova` and the CPU (qtest) at `phys`. */
export interface StagingPage {
  iova: bigint;
  phys: bigint;
  size: number;
}

/** edu did not finish a transfer while the target kept answering: no verdict on the IOMMU. */
export class EduStalledError extends SuiteError {
  override name = 'EduStalledError';
}

export class EduDevice {
  readonly dmaMask: bigint;
  readonly timeoutMs: number;

  constructor(
    readonly device: PciDevice,
    options: EduOptions = {},
  ) {
    this.dmaMask = options.dmaMask ?? EDU_DEFAULT_DMA_MASK;
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  /** Finds edu on the bus, places BAR0 and enables memory decoding and bus mastering. */
  static async open(bus: PciBus, options: EduOptions = {}): Promise<EduDevice> {
    return new EduDevice(await bus.open(EDU_VENDOR_ID, EDU_DEVICE_ID), options);
  }

  /** The endpoint ID the IOMMU knows edu by: its requester ID. */
  get endpointId(): number {
    return this.device.requesterId;
  }

  /** The identification register: EDU_ID (0x010000ed) for edu 1.0. */
  readId(): Promise<number> {
    return this.device.bar(0).read32(EDU_REG.id);
  }

  /**
   * Programs the DMA source, destination and count registers without starting a transfer and
   * reads them back (what a transfer would use).
   */
  async programAndReadBack(values: DmaRegisters): Promise<DmaRegisters> {
    const registers = this.device.bar(0);
    const [, , , source, destination, count] = await Promise.all([
      registers.write64(EDU_REG.dmaSource, values.source),
      registers.write64(EDU_REG.dmaDestination, values.destination),
      registers.write64(EDU_REG.dmaCount, values.count),
      registers.read64(EDU_REG.dmaSource),
      registers.read64(EDU_REG.dmaDestination),
      registers.read64(EDU_REG.dmaCount),
    ]);
    return { source, destination, count };
  }

  /** One transfer RAM → edu buffer: the endpoint *reads* `length` bytes at `iova`. */
  async toDevice(iova: bigint, length: number, bufferOffset = 0): Promise<void> {
    const buffer = this.#bufferAddress(bufferOffset, length);
    return this.#transfer(this.#ramAddress(iova, length), buffer, length, 0n);
  }

  /** One transfer edu buffer → RAM: the endpoint *writes* `length` bytes at `iova`. */
  async fromDevice(iova: bigint, length: number, bufferOffset = 0): Promise<void> {
    const buffer = this.#bufferAddress(bufferOffset, length);
    return this.#transfer(buffer, this.#ramAddress(iova, length), length, EDU_DMA.toRam);
  }

  /** Sets buffer bytes: writes them to the staging page, then toDevice() from it. */
  async loadBuffer(bytes: Uint8Array, staging: StagingPage, bufferOffset = 0): Promise<void> {
    checkStaging(staging, bytes.length);
    await this.device.config.qtest.memwrite(staging.phys, bytes);
    await this.toDevice(staging.iova, bytes.length, bufferOffset);
  }

  /** Reads buffer bytes: fromDevice() to the staging page, then reads it. */
  async readBuffer(length: number, staging: StagingPage, bufferOffset = 0): Promise<Uint8Array> {
    checkStaging(staging, length);
    await this.fromDevice(staging.iova, length, bufferOffset);
    return this.device.config.qtest.memread(staging.phys, length);
  }

  /** The endpoint writes `bytes` at `iova` (two transfers: staging → buffer → iova). */
  async dmaWrite(iova: bigint, bytes: Uint8Array, staging: StagingPage): Promise<void> {
    await this.loadBuffer(bytes, staging);
    await this.fromDevice(iova, bytes.length);
  }

  /** The endpoint reads `length` bytes at `iova` and returns what arrived (iova → buffer → staging). */
  async dmaRead(iova: bigint, length: number, staging: StagingPage): Promise<Uint8Array> {
    await this.toDevice(iova, length);
    return this.readBuffer(length, staging);
  }

  async #transfer(
    source: bigint,
    destination: bigint,
    length: number,
    direction: bigint,
  ): Promise<void> {
    const registers = this.device.bar(0);
    const qtest = this.device.config.qtest;
    const clock = knownDeviceClock(qtest) ?? (await deviceClock(qtest));
    // One pipeline: a look at the command register, the registers, the step, a second look.
    // On a stepped clock the transfer runs at the step, and the second look finds it done.
    const [before, , , , , , afterStep] = await Promise.all([
      registers.read64(EDU_REG.dmaCommand),
      registers.write64(EDU_REG.dmaSource, source),
      registers.write64(EDU_REG.dmaDestination, destination),
      registers.write64(EDU_REG.dmaCount, BigInt(length)),
      registers.write64(EDU_REG.dmaCommand, EDU_DMA.run | direction),
      clock.stepToNextTimer(),
      registers.read64(EDU_REG.dmaCommand),
    ]);
    if ((before & EDU_DMA.run) !== 0n) {
      throw new EduStalledError(
        'edu: a DMA transfer was still running when this one was programmed (edu ignores its registers and command while one runs): edu or the platform, not the IOMMU',
      );
    }
    if ((afterStep & EDU_DMA.run) === 0n) return;
    try {
      await clock.waitForTimer(
        async () =>
          ((await registers.read64(EDU_REG.dmaCommand)) & EDU_DMA.run) === 0n ? true : undefined,
        { timeoutMs: this.timeoutMs, what: 'the edu DMA transfer to finish', intervalMs: 2 },
      );
    } catch (error) {
      if (!(error instanceof PollTimeoutError)) throw error;
      const transfer = `0x${source.toString(16)} → 0x${destination.toString(16)}, ${length} bytes`;
      throw new EduStalledError(
        `edu did not finish its DMA transfer (${transfer}) within ${this.timeoutMs} ms while the target kept answering qtest (${await this.#platformCheck()}); edu finishes a transfer whatever the IOMMU answers, so this is edu or the platform's clock, not the IOMMU: no verdict on the device`,
      );
    }
  }

  /** edu on its own, without DMA: it still answers with its identification register. */
  async #platformCheck(): Promise<string> {
    const id = await this.readId();
    return id === EDU_ID
      ? 'edu still answers with its ID'
      : `edu answers its ID register with 0x${id.toString(16)}`;
  }

  #ramAddress(iova: bigint, length: number): bigint {
    if (iova < 0n || iova + BigInt(length) - 1n > this.dmaMask) {
      throw new RangeError(
        `edu: 0x${iova.toString(16)}+0x${length.toString(16)} is beyond dma_mask 0x${this.dmaMask.toString(16)} (QEMU would silently truncate it)`,
      );
    }
    return iova;
  }

  /** edu aborts QEMU on a buffer range it does not accept, so refuse it here. */
  #bufferAddress(offset: number, length: number): bigint {
    const valid =
      Number.isInteger(length) && length >= 1 && Number.isInteger(offset) && offset >= 0;
    if (!valid || offset + length > EDU_BUFFER_USABLE) {
      throw new RangeError(
        `edu: ${length} bytes at buffer offset ${offset} do not fit the ${EDU_BUFFER_USABLE} usable bytes of its buffer`,
      );
    }
    return EDU_BUFFER_ADDRESS + BigInt(offset);
  }
}

function checkStaging(staging: StagingPage, length: number): void {
  if (length > staging.size) {
    throw new RangeError(`edu: ${length} bytes do not fit the ${staging.size}-byte staging page`);
  }
}
