import assert from 'node:assert/strict';
import {
  BarSizingError,
  Q35_MMIO_WINDOW_32,
  Q35_MMIO_WINDOW_64,
  sizeBars,
  MmioAllocator,
} from '../pci/bars.js';
import { PciBus } from '../pci/bus.js';
import { PCI_CAP_ID_VNDR } from '../pci/capabilities.js';
import {
  PCI_BAR0,
  PCI_COMMAND,
  formatPciAddress,
  requesterId,
  type PciConfig,
} from '../pci/config.js';
import { PLATFORM_BROKEN, PlatformBrokenError } from '../pci/platform-broken.js';
import { checkPlatformBars } from '../pci/platform-functions.js';
import { qemuPerTest } from './support/qemu-per-test.js';

describe('PCI (real QEMU q35)', () => {
  const qemu = qemuPerTest();
  let bus: PciBus;

  beforeEach(async () => {
    bus = new PciBus(qemu.qtest);
  });

  it('enumerates bus 0: host bridge, virtio-iommu, edu and the multi-function LPC device', async () => {
    const functions = await bus.enumerate();
    assert.deepEqual(
      functions.map((fn) => [
        formatPciAddress(fn.address),
        fn.vendorId.toString(16),
        fn.deviceId.toString(16),
        fn.classCode.toString(16).padStart(6, '0'),
        fn.multiFunction,
      ]),
      [
        ['00:00.0', '8086', '29c0', '060000', false],
        ['00:01.0', '1af4', '1057', '00ff00', false],
        ['00:02.0', '1234', '11e8', '00ff00', false],
        ['00:1f.0', '8086', '2918', '060100', true],
        ['00:1f.2', '8086', '2922', '010601', true],
        ['00:1f.3', '8086', '2930', '0c0500', true],
      ],
    );
    assert.ok(functions.every((fn) => fn.headerType === 0));
    assert.equal(functions[1]!.revision, 1); // modern virtio devices have revision >= 1
  });

  it('sets several functions up side by side, their BARs placed in the order given', async () => {
    const iommu = await bus.find(0x1af4, 0x1057);
    const edu = await bus.find(0x1234, 0x11e8);
    const [first, second] = await bus.setUpAll([edu, iommu]);
    // edu's 1 MiB BAR0 first, at the window's start; then the IOMMU's 16 KiB BAR4 after it.
    assert.equal(first!.assigned.get(0)!.base, Q35_MMIO_WINDOW_32.start);
    assert.equal(second!.assigned.get(4)!.base, Q35_MMIO_WINDOW_32.start + 0x10_0000n);
    // Both decode: edu's identification register, the IOMMU's BAR4 written where it was placed.
    assert.equal(await first!.bar(0).read32(0), 0x010000ed);
    const bar4 = await bus.config.read32(iommu.address, PCI_BAR0 + 16);
    assert.equal(BigInt((bar4 & ~0xf) >>> 0), Q35_MMIO_WINDOW_32.start + 0x10_0000n);
    assert.equal((await bus.config.read16(iommu.address, PCI_COMMAND)) & 0x6, 0x6);
  });

  it('finds a function by ID, or says what it found instead', async () => {
    const edu = await bus.find(0x1234, 0x11e8);
    assert.deepEqual(edu.address, { bus: 0, device: 2, function: 0 });
    assert.equal(requesterId(edu.address), 0x10);
    await assert.rejects(
      bus.find(0x1af4, 0x1041),
      /no PCI function 1af4:1041 on bus 0 \(found: 00:00.0 8086:29c0, 00:01.0 1af4:1057, /,
    );
  });

  it('sizes 32-bit, 64-bit and I/O BARs and restores them', async () => {
    const functions = await bus.enumerate();
    const at = (device: number, fn = 0) =>
      functions.find((f) => f.address.device === device && f.address.function === fn)!.address;
    assert.deepEqual(await sizeBars(bus.config, at(1)), [
      { index: 4, kind: 'memory64', prefetchable: true, size: 0x4000n },
    ]);
    assert.deepEqual(await sizeBars(bus.config, at(2)), [
      { index: 0, kind: 'memory32', prefetchable: false, size: 0x10_0000n },
    ]);
    assert.deepEqual(await sizeBars(bus.config, at(0x1f, 2)), [
      { index: 4, kind: 'io', prefetchable: false, size: 0x20n },
      { index: 5, kind: 'memory32', prefetchable: false, size: 0x1000n },
    ]);
    // Unassigned BARs read back as they were: zero address bits.
    assert.equal((await bus.config.read32(at(2), PCI_BAR0)) & ~0xf, 0);
    // Setting the function up places its memory BAR only, and puts back its I/O BAR as it
    // was; I/O decoding stays off.
    const ioBar = PCI_BAR0 + 16;
    const ioBefore = await bus.config.read32(at(0x1f, 2), ioBar);
    const ahci = await bus.setUp(functions.find((f) => f.deviceId === 0x2922)!);
    assert.equal(await bus.config.read32(at(0x1f, 2), ioBar), ioBefore);
    assert.deepEqual(
      ahci.bars.map((bar) => bar.kind),
      ['io', 'memory32'],
    );
    assert.deepEqual([...ahci.assigned.keys()], [5]);
    assert.equal((await bus.config.read16(ahci.address, PCI_COMMAND)) & 0x7, 0x6);
  });

  it('places BARs in the MMIO window, enables memory and bus mastering, and MMIO works', async () => {
    const virtio = await bus.open(0x1af4, 0x1057);
    const edu = await bus.open(0x1234, 0x11e8);
    const virtioBar = virtio.assigned.get(4)!;
    const eduBar = edu.assigned.get(0)!;
    for (const bar of [virtioBar, eduBar]) {
      assert.ok(
        bar.base >= Q35_MMIO_WINDOW_32.start && bar.base + bar.size <= Q35_MMIO_WINDOW_32.end,
      );
      assert.equal(bar.base % bar.size, 0n);
    }
    assert.ok(
      virtioBar.base + virtioBar.size <= eduBar.base || eduBar.base + eduBar.size <= virtioBar.base,
    );
    const bar4 = PCI_BAR0 + 16;
    assert.equal(
      ((await bus.config.read32(virtio.address, bar4)) & ~0xf) >>> 0,
      Number(virtioBar.base),
    );
    assert.equal(await bus.config.read32(virtio.address, bar4 + 4), 0);
    for (const device of [virtio, edu]) {
      assert.equal((await bus.config.read16(device.address, PCI_COMMAND)) & 0x7, 0x6);
    }
    assert.equal(await edu.bar(0).read32(0), 0x0100_00ed); // edu's ID register
    assert.throws(() => edu.bar(1), /00:02.0: BAR1 is not an assigned memory BAR/);
    await assert.rejects(edu.bar(0).read32(0x10_0000), /outside its 0x100000 bytes/);
  });

  it('places 64-bit BARs above 4 GiB when given a 64-bit window', async () => {
    bus = new PciBus(qemu.qtest, { mmio64: Q35_MMIO_WINDOW_64 });
    const virtio = await bus.open(0x1af4, 0x1057);
    const bar = virtio.assigned.get(4)!;
    assert.equal(bar.base, Q35_MMIO_WINDOW_64.start);
    assert.equal(await bus.config.read32(virtio.address, PCI_BAR0 + 20), 0x80);
    // virtio common config (offset 0 of BAR4 on QEMU): num_queues at 0x12 is 2 for virtio-iommu.
    assert.equal(await virtio.bar(4).read16(0x12), 2);
  });

  it('walks the capability list', async () => {
    const virtio = await bus.open(0x1af4, 0x1057);
    const caps = await virtio.capabilities();
    assert.deepEqual(
      caps.map((cap) => cap.offset),
      [0x84, 0x70, 0x60, 0x50, 0x40],
    );
    assert.ok(caps.every((cap) => cap.id === PCI_CAP_ID_VNDR));
    const edu = await bus.open(0x1234, 0x11e8);
    assert.deepEqual(
      (await edu.capabilities()).map((cap) => cap.id),
      [0x05], // MSI
    );
  });

  it('refuses config accesses outside the function or misaligned', async () => {
    const host = { bus: 0, device: 0, function: 0 };
    await assert.rejects(bus.config.read32(host, 0x102), /invalid 4-byte config offset 0x102/);
    await assert.rejects(bus.config.read16(host, 0x3), /invalid 2-byte config offset 0x3/);
    await assert.rejects(
      bus.config.read8({ bus: 0, device: 32, function: 0 }, 0),
      /invalid PCI address/,
    );
    assert.equal(await bus.config.read16(host, 0), 0x8086);
  });
});

describe('MMIO allocator', () => {
  it('aligns naturally, to at least a page, and stops at the window end', () => {
    const allocator = new MmioAllocator({ start: 0x1000_0800n, end: 0x1001_0000n });
    assert.equal(allocator.allocate(0x100n), 0x1000_1000n);
    assert.equal(allocator.allocate(0x4000n), 0x1000_4000n);
    assert.equal(allocator.allocate(0x1000n), 0x1000_8000n);
    assert.throws(() => allocator.allocate(0x3000n), /not a power of two/);
    assert.throws(() => allocator.allocate(0x1_0000n), /no room for 0x10000 bytes/);
  });
});

/**
 * Configuration space of one function whose BARs hold `bars` (register index → value) and
 * answer an all-ones write with `afterOnes(index)`, as a broken device might.
 */
function fakeBars(
  bars: Record<number, number>,
  afterOnes: (index: number) => number | undefined,
): PciConfig {
  const values = new Map<number, number>();
  const config = {
    read32: async (_address: unknown, offset: number) => values.get(offset) ?? 0,
    write32: async (_address: unknown, offset: number, value: number) => {
      const index = (offset - PCI_BAR0) / 4;
      values.set(offset, value === 0xffffffff ? (afterOnes(index) ?? value) : value);
    },
  };
  for (const [index, value] of Object.entries(bars))
    values.set(PCI_BAR0 + 4 * Number(index), value);
  return config as unknown as PciConfig;
}

describe('BAR sizing of a function that breaks the PCI rules', () => {
  const at = { bus: 0, device: 1, function: 0 };

  it('sizes a 64-bit BAR whose address bits are ones from the top down to its size', async () => {
    const config = fakeBars({ 4: 0xc }, (i) => (i === 4 ? 0xffff_c00c : i === 5 ? 0xffff_ffff : 0));
    assert.deepEqual(await sizeBars(config, at), [
      { index: 4, kind: 'memory64', prefetchable: true, size: 0x4000n },
    ]);
  });

  it('refuses a memory BAR that ignores the all-ones write (no writable address bit)', async () => {
    const ignoring = fakeBars({ 4: 0xc, 0: 0x0 }, (i) => (i === 4 ? 0xc : 0));
    await assert.rejects(sizeBars(ignoring, at), (error: unknown) => {
      assert.ok(error instanceof BarSizingError);
      assert.match(
        error.message,
        /00:01\.0: BAR4 is a memory BAR whose address bits read back 0x0/,
      );
      return true;
    });
    const absent = fakeBars({ 0: 0x0 }, (i) => (i === 0 ? 0x0 : 0));
    assert.deepEqual(await sizeBars(absent, at), [], 'a BAR reading 0 either way is not there');
    const flagsOnly = fakeBars({ 0: 0x8 }, (i) => (i === 0 ? 0x8 : 0));
    await assert.rejects(sizeBars(flagsOnly, at), BarSizingError);
  });

  it('refuses a memory BAR whose address bits have a gap', async () => {
    const gap = fakeBars({ 0: 0x0 }, (i) => (i === 0 ? 0x10571af4 & ~0xf : 0));
    await assert.rejects(sizeBars(gap, at), BarSizingError);
  });

  it('refuses a memory BAR whose type bits 0-3 change when all ones are written', async () => {
    const writable = fakeBars({ 0: 0x0 }, (i) => (i === 0 ? 0xfff0_0001 : 0));
    await assert.rejects(sizeBars(writable, at), (error: unknown) => {
      assert.ok(error instanceof BarSizingError);
      assert.match(error.message, /BAR0 reads back 0xfff00001 .* type bits 0-3 read 0x0 before/);
      return true;
    });
  });
});

describe("the platform's functions' BARs", () => {
  const edu = {
    address: { bus: 0, device: 2, function: 0 },
    vendorId: 0x1234,
    deviceId: 0x11e8,
    revision: 0x10,
    classCode: 0x00ff00,
    headerType: 0,
    multiFunction: false,
  };
  const bar0 = { index: 0, kind: 'memory32', prefetchable: false, size: 0x10_0000n } as const;

  it("takes edu's BAR0 of 1 MiB, and any BARs of a function it does not know", () => {
    checkPlatformBars(edu, [bar0]);
    checkPlatformBars({ ...edu, vendorId: 0x1af4, deviceId: 0x1057 }, []);
  });

  it('refuses edu with a BAR0 of another size, or none: a broken platform', () => {
    for (const bars of [[{ ...bar0, size: 0x20_0000n }], [{ ...bar0, size: 0x10n }], []])
      assert.throws(
        () => checkPlatformBars(edu, bars),
        (error: unknown) =>
          error instanceof PlatformBrokenError &&
          error.message.startsWith(PLATFORM_BROKEN) &&
          /edu 00:02\.0: BAR0 sizes as/.test(error.message),
      );
  });
});
