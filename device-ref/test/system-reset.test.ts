// The q35 chipset of a board: QEMU's host bridge at 00:00.0 and the reset control register
// at port 0xcf9, whose RST_CPU bit resets the whole system (what a system reset keeps and
// what it resets was measured on QEMU 7.2; qemu-compare.test.ts holds the byte comparison).

import assert from 'node:assert/strict';
import {
  VIRTIO_IOMMU_FAULT_R_MAPPING,
  VIRTIO_IOMMU_S_OK,
  decodeFault,
} from '../../dist/ts/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBoardDescription } from '../board/description.js';
import { findPackageRoot } from '../package-root.js';
import {
  ALL,
  EDU_BAR,
  EDU_ENDPOINT,
  IOMMU_SLOT,
  iommuConfigAddress,
  IommuBoardDriver,
  VIRTIO_BAR,
} from './support/iommu-board-driver.js';
import { CC } from './support/driver.js';

const BYPASS = iommuConfigAddress('bypass');
const STATUS = VIRTIO_BAR + BigInt(CC.device_status);
const cfgAddress = (slot: number, offset: number) =>
  `outl 0xcf8 ${0x8000_0000 | (slot << 11) | offset}`;

function configRead(d: IommuBoardDriver, slot: number, offset: number): string {
  d.line(cfgAddress(slot, offset));
  return d.line('inl 0xcfc');
}

describe('the q35 chipset: host bridge and reset control', () => {
  it('puts the host bridge at 00:00.0 on boards with chipset q35 only', () => {
    const q35 = new IommuBoardDriver('q35');
    assert.equal(configRead(q35, 0, 0x00), 'OK 0x29c08086');
    assert.equal(configRead(q35, 0, 0x08), 'OK 0x6000000');
    assert.equal(configRead(q35, 0, 0x60), 'OK 0xb0000000');
    const arm = new IommuBoardDriver('arm64-virt');
    assert.equal(configRead(arm, 0, 0x00), 'OK 0xffffffff');
    assert.equal(arm.line('outb 0xcf9 0x6'), 'OK');
    assert.equal(configRead(arm, 2, 0x00), 'OK 0x11e81234', 'no reset control: nothing happened');
  });

  it('keeps SYS_RST and FULL_RST in the register and resets the system on RST_CPU', () => {
    const d = new IommuBoardDriver('q35');
    const replies = [
      'outb 0xcf9 0xff', // RST_CPU: resets, the register reads 0
      'inb 0xcf9',
      'outb 0xcf9 0xfb',
      'inb 0xcf9',
      'inw 0xcf9',
      'inl 0xcf9',
      'outl 0xcf9 0x2',
      'inb 0xcf9',
      `outl 0xcf8 ${0x8000_0000 | 0x60}`,
      'outw 0xcf9 0x8',
      'inl 0xcf8',
      'inb 0xcf9',
    ].map((line) => d.line(line));
    assert.deepEqual(replies, [
      'OK',
      'OK 0x0000',
      'OK',
      'OK 0x000a',
      'OK 0x000a',
      'OK 0x000a',
      'OK',
      'OK 0x0002',
      'OK',
      'OK',
      'OK 0x80000060',
      'OK 0x0008',
    ]);
  });

  it('dev.config.bypass-system-reset: 0xcf9 resets the IOMMU (status, domains, mappings) and bypass takes its first value again', () => {
    const d = new IommuBoardDriver('q35');
    d.start(ALL);
    assert.equal(d.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    assert.equal(d.map(1, 0x5000n, 0x5fffn, 0x30_0000n), VIRTIO_IOMMU_S_OK);
    d.write(BYPASS, 1, 0);
    assert.equal(d.read(BYPASS, 1), 0n);
    d.line('writel 0x300000 0x04030201');
    d.line('writel 0x5000 0x08070605');
    d.line(`writel ${EDU_BAR + 4n} 0x12345678`);
    d.line(cfgAddress(IOMMU_SLOT, 0x04));

    d.line('outb 0xcf9 0x6');
    assert.equal(d.line('inl 0xcfc'), 'OK 0x100000', 'COMMAND cleared, the latch kept');
    assert.equal(configRead(d, IOMMU_SLOT, 0x20), 'OK 0x000c', 'BAR 4 unplaced');
    assert.equal(d.line('readl 0x300000'), 'OK 0x0000000004030201', 'RAM kept');
    assert.equal(d.board.memoryRead(EDU_BAR + 4n, 4), undefined, 'no BAR decodes');

    d.start(ALL);
    assert.equal(d.read(BYPASS, 1), 1n, 'bypass back to the first value');
    assert.equal(d.read(STATUS, 1), 0xfn);
    // edu keeps its registers, as QEMU 7.2's edu (no reset handler) does.
    assert.equal(d.line(`readl ${EDU_BAR + 4n}`), 'OK 0x00000000edcba987');
    // Unattached with bypass = 1: IOVA 0x5000 is guest-physical 0x5000, not the old mapping.
    d.eduRead(0x5000n, 4);
    d.eduWrite(0x30_1000n, 4);
    assert.equal(d.line('readl 0x301000'), 'OK 0x0000000008070605');
    // Domain 1 is new and empty: the old mapping is gone.
    assert.equal(d.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    d.events.offer([{ addr: 0x14_0000n, len: 64, writable: true }]);
    d.eduRead(0x5000n, 4);
    assert.deepEqual(d.events.takeUsed(), [24]);
    const fault = decodeFault(d.bytes(0x14_0000n, 24));
    assert.deepEqual([fault.reason, fault.address], [VIRTIO_IOMMU_FAULT_R_MAPPING, 0x5000n]);
    assert.equal(d.map(1, 0x5000n, 0x5fffn, 0x30_0000n), VIRTIO_IOMMU_S_OK, 'no overlap left');
  });

  it('a device reset (device_status 0) keeps bypass, unlike a system reset (dev.config.bypass-device-reset)', () => {
    const d = new IommuBoardDriver('q35');
    d.start(ALL);
    d.write(BYPASS, 1, 0);
    d.write(STATUS, 1, 0);
    assert.equal(d.read(BYPASS, 1), 0n);
  });

  it('refuses a board that puts a function at slot 0 next to the q35 host bridge', () => {
    const file = join(findPackageRoot(), 'device-ref', 'boards', 'q35.json');
    const q35 = JSON.parse(readFileSync(file, 'utf8')) as { iommu: { slot: number } };
    q35.iommu.slot = 0;
    assert.throws(
      () => parseBoardDescription(q35, 'b.json'),
      /\/iommu\/slot 0 is already used by \/chipset \(the q35 host bridge\)/,
    );
  });
});
