import assert from 'node:assert/strict';
import { EDU_BAR, EDU_SLOT, IOMMU_SLOT, TestDriver, VIRTIO_BAR } from './support/driver.js';

describe('PCI host and functions', () => {
  let d: TestDriver;
  beforeEach(() => {
    d = new TestDriver();
  });

  it('enumerates bus 0: the q35 host bridge at 00:00.0, virtio-iommu at 00:01.0, edu at 00:02.0, nothing else', () => {
    const found: string[] = [];
    for (let slot = 0; slot < 32; slot++) {
      for (let fn = 0; fn < 8; fn++) {
        d.ok(`outl 0xcf8 ${0x80000000 | (slot << 11) | (fn << 8)}`);
        const id = Number(d.value('inl 0xcfc'));
        if (id !== 0xffffffff) found.push(`${slot}.${fn} ${id.toString(16)}`);
      }
    }
    assert.deepEqual(found, ['0.0 29c08086', '1.0 10571af4', '2.0 11e81234']);
    d.ok(`outl 0xcf8 ${0x80010000 | (1 << 11)}`);
    assert.equal(d.cmd('inl 0xcfc'), 'OK 0xffffffff', 'bus 1 is empty');
  });

  it('presents the virtio function as QEMU does: class, revision, subsystem, interrupt pin', () => {
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x08), 0x00ff0001);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x2c), 0x11001af4);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x34, 1), 0x84);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x3d, 1), 1);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x06, 2), 0x10, 'capability list');
    assert.equal(d.cfgRead(EDU_SLOT, 0x08), 0x00ff0010);
  });

  it('sizes a 64-bit prefetchable BAR: all-ones reads back the size mask', () => {
    d.cfgWrite(IOMMU_SLOT, 0x20, 4, 0xffffffff);
    d.cfgWrite(IOMMU_SLOT, 0x24, 4, 0xffffffff);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x20), 0xffffc00c, '16 KiB, 64-bit, prefetchable');
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x24), 0xffffffff);
    d.cfgWrite(EDU_SLOT, 0x10, 4, 0xffffffff);
    assert.equal(d.cfgRead(EDU_SLOT, 0x10), 0xfff00000, '1 MiB, 32-bit');
    for (const offset of [0x10, 0x14, 0x18, 0x1c, 0x30]) {
      d.cfgWrite(IOMMU_SLOT, offset, 4, 0xffffffff);
      assert.equal(d.cfgRead(IOMMU_SLOT, offset), 0, `no BAR at 0x${offset.toString(16)}`);
    }
  });

  it('maps BARs only while memory space decoding is on, where the driver put them', () => {
    d.cfgWrite(IOMMU_SLOT, 0x20, 4, 0x0);
    d.cfgWrite(IOMMU_SLOT, 0x24, 4, 0x1);
    d.cfgWrite(IOMMU_SLOT, 0x04, 2, 0x2);
    assert.equal(
      d.cmd('readl 0x100000000'),
      'OK 0x0000000000000000',
      'device_feature_select above 4 GiB',
    );
    assert.equal(d.cmd('readw 0x100000012'), 'OK 0x0000000000000002', 'num_queues');
    assert.match(d.cmd('readl 0x100004000'), /^FAIL/, 'past the 16 KiB BAR');
    d.cfgWrite(IOMMU_SLOT, 0x24, 4, 0x2);
    assert.match(d.cmd('readw 0x100000012'), /^FAIL Guest-physical range/, 'the BAR moved away');
    assert.equal(d.cmd('readw 0x200000012'), 'OK 0x0000000000000002', 'to where it moved');
    d.cfgWrite(IOMMU_SLOT, 0x24, 4, 0x1);
    d.cfgWrite(IOMMU_SLOT, 0x04, 2, 0x0);
    assert.match(d.cmd('readw 0x100000012'), /^FAIL Guest-physical range/, 'decoding off');
  });

  it('keeps RAM in front of a BAR placed over it', () => {
    d.ok('writel 0x8000000 0x55aa55aa');
    d.cfgWrite(EDU_SLOT, 0x10, 4, 0x8000000);
    d.cfgWrite(EDU_SLOT, 0x04, 2, 0x2);
    assert.equal(d.cmd('readl 0x8000000'), 'OK 0x0000000055aa55aa');
  });

  it('writes only the writable header bits (COMMAND mask 0x0507, IDs read-only)', () => {
    d.cfgWrite(IOMMU_SLOT, 0x04, 2, 0xffff);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x04, 2), 0x0507);
    d.cfgWrite(IOMMU_SLOT, 0x00, 4, 0);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x00), 0x10571af4);
    d.cfgWrite(IOMMU_SLOT, 0x3c, 1, 0x0b);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x3c, 2), 0x010b, 'interrupt line is writable, pin is not');
  });

  it('decodes 0xcf8 like q35: only 4-byte writes latch, reads return the latch, low bits select bytes', () => {
    d.ok(`outl 0xcf8 ${0x80000000 | (IOMMU_SLOT << 11)}`);
    d.ok('outb 0xcf8 0x10');
    assert.equal(d.cmd('inl 0xcf8'), 'OK 0x80000800');
    assert.equal(d.cmd('inw 0xcfa'), 'OK 0x0800');
    assert.equal(d.cmd('inb 0xcfd'), 'OK 0x001a');
    assert.equal(d.cmd('inw 0xcfe'), 'OK 0x1057');
    d.ok(`outl 0xcf8 ${0x80000001 | (IOMMU_SLOT << 11)}`);
    assert.equal(d.cmd('inl 0xcfc'), 'OK 0x10571a', 'a 4-byte read from offset 1 (COMMAND is 0)');
    d.ok(`outl 0xcf8 ${0x800000fc | (IOMMU_SLOT << 11)}`);
    assert.equal(d.cmd('inl 0xcfe'), 'OK 0x0000', 'bytes past offset 0xff read as 0');
    d.ok('outl 0xcf8 0x00000800');
    assert.equal(d.cmd('inl 0xcfc'), 'OK 0xffffffff', 'enable bit clear');
  });

  it('walks the virtio capability list in QEMU order', () => {
    const caps: string[] = [];
    for (let at = d.cfgRead(IOMMU_SLOT, 0x34, 1); at !== 0; at = d.cfgRead(IOMMU_SLOT, at + 1, 1)) {
      const type = d.cfgRead(IOMMU_SLOT, at + 3, 1);
      const bar = d.cfgRead(IOMMU_SLOT, at + 4, 1);
      const offset = d.cfgRead(IOMMU_SLOT, at + 8);
      const length = d.cfgRead(IOMMU_SLOT, at + 12);
      caps.push(
        `0x${at.toString(16)} type ${type} bar ${bar} 0x${offset.toString(16)}+0x${length.toString(16)}`,
      );
    }
    assert.deepEqual(caps, [
      '0x84 type 5 bar 0 0x0+0x0',
      '0x70 type 2 bar 4 0x3000+0x1000',
      '0x60 type 4 bar 4 0x2000+0x1000',
      '0x50 type 3 bar 4 0x1000+0x1000',
      '0x40 type 1 bar 4 0x0+0x1000',
    ]);
    assert.equal(d.cfgRead(IOMMU_SLOT, 0x80), 4, 'notify_off_multiplier');
  });

  it('reaches the BAR through VIRTIO_PCI_CAP_PCI_CFG even with decoding off', () => {
    const cfgCap = 0x84;
    d.cfgWrite(IOMMU_SLOT, cfgCap + 4, 1, 4);
    d.cfgWrite(IOMMU_SLOT, cfgCap + 8, 4, 0x12);
    d.cfgWrite(IOMMU_SLOT, cfgCap + 12, 4, 2);
    assert.equal(d.cfgRead(IOMMU_SLOT, cfgCap + 16, 2), 2, 'num_queues through the window');
    d.cfgWrite(IOMMU_SLOT, cfgCap + 8, 4, 0x16);
    d.cfgWrite(IOMMU_SLOT, cfgCap + 16, 2, 1);
    d.cfgWrite(IOMMU_SLOT, cfgCap + 8, 4, 0x1e);
    assert.equal(
      d.cfgRead(IOMMU_SLOT, cfgCap + 16, 2),
      1,
      'queue_notify_off of the selected queue 1',
    );
    d.cfgWrite(IOMMU_SLOT, cfgCap + 12, 4, 3);
    d.cfgRead(IOMMU_SLOT, cfgCap + 16, 2);
    assert.match(d.findingMessages().at(-1)!, /PCI_CFG read with bar 4, offset 30, length 3/);
  });

  it('maps the BARs the test driver assigns', () => {
    d.assignBars();
    const bases = d.board.pci.mappedRegions().map((r) => r.base);
    assert.deepEqual(bases, [VIRTIO_BAR, EDU_BAR]);
  });
});
