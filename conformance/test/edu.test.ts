import assert from 'node:assert/strict';
import { EduDevice, EDU_BUFFER_USABLE } from '../edu/edu.js';
import { GuestMemory, suiteRegion } from '../memory/guest-memory.js';
import { PciBus } from '../pci/bus.js';
import { deviceClock } from '../qtest/device-clock.js';
import { QEMU_RAM_SIZE } from '../targets/qemu.js';
import { qemuPerTest } from './support/qemu-per-test.js';

// Before any driver touches virtio-iommu, QEMU keeps endpoints in bypass (its boot-bypass
// default), so here an IOVA is a guest-physical address and any page can be staging.
describe('edu DMA endpoint (real QEMU, IOMMU in boot bypass)', () => {
  const qemu = qemuPerTest();
  let edu: EduDevice;
  let memory: GuestMemory;

  beforeEach(async () => {
    edu = await EduDevice.open(new PciBus(qemu.qtest));
    memory = new GuestMemory(suiteRegion(QEMU_RAM_SIZE));
  });

  function identityPage(): { iova: bigint; phys: bigint; size: number } {
    const page = memory.allocate(0x1000);
    return { iova: page.base, phys: page.base, size: page.size };
  }

  it('is found at 00:02.0 with its ID register and requester ID', async () => {
    assert.equal(await edu.readId(), 0x0100_00ed);
    assert.equal(edu.endpointId, 0x10);
  });

  it('writes and reads guest memory by DMA through its buffer', async () => {
    const staging = identityPage();
    const destination = memory.allocate(0x1000).base;
    const pattern = Uint8Array.from({ length: 200 }, (_, i) => (i * 13 + 1) & 0xff);
    await qemu.qtest.memset(destination, 0x1000, 0);

    await edu.dmaWrite(destination, pattern, staging);
    assert.deepEqual(await qemu.qtest.memread(destination, 200), pattern);
    assert.equal(await qemu.qtest.readb(destination + 200n), 0, 'nothing past the transfer');

    const source = memory.allocate(0x1000).base;
    const other = pattern.map((byte) => byte ^ 0xff);
    await qemu.qtest.memwrite(source, other);
    assert.deepEqual(await edu.dmaRead(source, 200, staging), other);
  });

  it('uses the buffer offset on both sides of a transfer', async () => {
    const staging = identityPage();
    await edu.loadBuffer(Uint8Array.of(1, 2, 3, 4), staging, EDU_BUFFER_USABLE - 4);
    assert.deepEqual([...(await edu.readBuffer(4, staging, EDU_BUFFER_USABLE - 4))], [1, 2, 3, 4]);
  });

  it('refuses transfers edu would abort QEMU on or silently truncate', async () => {
    const staging = identityPage();
    await assert.rejects(
      edu.toDevice(0x10_0000n, 8, EDU_BUFFER_USABLE - 4),
      /8 bytes at buffer offset 4091 do not fit the 4095 usable bytes of its buffer/,
    );
    await assert.rejects(edu.fromDevice(0x10_0000n, 0), /do not fit/);
    await assert.rejects(edu.fromDevice(0x1000_0000n, 4), /beyond dma_mask 0xfffffff/);
    await assert.rejects(edu.dmaRead(0x10_0000n, 0x1000, staging), /do not fit/);
    await assert.rejects(
      edu.loadBuffer(new Uint8Array(16), { ...staging, size: 8 }),
      /16 bytes do not fit the 8-byte staging page/,
    );
    assert.equal(await edu.readId(), 0x0100_00ed, 'QEMU is still alive');
  });

  it('refuses to start a transfer while one is running', async () => {
    const registers = edu.device.bar(0);
    await deviceClock(edu.device.config.qtest); // known, so the transfer below does not wait for it
    // RAM 0x0 → buffer 0x40000, 4 bytes, started behind the driver's back in the same
    // pipeline as the driver's first look: QEMU's virtual time skips to the transfer's end
    // as soon as it idles (-icount sleep=off), not while it works through one pipeline.
    const started = Promise.all([
      registers.write64(0x80, 0n),
      registers.write64(0x88, 0x40000n),
      registers.write64(0x90, 4n),
      registers.write64(0x98, 1n),
    ]);
    await assert.rejects(
      edu.toDevice(0x10_0000n, 4),
      /a DMA transfer was still running when this one was programmed/,
    );
    await started;
  });
});
