// The suite's checks of the platform it stands on: not rules of the device under test, but
// what the suite must be able to trust to judge it. The PCI configuration mechanism (an
// absent function reads all-ones, the enable bit counts, the data port is four bytes), the
// chipset the target says it has (q35's host bridge at 00:00.0), the DMA endpoint (edu's
// identification register, its DMA registers; all its registers as QEMU documents them) and
// the qtest layer (memset, memory outside RAM, writes across page ends, clock_step up to the
// end of virtual time). A check that fails throws a
// SuiteError: the test's verdict is `error`, never a device `fail` or `pass`.

import {
  EDU_BUFFER_ADDRESS,
  EDU_DEVICE_ID,
  EDU_DMA,
  EDU_REG,
  EDU_VENDOR_ID,
  type DmaRegisters,
} from '../edu/edu.js';
import {
  PCI_COMMAND,
  PCI_COMMAND_MASTER,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
} from '../pci/config.js';
import { PlatformBrokenError } from '../pci/platform-broken.js';
import { QtestProtocolError, QtestReplyError } from '../qtest/errors.js';
import { deviceClock } from '../qtest/device-clock.js';
import { pollUntil, PollTimeoutError } from '../qtest/poll.js';
import type { Session } from '../session.js';
import { mapStaging, startWithEndpointAttached } from './device-steps.js';
import { hex, iommuConfig } from './transport-steps.js';

const CONFIG_ADDRESS_PORT = 0xcf8;
const CONFIG_DATA_PORT = 0xcfc;
const CONFIG_ENABLE = 0x8000_0000;
const RESET_CONTROL_PORT = 0xcf9;
const PCI_INTERRUPT_LINE = 0x3c;
const PCI_CACHE_LINE_SIZE = 0x0c;
const SYS_RST = 0x2;
const Q35_HOST_BRIDGE = { vendorId: 0x8086, deviceId: 0x29c0, classCode: 0x060000 };
/** What edu's register 0x00 reads: version 1.0, "ed". */
export const EDU_IDENTIFICATION = 0x010000ed;

export { PLATFORM_BROKEN } from '../pci/platform-broken.js';

function broken(what: string): never {
  throw new PlatformBrokenError(what);
}

/**
 * The PCI configuration mechanism of bus 0 and, on a target that says it is q35, its host
 * bridge. Config reads only: cheap enough for every PCI test.
 */
export async function checkPciPlatform(session: Session): Promise<void> {
  const functions = session.driver.functions;
  const phantom = functions.find((fn) => fn.vendorId === 0x0000);
  if (phantom !== undefined)
    broken(
      `slot ${phantom.address.device} of bus 0 reads vendor ID 0x0000, which no PCI function has (an absent function reads all-ones)`,
    );
  const used = new Set(functions.map((fn) => fn.address.device));
  const empty = Array.from({ length: 32 }, (_, slot) => slot).find((slot) => !used.has(slot));
  if (empty === undefined) broken('every slot of bus 0 holds a function');
  const { config } = iommuConfig(session);
  const absent = { bus: 0, device: empty, function: 0 };
  const reads = [
    await config.read8(absent, 0),
    await config.read16(absent, 0),
    await config.read32(absent, 0),
  ];
  const allOnes = [0xff, 0xffff, 0xffff_ffff];
  if (reads.some((value, i) => value >>> 0 !== allOnes[i]))
    broken(
      `the absent function 00:${hex(empty)}.0 reads ${reads.map((v) => hex(v >>> 0)).join(', ')} in 1, 2 and 4 bytes, not all-ones`,
    );
  // CONFIG_ENABLE clear: the data port reaches no function.
  const { address } = iommuConfig(session);
  const disabled = (address.device << 11) | (address.function << 8);
  const [, latched, data] = await Promise.all([
    session.qtest.outl(CONFIG_ADDRESS_PORT, disabled),
    session.qtest.inl(CONFIG_ADDRESS_PORT),
    session.qtest.inl(CONFIG_DATA_PORT),
  ]);
  if (latched >>> 0 !== disabled)
    broken(`port 0xcf8 reads ${hex(latched >>> 0)} after ${hex(disabled)} was written to it`);
  if (data >>> 0 !== 0xffff_ffff)
    broken(
      `with the enable bit (31) of port 0xcf8 clear, port 0xcfc reads ${hex(data >>> 0)}: a configuration access without ${hex(CONFIG_ENABLE)} reached a function`,
    );
  await checkPastDataPort(session);
  if (session.target.chipset === 'q35') {
    const bridge = functions.find((fn) => fn.address.device === 0 && fn.address.function === 0);
    const { vendorId, deviceId, classCode } = Q35_HOST_BRIDGE;
    if (
      bridge === undefined ||
      bridge.vendorId !== vendorId ||
      bridge.deviceId !== deviceId ||
      bridge.classCode !== classCode
    )
      broken(
        `the target is a q35 board, but 00:00.0 holds ${bridge === undefined ? 'nothing' : `${hex(bridge.vendorId)}:${hex(bridge.deviceId)} class ${hex(bridge.classCode)}`}, not q35's host bridge ${hex(vendorId)}:${hex(deviceId)} class ${hex(classCode)}`,
      );
    await checkResetControlLatch(session);
  }
}

/**
 * On a target that says it is q35: the chipset registers of its host bridge (00:00.0) that
 * QEMU 7.2 resets to something other than zero, with the bytes around them: GGC (0x50),
 * PCIEXBAR (0x60, enable bit clear), SMRAM (0x9d) and ESMRAMC (0x9e); and its interrupt
 * registers (0x3c), all zero: the host bridge has no interrupt pin. And a byte past its header
 * that keeps what is written.
 */
const Q35_HOST_BRIDGE_WORDS: ReadonlyArray<[number, string, number]> = [
  [0x3c, 'Interrupt Line and Pin', 0x0000_0000],
  [0x50, 'GGC', 0x0000_0010],
  [0x60, 'PCIEXBAR', 0xb000_0000],
  [0x9c, 'SMRAM and ESMRAMC', 0x0038_0200],
];

/** A byte of q35's host bridge that QEMU leaves writable: the first past the header. */
const Q35_HOST_BRIDGE_SCRATCH = 0x40;

export async function checkHostBridgeRegisters(session: Session): Promise<void> {
  if (session.target.chipset !== 'q35') return;
  const { config } = iommuConfig(session);
  const bridge = { bus: 0, device: 0, function: 0 };
  const words = await Promise.all(
    Q35_HOST_BRIDGE_WORDS.map(([offset]) => config.read32(bridge, offset)),
  );
  Q35_HOST_BRIDGE_WORDS.forEach(([offset, name, want], i) => {
    const got = words[i]! >>> 0;
    if (got !== want)
      broken(
        `q35's host bridge reads ${hex(got)} at ${hex(offset)} (${name}), not QEMU's reset value ${hex(want)}`,
      );
  });
  await checkHostBridgeScratch(session);
}

/**
 * The first byte past the header of q35's host bridge (0x40) keeps what is written: QEMU
 * leaves a function's configuration space past the header writable where no capability sits
 * (pci_init_wmask), and its MCH has none and keeps 0x40-0x9b so.
 */
async function checkHostBridgeScratch(session: Session): Promise<void> {
  const { config } = iommuConfig(session);
  const bridge = { bus: 0, device: 0, function: 0 };
  const before = await config.read8(bridge, Q35_HOST_BRIDGE_SCRATCH);
  await config.write8(bridge, Q35_HOST_BRIDGE_SCRATCH, before ^ 0xff);
  const after = await config.read8(bridge, Q35_HOST_BRIDGE_SCRATCH);
  await config.write8(bridge, Q35_HOST_BRIDGE_SCRATCH, before);
  if (after !== (before ^ 0xff))
    broken(
      `q35's host bridge reads ${hex(after)} at ${hex(Q35_HOST_BRIDGE_SCRATCH)} after ${hex(before ^ 0xff)} was written there: QEMU's MCH keeps what is written past its header`,
    );
}

/**
 * The data port is four bytes, 0xcfc to 0xcff: a write to the port after them (0xd00) reaches
 * no configuration register, here the IOMMU function's Interrupt Line, which CONFIG_ADDRESS
 * selects meanwhile.
 */
async function checkPastDataPort(session: Session): Promise<void> {
  const { config, address } = iommuConfig(session);
  const before = await config.read8(address, PCI_INTERRUPT_LINE);
  const selected =
    (CONFIG_ENABLE | (address.device << 11) | (address.function << 8) | PCI_INTERRUPT_LINE) >>> 0;
  await session.qtest.outl(CONFIG_ADDRESS_PORT, selected);
  await session.qtest.outb(CONFIG_DATA_PORT + 4, before ^ 0xff);
  const after = await config.read8(address, PCI_INTERRUPT_LINE);
  if (after === before) return;
  await config.write8(address, PCI_INTERRUPT_LINE, before);
  broken(
    `a write of ${hex(before ^ 0xff)} to port ${hex(CONFIG_DATA_PORT + 4)}, past the configuration data port ${hex(CONFIG_DATA_PORT)}..${hex(CONFIG_DATA_PORT + 3)}, reached the Interrupt Line register CONFIG_ADDRESS selected (${hex(before)} → ${hex(after)})`,
  );
}

/**
 * q35's reset control register keeps SYS_RST (bit 1) without resetting anything: only a write
 * with RST_CPU (bit 2) resets the system (effects-system-reset.ts makes one).
 */
async function checkResetControlLatch(session: Session): Promise<void> {
  const { config, address } = iommuConfig(session);
  const command = await config.read16(address, PCI_COMMAND);
  await session.qtest.outb(RESET_CONTROL_PORT, SYS_RST);
  const [latched, after] = await Promise.all([
    session.qtest.inb(RESET_CONTROL_PORT),
    config.read16(address, PCI_COMMAND),
  ]);
  await session.qtest.outb(RESET_CONTROL_PORT, 0);
  if (latched !== SYS_RST || after !== command)
    broken(
      `a write of ${hex(SYS_RST)} to q35's reset control register (port ${hex(RESET_CONTROL_PORT)}) reads back ${hex(latched)} and leaves COMMAND of the IOMMU function ${hex(after)} (it was ${hex(command)}): only RST_CPU (bit 2) resets the system`,
    );
}

/** What the edu check programs (no transfer starts): a RAM address, the buffer, a length. */
const EDU_PROGRAMMED: DmaRegisters = { source: 0x123_4560n, destination: 0x4_0010n, count: 0x30n };

/**
 * At least one edu on bus 0, then edu's identification register, its DMA registers at 0 on a
 * fresh board and holding what the suite programs into them, for every edu the driver found.
 */
export async function checkEdu(session: Session): Promise<void> {
  checkEduPresent(session);
  for (const edu of session.driver.edus) {
    // Nothing has raised an interrupt yet: QEMU's edu starts with interrupt status 0.
    const irqStatus = (await edu.device.bar(0).read32(EDU_REG.irqStatus)) >>> 0;
    if (irqStatus !== 0)
      broken(
        `edu ${hex(edu.endpointId)} reads interrupt status ${hex(irqStatus)} before anything raised one, not 0`,
      );
    const id = await edu.readId();
    if (id >>> 0 !== EDU_IDENTIFICATION)
      broken(
        `edu ${hex(edu.endpointId)} reads ${hex(id >>> 0)} in its identification register, not ${hex(EDU_IDENTIFICATION)}`,
      );
    // Nor has anything programmed a transfer: QEMU's edu starts with its DMA registers at 0.
    const registers = edu.device.bar(0);
    const dmaRegisters = ['dmaSource', 'dmaDestination', 'dmaCount', 'dmaCommand'] as const;
    const atStart = await Promise.all(dmaRegisters.map((name) => registers.read64(EDU_REG[name])));
    const set = dmaRegisters.flatMap((name, i) =>
      atStart[i] === 0n ? [] : [`${name} ${hex(atStart[i]!)}`],
    );
    if (set.length > 0)
      broken(
        `edu ${hex(edu.endpointId)} reads ${set.join(', ')} before anything programmed a transfer, not 0`,
      );
    const held = await edu.programAndReadBack(EDU_PROGRAMMED);
    const wrong = (Object.keys(EDU_PROGRAMMED) as (keyof DmaRegisters)[]).filter(
      (name) => held[name] !== EDU_PROGRAMMED[name],
    );
    if (wrong.length > 0)
      broken(
        `edu ${hex(edu.endpointId)}'s DMA registers do not hold what was written: ${wrong.map((name) => `${name} ${hex(held[name])}, not ${hex(EDU_PROGRAMMED[name])}`).join('; ')}`,
      );
  }
}

/**
 * The suite issues every DMA through an edu (1234:11e8): a bus without one leaves nothing to
 * judge DMA with, whatever else it holds (a DMA endpoint under another ID is not one the suite
 * can drive). The functions found are named, so a misidentified endpoint shows.
 */
function checkEduPresent(session: Session): void {
  if (session.driver.edus.length > 0) return;
  const found = session.driver.functions
    .map(
      (fn) =>
        `00:${fn.address.device.toString(16).padStart(2, '0')}.${fn.address.function} ${hex4(fn.vendorId)}:${hex4(fn.deviceId)}`,
    )
    .join(', ');
  broken(
    `bus 0 holds no edu (${hex4(EDU_VENDOR_ID)}:${hex4(EDU_DEVICE_ID)}), the endpoint every DMA of the suite goes through; it holds ${found || 'nothing'}`,
  );
}

const hex4 = (value: number): string => value.toString(16).padStart(4, '0');

/**
 * qtest's memory commands: memset fills RAM with any byte (a whole page, and a piece across
 * its end), memory beyond the end of RAM holds nothing (the memset is refused, or reads
 * back without the byte), and memset reaches MMIO registers too (edu's liveness register).
 */
export async function checkQtestMemory(session: Session): Promise<void> {
  const { qtest } = session;
  const page = session.memory.allocate(0x2000);
  await qtest.memset(page.base, 0x1000, 0x01);
  // Across the page end, ending inside the next page.
  await qtest.memset(page.base + 0xff0n, 0x20, 0x5a);
  const back = await qtest.memread(page.base, 0x2000);
  const wrong = back.findIndex(
    (byte, i) => byte !== (i >= 0xff0 && i < 0x1010 ? 0x5a : i < 0x1000 ? 0x01 : 0x00),
  );
  if (wrong !== -1)
    broken(
      `memset did not fill RAM as asked: ${hex(page.base + BigInt(wrong))} reads ${hex(back[wrong]!)}`,
    );
  // Zeros over whole pages: every byte reads 0 again, the ones read just before included.
  await qtest.memset(page.base, 0x2000, 0);
  const cleared = (await qtest.memread(page.base, 0x2000)).findIndex((byte) => byte !== 0);
  if (cleared !== -1)
    broken(
      `memset of two whole pages to 0 left ${hex(page.base + BigInt(cleared))} reading a byte written before`,
    );
  const end = BigInt(session.target.ramSize);
  // At the end of RAM, and across it: no byte past the end may read back.
  await checkNothingBeyondRam(session, end, 16, 0);
  await checkNothingBeyondRam(session, end - 8n, 16, 8);
  await checkWriteAcrossRamEnd(session, end);
  await checkMemsetReachesMmio(session);
}

/**
 * A write of 16 bytes at RAM's end − 8, half RAM and half nothing: the target may refuse it,
 * but a write it answers OK has written its RAM half, as QEMU's does (address_space_write
 * drops only the bytes nothing backs).
 */
async function checkWriteAcrossRamEnd(session: Session, end: bigint): Promise<void> {
  const { qtest } = session;
  const data = Uint8Array.from({ length: 16 }, (_, i) => 0xc0 + i);
  try {
    await qtest.memwrite(end - 8n, data);
  } catch (error) {
    if (error instanceof QtestReplyError) return; // refused
    throw error;
  }
  const held = await qtest.memread(end - 8n, 8);
  if (!Buffer.from(held).equals(data.subarray(0, 8)))
    broken(
      `a write of 16 bytes at ${hex(end - 8n)}, 8 of them RAM and 8 past its end, was answered OK but left the RAM half reading ${Buffer.from(held).toString('hex')}, not ${Buffer.from(data.subarray(0, 8)).toString('hex')}: a write the target accepts writes the RAM it covers`,
    );
}

/**
 * QEMU's memset sends its bytes through the address space like any write, so it reaches
 * MMIO: a memset of edu's liveness register with 0x5a reads back the complement, 0xa5a5a5a5
 * (after a 0 written there first, which reads 0xffffffff).
 */
async function checkMemsetReachesMmio(session: Session): Promise<void> {
  const edu = session.driver.edus[0];
  if (edu === undefined) return;
  const { qtest } = session;
  const liveness = edu.device.bar(0).address(EDU_REG.liveness);
  const [, , held] = await Promise.all([
    qtest.writel(liveness, 0),
    qtest.memset(liveness, 4, 0x5a),
    qtest.readl(liveness),
  ]);
  if (held >>> 0 !== 0xa5a5_a5a5)
    broken(
      `a memset of 4 bytes of 0x5a over edu's liveness register (${hex(liveness)}) reads back ${hex(held >>> 0)}, not their complement 0xa5a5a5a5: memset reaches MMIO as any write does`,
    );
}

/**
 * memset of `length` bytes at `address`, whose bytes from `past` on lie beyond the end of RAM:
 * the target may refuse it, or write only what is RAM, but none of those bytes may read back.
 */
async function checkNothingBeyondRam(
  session: Session,
  address: bigint,
  length: number,
  past: number,
): Promise<void> {
  const { qtest } = session;
  try {
    await qtest.memset(address, length, 0x5a);
  } catch (error) {
    if (error instanceof QtestReplyError) return; // refused: nothing was written
    throw error;
  }
  let held: Uint8Array;
  try {
    held = await qtest.memread(address, length);
  } catch (error) {
    if (error instanceof QtestReplyError) return;
    throw error;
  }
  if (held.subarray(past).every((byte) => byte === 0x5a))
    broken(
      `memset of ${length} bytes at ${hex(address)} wrote bytes from ${hex(address + BigInt(past))}, the end of the ${hex(session.target.ramSize)} bytes of RAM the target declares, on that read back`,
    );
}

/**
 * `clock_step NS` moves virtual time by exactly NS, where the target accepts the command (a
 * QEMU without the qtest accelerator refuses it, and virtual time follows host time there).
 */
export async function checkClockStep(session: Session): Promise<void> {
  let first: bigint;
  try {
    first = BigInt(await session.qtest.command('clock_step 1000'));
  } catch (error) {
    if (error instanceof QtestReplyError) return;
    throw error;
  }
  const second = BigInt(await session.qtest.command('clock_step 1000'));
  if (second - first !== 1000n)
    broken(`two clock_step 1000 in a row answered ${first} and ${second}, not 1000 ns apart`);
}

// ---- edu's registers, as QEMU's edu documents them (docs/specs/edu.rst) -----------------

const EDU_STATUS_COMPUTING = 0x1;
const EDU_STATUS_IRQ_FACTORIAL = 0x80;
const EDU_IRQ_FACTORIAL = 0x1;
const EDU_IRQ_DMA = 0x100;
/** How long the checks below wait for a factorial or a transfer (edu's DMA takes 100 ms). */
const EDU_WAIT_MS = 2000;

type EduRegisters = ReturnType<DmaEndpoint['device']['bar']>;
type DmaEndpoint = Session['driver']['edus'][number];

/**
 * Every register of every edu the driver found, as QEMU's edu documents them: liveness
 * inverts, factorial computes, the interrupt status collects what is raised and drops what is
 * acknowledged, a register nobody decodes reads all-ones; below 0x80 only 4-byte accesses
 * count, and 1- and 2-byte accesses count nowhere; the DMA registers ignore writes while a
 * transfer runs, and a transfer raises the DMA interrupt exactly when its command asks for it.
 */
export async function checkEduRegisters(session: Session): Promise<void> {
  try {
    await checkEachEdu(session);
  } catch (error) {
    // edu's registers are plain memory accesses: a target that refuses one is broken.
    if (error instanceof QtestReplyError) broken(`an edu register access failed: ${error.message}`);
    throw error;
  }
}

/** Bytes of edu's configuration space that keep what is written, with their names. */
const EDU_READ_WRITE_BYTES: ReadonlyArray<[number, string]> = [
  [PCI_CACHE_LINE_SIZE, 'Cache Line Size'],
  [0xff, 'the last byte of its configuration space'],
];

async function checkEachEdu(session: Session): Promise<void> {
  for (const edu of session.driver.edus) {
    const registers = edu.device.bar(0);
    const name = `edu ${hex(edu.endpointId)}`;
    const expect = (what: string, got: number | bigint, want: number | bigint): void => {
      if (BigInt(got) !== BigInt(want))
        broken(`${name}: ${what} reads ${hex(got)}, not ${hex(want)} (QEMU's edu)`);
    };
    // Its PCI identity: IDs, revision 0x10 and class 0x00ff00, QEMU's subsystem IDs, INTA,
    // and BAR0 a 32-bit non-prefetchable memory BAR.
    const { config, address } = edu.device;
    for (const [offset, what, want] of EDU_PCI_IDENTITY)
      expect(what, (await config.read32(address, offset)) >>> 0, want);
    expect('interrupt pin', await config.read8(address, 0x3d), 1);
    expect('BAR0 type bits', (await config.read32(address, 0x10)) & 0xf, 0);
    // Plain read-write bytes (QEMU's pci_init_wmask): Cache Line Size, and the space past the
    // header where no capability sits, up to its last byte.
    for (const [offset, what] of EDU_READ_WRITE_BYTES) {
      const before = await config.read8(address, offset);
      await config.write8(address, offset, before ^ 0xff);
      expect(
        `${what} after ${hex(before ^ 0xff)} was written`,
        await config.read8(address, offset),
        before ^ 0xff,
      );
      await config.write8(address, offset, before);
    }
    await registers.write32(EDU_REG.liveness, 0x1234_5678);
    expect(
      'liveness after 0x12345678 was written',
      await registers.read32(EDU_REG.liveness),
      0xedcb_a987,
    );
    expect(
      'a register nobody decodes (0x10)',
      await registers.read32(EDU_REG.undecoded),
      0xffff_ffff,
    );
    await registers.write32(EDU_REG.factorial, 5);
    await eduWait(session, registers, EDU_REG.status, EDU_STATUS_COMPUTING, 'the factorial of 5');
    expect('factorial after 5 was written', await registers.read32(EDU_REG.factorial), 120);
    // Status bit 7 asks for the factorial interrupt (bit 0 of the interrupt status).
    for (const irq of [true, false]) {
      await registers.write32(EDU_REG.irqAck, 0xffff_ffff);
      await registers.write32(EDU_REG.status, irq ? EDU_STATUS_IRQ_FACTORIAL : 0);
      await registers.write32(EDU_REG.factorial, 4);
      await eduWait(session, registers, EDU_REG.status, EDU_STATUS_COMPUTING, 'the factorial of 4');
      expect(
        `the factorial interrupt with status bit 7 ${irq ? 'set' : 'clear'}`,
        (await registers.read32(EDU_REG.irqStatus)) & EDU_IRQ_FACTORIAL,
        irq ? EDU_IRQ_FACTORIAL : 0,
      );
    }
    // Bit 0 (computing) is edu's own: a write keeps only bit 7 (QEMU's edu ignores bit 0).
    await registers.write32(EDU_REG.status, EDU_STATUS_COMPUTING | EDU_STATUS_IRQ_FACTORIAL);
    expect(
      'status after 0x81 was written (bit 0, computing, is read-only)',
      await registers.read32(EDU_REG.status),
      EDU_STATUS_IRQ_FACTORIAL,
    );
    await registers.write32(EDU_REG.status, 0);
    await registers.write32(EDU_REG.irqAck, 0xffff_ffff);
    await registers.write32(EDU_REG.factorial, 5);
    await eduWait(session, registers, EDU_REG.status, EDU_STATUS_COMPUTING, 'the factorial of 5');
    // 8-byte accesses below 0x80 (at 8-byte aligned offsets: others are split in two).
    await registers.write64(EDU_REG.factorial, 3n);
    expect('factorial after an 8-byte write of 3', await registers.read32(EDU_REG.factorial), 120);
    expect(
      'an 8-byte read of the identification register',
      await registers.read64(0x00),
      0xffff_ffff_ffff_ffffn,
    );
    await registers.write32(EDU_REG.irqAck, 0xffff_ffff);
    await registers.write32(EDU_REG.irqRaise, 0x1234_0078);
    expect(
      'interrupt status after 0x12340078 was raised',
      await registers.read32(EDU_REG.irqStatus),
      0x1234_0078,
    );
    // INTx follows the interrupt status (no MSI here): PCI Status bit 3 shows the line.
    const intx = async (): Promise<number> =>
      (await config.read16(address, PCI_STATUS)) & PCI_STATUS_INTERRUPT;
    expect('PCI Status bit 3 (INTx) with interrupts raised', await intx(), PCI_STATUS_INTERRUPT);
    await registers.write32(EDU_REG.irqAck, 0x0000_0070);
    expect(
      'interrupt status after 0x70 was acknowledged',
      await registers.read32(EDU_REG.irqStatus),
      0x1234_0008,
    );
    expect('PCI Status bit 3 (INTx) with some still raised', await intx(), PCI_STATUS_INTERRUPT);
    await registers.write32(EDU_REG.irqAck, 0xffff_ffff);
    expect(
      'interrupt status after all was acknowledged',
      await registers.read32(EDU_REG.irqStatus),
      0,
    );
    expect('PCI Status bit 3 (INTx) after all was acknowledged', await intx(), 0);
    await registers.write32(EDU_REG.irqRaise, 0);
    expect('PCI Status bit 3 (INTx) after 0 was raised', await intx(), 0);
    await registers.write32(EDU_REG.irqRaise, 1);
    expect(
      'PCI Status bit 3 (INTx) after bit 0 alone was raised',
      await intx(),
      PCI_STATUS_INTERRUPT,
    );
    await registers.write32(EDU_REG.irqAck, 0xffff_ffff);
    // 1- and 2-byte accesses reach no edu register.
    await registers.write64(EDU_REG.dmaSource, 0x123_4560n);
    await registers.write8(EDU_REG.dmaSource, 0x11);
    await registers.write16(EDU_REG.dmaSource, 0x2222);
    await registers.write16(EDU_REG.liveness, 0x3333);
    expect(
      'the DMA source after 1- and 2-byte writes',
      await registers.read64(EDU_REG.dmaSource),
      0x123_4560n,
    );
    expect('liveness after a 2-byte write', await registers.read32(EDU_REG.liveness), 0xedcb_a987);
    expect('a 2-byte read of the DMA source', await registers.read16(EDU_REG.dmaSource), 0);
    await checkEduTransfers(session, edu, registers, expect);
  }
}

/**
 * Two transfers RAM → edu's buffer (they write no RAM; whatever the IOMMU answers, edu
 * finishes them): one that asks for the DMA interrupt, one that does not. While the first
 * runs, writes to the DMA registers are ignored.
 */
async function checkEduTransfers(
  session: Session,
  edu: DmaEndpoint,
  registers: EduRegisters,
  expect: (what: string, got: number | bigint, want: number | bigint) => void,
): Promise<void> {
  for (const irq of [true, false]) {
    // The second one's RAM address has the bit above dma_mask set: edu drops it (QEMU's
    // edu_clamp_addr) and the transfer runs like any other.
    const source = session.staging.base | (irq ? 0n : edu.dmaMask + 1n);
    const programmed = { source, destination: EDU_BUFFER_ADDRESS + 0x10n, count: 0x20n };
    await registers.write32(EDU_REG.irqAck, 0xffff_ffff);
    await registers.write64(EDU_REG.dmaSource, programmed.source);
    await registers.write64(EDU_REG.dmaDestination, programmed.destination);
    await registers.write64(EDU_REG.dmaCount, programmed.count);
    await registers.write64(EDU_REG.dmaCommand, EDU_DMA.run | (irq ? EDU_DMA.irq : 0n));
    // Writes while it runs; a command register that still shows RUN after them proves they
    // landed during the transfer (RUN only ever goes from set to clear).
    await registers.write64(EDU_REG.dmaSource, programmed.source + 0x1000n);
    await registers.write64(EDU_REG.dmaDestination, EDU_BUFFER_ADDRESS + 0x800n);
    await registers.write64(EDU_REG.dmaCount, 0x40n);
    const [command, held] = [
      await registers.read64(EDU_REG.dmaCommand),
      {
        source: await registers.read64(EDU_REG.dmaSource),
        destination: await registers.read64(EDU_REG.dmaDestination),
        count: await registers.read64(EDU_REG.dmaCount),
      },
    ];
    if ((command & EDU_DMA.run) !== 0n)
      for (const key of ['source', 'destination', 'count'] as const)
        expect(`the DMA ${key} written while a transfer runs`, held[key], programmed[key]);
    const clock = await deviceClock(session.qtest);
    await clock.stepToNextTimer();
    await eduWait(
      session,
      registers,
      EDU_REG.dmaCommand,
      Number(EDU_DMA.run),
      `a DMA transfer of ${edu.endpointId}`,
    );
    // Everything was acknowledged before: the transfer's interrupt is the only one there.
    const status = (await registers.read32(EDU_REG.irqStatus)) >>> 0;
    if (status !== (irq ? EDU_IRQ_DMA : 0))
      broken(
        `edu ${hex(edu.endpointId)}: after a finished transfer whose command ${irq ? 'set' : 'left clear'} bit 2 (raise an interrupt), the interrupt status reads ${hex(status)}, not ${irq ? 'the DMA interrupt 0x100 alone' : '0'}`,
      );
  }
  await registers.write32(EDU_REG.irqAck, 0xffff_ffff);
}

/** edu's configuration words as QEMU 7.2 gives them: offset, what, value. */
const EDU_PCI_IDENTITY: ReadonlyArray<[number, string, number]> = [
  [0x00, 'vendor and device ID', 0x11e8_1234],
  [0x08, 'revision and class code', 0x00ff_0010],
  [0x2c, 'subsystem vendor and subsystem ID', 0x1100_1af4],
];

/** CONFIG_ADDRESS (0xcf8) takes 4-byte writes only: 1- and 2-byte writes leave it as it was. */
export async function checkConfigAddressWidth(session: Session): Promise<void> {
  const { qtest } = session;
  const { address } = iommuConfig(session);
  const selected = (CONFIG_ENABLE | (address.device << 11) | (address.function << 8)) >>> 0;
  await qtest.outl(CONFIG_ADDRESS_PORT, selected);
  await qtest.outb(CONFIG_ADDRESS_PORT, 0x3c);
  await qtest.outw(CONFIG_ADDRESS_PORT, 0x3c);
  const latched = (await qtest.inl(CONFIG_ADDRESS_PORT)) >>> 0;
  if (latched !== selected)
    broken(
      `port ${hex(CONFIG_ADDRESS_PORT)} reads ${hex(latched)} after ${hex(selected)} was written to it, then 0x3c in 1 and 2 bytes: CONFIG_ADDRESS takes 4-byte writes only`,
    );
}

/** A port nobody decodes floats high: all-ones in every width (0xd00, past the PCI ports). */
export async function checkUnclaimedPort(session: Session): Promise<void> {
  const port = CONFIG_DATA_PORT + 4;
  const { qtest } = session;
  let read: number[];
  try {
    read = [await qtest.inb(port), await qtest.inw(port), (await qtest.inl(port)) >>> 0];
  } catch (error) {
    // A refused or malformed answer to a port read: the qtest layer is broken.
    if (error instanceof QtestReplyError || error instanceof QtestProtocolError)
      broken(`a read of port ${hex(port)} failed: ${error.message}`);
    throw error;
  }
  const want = [0xff, 0xffff, 0xffff_ffff];
  if (read.some((value, i) => value !== want[i]))
    broken(
      `port ${hex(port)}, which nothing decodes, reads ${read.map(hex).join(', ')} in 1, 2 and 4 bytes, not all-ones`,
    );
}

/**
 * Waits until `bits` of the 4-byte register at `offset` read clear: a timer (a transfer) or
 * QEMU's factorial thread, so with a host-time deadline where the clock is not stepped.
 */
async function eduWait(
  session: Session,
  registers: EduRegisters,
  offset: number,
  bits: number,
  what: string,
): Promise<void> {
  const clock = await deviceClock(session.qtest);
  try {
    await clock.waitForTimer(
      async () => (((await registers.read32(offset)) & bits) === 0 ? true : undefined),
      { timeoutMs: EDU_WAIT_MS, what, intervalMs: 2 },
    );
  } catch (error) {
    if (!(error instanceof PollTimeoutError)) throw error;
    broken(`edu did not finish ${what} within ${EDU_WAIT_MS} ms`);
  }
}

// ---- guest RAM through qtest's memory commands ---------------------------------------------

/** Lengths and page offsets around the 4 KiB page size. */
const RAM_LENGTHS = [1, 2, 3, 4, 8, 4095, 4096, 4097, 8191, 8192, 8193];
const RAM_OFFSETS = [0, 1, 2, 0xffc, 0xffd, 0xfff];
const RAM_SCRATCH = 0x4000;

/**
 * Writes of every length around a page, at every offset around a page end, each read back
 * with the bytes around it: a target whose RAM loses or misplaces bytes across a page
 * boundary cannot be trusted to judge DMA.
 */
export async function checkRamPages(session: Session): Promise<void> {
  const { qtest } = session;
  const scratch = session.memory.allocate(RAM_SCRATCH);
  const model = new Uint8Array(RAM_SCRATCH);
  await qtest.memset(scratch.base, RAM_SCRATCH, 0);
  let stamp = 1;
  for (const length of RAM_LENGTHS) {
    for (const offset of RAM_OFFSETS) {
      const data = Uint8Array.from({ length }, (_, i) => ((stamp * 7 + i * 13) & 0xff) | 1);
      stamp++;
      await qtest.memwrite(scratch.base + BigInt(offset), data);
      model.set(data, offset);
    }
    const back = await qtest.memread(scratch.base, RAM_SCRATCH);
    const wrong = back.findIndex((byte, i) => byte !== model[i]);
    if (wrong !== -1)
      broken(
        `after writes of ${length} bytes at page offsets ${RAM_OFFSETS.map(hex).join(', ')}, RAM at ${hex(scratch.base + BigInt(wrong))} reads ${hex(back[wrong]!)}, not the ${hex(model[wrong]!)} last written there`,
      );
  }
}

// ---- q35's reset control register ----------------------------------------------------

const HARD_RESET = 0x6;
const RESET_WAIT_MS = 2000;

/**
 * On a target that says it is q35: a write of SYS_RST | RST_CPU to 0xcf9 resets the whole
 * system, so every PCI function the suite set up (the IOMMU and each edu) reads COMMAND 0
 * again, and the register itself, SYS_RST latched before, reads 0. Leaves the system reset:
 * run it after everything that needs the set-up.
 */
export async function checkResetControlResets(session: Session): Promise<void> {
  if (session.target.chipset !== 'q35') return;
  const devices = [
    session.driver.transport.device,
    ...session.driver.edus.map((edu) => edu.device),
  ];
  // SYS_RST latched first: the reset clears the register too (QEMU's ich9_lpc_reset).
  await session.qtest.outb(RESET_CONTROL_PORT, SYS_RST);
  await session.qtest.outb(RESET_CONTROL_PORT, HARD_RESET);
  for (const device of devices) {
    const { config, address } = device;
    try {
      await pollUntil(
        async () => ((await config.read16(address, PCI_COMMAND)) === 0 ? true : undefined),
        { timeoutMs: RESET_WAIT_MS, what: 'COMMAND to read 0 after a system reset', intervalMs: 2 },
      );
    } catch (error) {
      if (!(error instanceof PollTimeoutError)) throw error;
      broken(
        `after a write of ${hex(HARD_RESET)} to q35's reset control register (port ${hex(RESET_CONTROL_PORT)}), the function at 00:${hex(address.device)}.${address.function} still reads COMMAND ${hex(await config.read16(address, PCI_COMMAND))}: a system reset resets every PCI function`,
      );
    }
  }
  const latched = await session.qtest.inb(RESET_CONTROL_PORT);
  if (latched !== 0)
    broken(
      `q35's reset control register (port ${hex(RESET_CONTROL_PORT)}) reads ${hex(latched)} after the system reset it asked for, with SYS_RST latched before: a system reset clears it`,
    );
}

// ---- virtual time -----------------------------------------------------------------------

const I64_MAX = (1n << 63n) - 1n;

/**
 * `clock_step` by the largest step there is: virtual time is a signed 64-bit count of ns
 * (QEMU_CLOCK_VIRTUAL), so it stops at 2^63 - 1 and never goes back. Leaves the clock at its
 * end: run it last.
 */
export async function checkClockLimit(session: Session): Promise<void> {
  let before: bigint;
  try {
    before = BigInt(await session.qtest.command('clock_step 0'));
  } catch (error) {
    if (error instanceof QtestReplyError) return;
    throw error;
  }
  for (const step of [I64_MAX, I64_MAX, 1n]) {
    const after = BigInt(await session.qtest.command(`clock_step ${step}`));
    if (after > I64_MAX || after < before)
      broken(
        `clock_step ${step} from ${before} answered ${after}: virtual time is a signed 64-bit count of ns, and it never goes back`,
      );
    before = after;
  }
}

// ---- the clock taken over ------------------------------------------------------------

/**
 * `clock_set` hands virtual time to the client as `clock_step` does: from then on it stands
 * still between commands, so a `clock_step 0` right after a `clock_set` to the past (which
 * moves nothing) answers the very same time. Then time never goes back: after a
 * `clock_step 1000`, a `clock_set 0` answers the time that step reached. Run it before
 * anything steps the clock: once stepped, time stands still whatever `clock_set` does.
 */
export async function checkClockSetTakesOver(session: Session): Promise<void> {
  const { qtest } = session;
  let set: bigint;
  let step: bigint;
  let stepped: bigint;
  let back: bigint;
  try {
    [set, step, stepped, back] = (
      await Promise.all(
        ['clock_set 0', 'clock_step 0', 'clock_step 1000', 'clock_set 0'].map((line) =>
          qtest.command(line),
        ),
      )
    ).map((reply) => BigInt(reply)) as [bigint, bigint, bigint, bigint];
  } catch (error) {
    if (error instanceof QtestReplyError) return; // no qtest accelerator: no clock to take
    throw error;
  }
  if (step !== set)
    broken(
      `clock_set 0 answered ${set} and the clock_step 0 right after it ${step}: after clock_set, virtual time stands still between commands`,
    );
  if (back !== stepped)
    broken(
      `clock_step 1000 answered ${stepped} and the clock_set 0 after it ${back}: a clock_set to the past moves nothing, virtual time never goes back`,
    );
}

// ---- edu's DMA gates: dma_mask and bus mastering ----------------------------------------

/** The RAM-side offsets in the staging page the gate checks write to. */
const MASKED_OFFSET = 0x100n;
const UNMASTERED_OFFSET = 0x200n;
const GATE_LENGTH = 16;

/**
 * @ep attached with the staging page mapped: edu's buffer → RAM transfers (1) to an address
 * with the bit above dma_mask set land where the address without it points (QEMU's
 * edu_clamp_addr), and (2) with bus mastering off (COMMAND bit 2 clear) land nowhere. Each
 * transfer is run by one `clock_step` without NS, which jumps to edu's timer: the first look
 * after it finds the transfer done.
 */
export async function checkEduDmaGates(session: Session): Promise<void> {
  const { edu, domain } = await startWithEndpointAttached(session);
  const staging = await mapStaging(session, domain);
  const { qtest } = session;
  const pattern = Uint8Array.from({ length: GATE_LENGTH }, (_, i) => 0xa0 + i);
  await edu.loadBuffer(pattern, staging);
  await qtest.memset(staging.phys + MASKED_OFFSET, 0x200, 0);
  const masked = staging.iova + MASKED_OFFSET;
  if ((masked & ~edu.dmaMask) === 0n) {
    const above = masked | (edu.dmaMask + 1n);
    await runBufferToRam(session, edu, above);
    const landed = await qtest.memread(staging.phys + MASKED_OFFSET, GATE_LENGTH);
    if (!Buffer.from(landed).equals(pattern))
      broken(
        `edu ${hex(edu.endpointId)}: a transfer from its buffer to ${hex(above)}, whose bit above dma_mask ${hex(edu.dmaMask)} edu drops, left ${Buffer.from(landed).toString('hex')} at the mapped ${hex(masked)}, not the ${Buffer.from(pattern).toString('hex')} it carried`,
      );
  }
  const { config, address } = edu.device;
  const command = await config.read16(address, PCI_COMMAND);
  await config.write16(address, PCI_COMMAND, command & ~PCI_COMMAND_MASTER);
  await runBufferToRam(session, edu, staging.iova + UNMASTERED_OFFSET);
  await config.write16(address, PCI_COMMAND, command);
  const stray = await qtest.memread(staging.phys + UNMASTERED_OFFSET, GATE_LENGTH);
  if (stray.some((byte) => byte !== 0))
    broken(
      `edu ${hex(edu.endpointId)}: with bus mastering off (COMMAND bit 2 clear), a transfer from its buffer to the mapped ${hex(staging.iova + UNMASTERED_OFFSET)} wrote ${Buffer.from(stray).toString('hex')} there: a function that may not master the bus issues no DMA`,
    );
}

/** edu copies GATE_LENGTH bytes of its buffer to RAM-side address `destination`. */
async function runBufferToRam(
  session: Session,
  edu: DmaEndpoint,
  destination: bigint,
): Promise<void> {
  const registers = edu.device.bar(0);
  const clock = await deviceClock(session.qtest);
  const [, , , , stepped, firstLook] = await Promise.all([
    registers.write64(EDU_REG.dmaSource, EDU_BUFFER_ADDRESS),
    registers.write64(EDU_REG.dmaDestination, destination),
    registers.write64(EDU_REG.dmaCount, BigInt(GATE_LENGTH)),
    registers.write64(EDU_REG.dmaCommand, EDU_DMA.run | EDU_DMA.toRam),
    clock.stepToNextTimer(),
    registers.read64(EDU_REG.dmaCommand),
  ]);
  if (stepped !== undefined && (firstLook & EDU_DMA.run) !== 0n)
    broken(
      `edu ${hex(edu.endpointId)}: a transfer still runs after a clock_step without NS (virtual time ${stepped} ns): clock_step without NS jumps to the next timer, edu's`,
    );
  await eduWait(
    session,
    registers,
    EDU_REG.dmaCommand,
    Number(EDU_DMA.run),
    `a DMA transfer of ${edu.endpointId}`,
  );
}

// ---- qtest accesses at the end of RAM ----------------------------------------------------

/**
 * qtest's memory commands where RAM ends, with edu's BAR0 placed right there for a moment:
 * an access that nothing backs is answered (any value, or a FAIL that names the range, never
 * the server's own internal error), and an access across RAM's end into the BAR reaches both
 * (RAM's bytes, then edu's identification register). The write across it is 16 bytes: 4 of
 * RAM, then 8 that are one 8-byte access at edu's 0x00 (which edu ignores below 0x80), then 4
 * that write the value 5 into its factorial register at 0x08, so every piece must carry its own bytes: the factorial
 * (1 before) reads 120 after. BAR0 goes back where it was.
 */
export async function checkAccessesAtRamEnd(session: Session): Promise<void> {
  const edu = session.driver.edus[0];
  const bar = edu?.device.assigned.get(0);
  if (edu === undefined || bar === undefined) return;
  const end = BigInt(session.target.ramSize);
  if (end % bar.size !== 0n || end + bar.size > 0x1_0000_0000n) return;
  const { qtest } = session;
  await expectAnswered(`readl ${hex(end)}`, end, () => qtest.readl(end));
  await expectAnswered(`writel ${hex(end)}`, end, () => qtest.writel(end, 0x5a5a_5a5a));
  const { config, address } = edu.device;
  const barOffset = 0x10 + 4 * bar.index;
  const tail = Uint8Array.of(0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88);
  const factorialOf5 = Uint8Array.of(0x99, 0xaa, 0xbb, 0xcc, 0x05, 0x00, 0x00, 0x00);
  const registers = edu.device.bar(0);
  await registers.write32(EDU_REG.factorial, 1);
  await eduWait(session, registers, EDU_REG.status, EDU_STATUS_COMPUTING, 'the factorial of 1');
  let across: Uint8Array;
  await config.write32(address, barOffset, Number(end));
  try {
    await qtest.memwrite(end - 4n, Uint8Array.of(...tail, ...factorialOf5));
    across = await qtest.memread(end - 4n, 8);
  } catch (error) {
    if (error instanceof QtestReplyError)
      broken(`with edu's BAR0 at the end of RAM (${hex(end)}), ${error.message}`);
    throw error;
  } finally {
    await config.write32(address, barOffset, Number(bar.base));
  }
  const want = Uint8Array.of(0x11, 0x22, 0x33, 0x44, 0xed, 0x00, 0x00, 0x01);
  if (!Buffer.from(across).equals(want))
    broken(
      `with edu's BAR0 placed at the end of RAM (${hex(end)}), 8 bytes written then read at ${hex(end - 4n)} read ${Buffer.from(across).toString('hex')}, not the 4 RAM bytes written (11223344) and then edu's identification register (ed000001)`,
    );
  await eduWait(session, registers, EDU_REG.status, EDU_STATUS_COMPUTING, 'the factorial of 5');
  const factorial = (await registers.read32(EDU_REG.factorial)) >>> 0;
  if (factorial !== 120)
    broken(
      `with edu's BAR0 placed at the end of RAM (${hex(end)}), a 16-byte write at ${hex(end - 4n)} whose last 4 bytes write 5 into edu's factorial register (0x08) left it reading ${hex(factorial)}, not 5! = 0x78: a write across RAM's end must carry every piece's own bytes`,
    );
}

/** A qtest memory command on `address` that nothing backs: answered, or refused naming it. */
async function expectAnswered(
  what: string,
  address: bigint,
  access: () => Promise<unknown>,
): Promise<void> {
  try {
    await access();
  } catch (error) {
    if (!(error instanceof QtestReplyError)) throw error;
    if (!error.reply.toLowerCase().includes(hex(address).toLowerCase()))
      broken(
        `${what}, where nothing is backed, was refused with "${error.reply}", which does not name the address: a target answers it, or refuses it naming the range`,
      );
  }
}
