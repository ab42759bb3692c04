// The board presets the conformance suite runs its corners on (`--board narrow|byte-granular|
// multi-resv`), each driven end to end on a real board: the limits the preset promises are
// the ones the device enforces.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeConfig,
  decodeFault,
  decodeProbeProperties,
  SIZEOF_VIRTIO_IOMMU_CONFIG,
  SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM,
  VIRTIO_IOMMU_FAULT_R_MAPPING,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
  VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
} from '../../dist/ts/index.js';
import { BOARD_PRESETS, loadBoardDescription } from '../board/description.js';
import { findPackageRoot } from '../package-root.js';
import {
  ALL,
  DEVICE_CFG,
  EDU_ENDPOINT,
  IommuBoardDriver,
  VIRTIO_BAR,
} from './support/iommu-board-driver.js';

const EP2 = 3 << 3;
const root = findPackageRoot();

function started(board: string): IommuBoardDriver {
  const d = new IommuBoardDriver(board);
  d.start(ALL);
  return d;
}

function config(d: IommuBoardDriver) {
  return decodeConfig(d.bytes(VIRTIO_BAR + DEVICE_CFG, SIZEOF_VIRTIO_IOMMU_CONFIG));
}

/** The event queue's next fault report (a buffer offered at 0x140000 first). */
function nextFault(d: IommuBoardDriver) {
  assert.deepEqual(d.events.takeUsed(), [24], 'one fault report');
  return decodeFault(d.bytes(0x14_0000n, 24));
}

describe('board presets', () => {
  it('BOARD_PRESETS names every file under device-ref/boards, and the README lists each', () => {
    const files = readdirSync(join(root, 'device-ref', 'boards'))
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -'.json'.length));
    assert.deepEqual([...files].sort(), [...BOARD_PRESETS].sort());
    const readme = readFileSync(join(root, 'device-ref', 'README.md'), 'utf8');
    for (const name of BOARD_PRESETS) {
      const board = loadBoardDescription(name);
      assert.equal(board.name, name);
      assert.ok(board.description, `${name} says what it is for`);
      assert.ok(readme.includes(`| \`${name}\``), `device-ref/README.md lists ${name}`);
    }
  });

  it('narrow: MAP outside input_range and a domain outside domain_range get VIRTIO_IOMMU_S_RANGE, at both ends', () => {
    const d = started('narrow');
    const cfg = config(d);
    assert.deepEqual(cfg.input_range, { start: 0x1_0000n, end: 0x7ff_ffffn });
    assert.deepEqual(cfg.domain_range, { start: 4, end: 15 });

    assert.equal(d.attach(3, EDU_ENDPOINT), VIRTIO_IOMMU_S_RANGE, 'domain_range.start - 1');
    assert.equal(d.attach(16, EDU_ENDPOINT), VIRTIO_IOMMU_S_RANGE, 'domain_range.end + 1');
    assert.equal(d.attach(0xffff_ffff, EDU_ENDPOINT), VIRTIO_IOMMU_S_RANGE);
    assert.equal(d.attach(15, EP2), VIRTIO_IOMMU_S_OK, 'domain_range.end');
    assert.equal(d.attach(4, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK, 'domain_range.start');

    const ram = 0x20_0000n;
    assert.equal(d.map(4, 0xf000n, 0xffffn, ram), VIRTIO_IOMMU_S_RANGE, 'below start');
    assert.equal(d.map(4, 0xf000n, 0x1_0fffn, ram), VIRTIO_IOMMU_S_RANGE, 'straddles start');
    assert.equal(d.map(4, 0x7ff_f000n, 0x800_0fffn, ram), VIRTIO_IOMMU_S_RANGE, 'straddles end');
    assert.equal(d.map(4, 0x800_0000n, 0x800_0fffn, ram), VIRTIO_IOMMU_S_RANGE, 'above end');
    assert.equal(d.map(4, 0x1_0000n, 0x1_0fffn, ram), VIRTIO_IOMMU_S_OK, 'first page');
    assert.equal(d.map(4, 0x7ff_f000n, 0x7ff_ffffn, ram + 0x1000n), VIRTIO_IOMMU_S_OK, 'last');

    // The refused MAPs left nothing behind: the page above input_range.end faults.
    const data = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    d.put(ram + 0x1ff0n, data);
    d.events.offer([{ addr: 0x14_0000n, len: 64, writable: true }]);
    d.eduRead(0x7ff_fff0n, 16);
    d.eduWrite(0x1_0000n, 16);
    assert.deepEqual(d.bytes(ram, 16), data, 'the last bytes of input_range reach RAM');
    d.eduRead(0x800_0000n, 16);
    const fault = nextFault(d);
    assert.deepEqual([fault.reason, fault.address], [VIRTIO_IOMMU_FAULT_R_MAPPING, 0x800_0000n]);
  });

  it('byte-granular: page_size_mask has bit 0 set, and a 3-byte MAP at odd addresses translates byte-exactly', () => {
    const d = started('byte-granular');
    assert.equal(config(d).page_size_mask & 1n, 1n);
    assert.equal(d.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    assert.equal(d.map(1, 0x1001n, 0x1003n, 0x20_0005n), VIRTIO_IOMMU_S_OK);
    assert.equal(d.map(1, 0x1004n, 0x1004n, 0x20_0009n), VIRTIO_IOMMU_S_INVAL, 'virt_end > start');
    d.put(
      0x20_0000n,
      Uint8Array.from({ length: 16 }, (_, i) => i + 1),
    );
    d.eduRead(0x1001n, 3); // into edu's buffer: 6, 7, 8
    d.put(0x20_0005n, new Uint8Array(3));
    d.eduWrite(0x1001n, 3); // and back to the same three bytes, none around them
    assert.deepEqual(Array.from(d.bytes(0x20_0003n, 7)), [4, 5, 6, 7, 8, 9, 10]);
    d.events.offer([{ addr: 0x14_0000n, len: 64, writable: true }]);
    d.eduRead(0x1002n, 3);
    assert.equal(nextFault(d).address, 0x1004n, 'a transfer across virt_end stops past it');
    d.events.offer([{ addr: 0x14_0000n, len: 64, writable: true }]);
    d.eduRead(0x1000n, 1);
    assert.equal(nextFault(d).address, 0x1000n, 'one byte before virt_start');
  });

  it('multi-resv: PROBE reports every region of the endpoint, in order, 24 bytes apart; MAP over each is refused', () => {
    const d = started('multi-resv');
    const probeSize = config(d).probe_size;
    const regions = (endpoint: number) => {
      const reply = d.probe(endpoint, probeSize);
      assert.equal(reply[probeSize], VIRTIO_IOMMU_S_OK);
      return decodeProbeProperties(reply.subarray(0, probeSize)).map((entry) => {
        assert.equal(entry.kind, 'resv_mem');
        const p = entry.kind === 'resv_mem' ? entry.property : undefined;
        return [entry.offset, p?.subtype, p?.start, p?.end];
      });
    };
    const SIZE = SIZEOF_VIRTIO_IOMMU_PROBE_RESV_MEM;
    const { RESERVED, MSI } = {
      RESERVED: VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
      MSI: VIRTIO_IOMMU_RESV_MEM_T_MSI,
    };
    assert.deepEqual(regions(EDU_ENDPOINT), [
      [0, RESERVED, 0x8_0000n, 0x8_ffffn],
      [SIZE, RESERVED, 0xe00_0000n, 0xe00_ffffn],
      [2 * SIZE, MSI, 0xfee0_0000n, 0xfeef_ffffn],
    ]);
    assert.deepEqual(regions(EP2), [
      [0, RESERVED, 0xd00_0000n, 0xd00_ffffn],
      [SIZE, MSI, 0xfee0_0000n, 0xfeef_ffffn],
    ]);

    assert.equal(d.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    assert.equal(d.attach(1, EP2), VIRTIO_IOMMU_S_OK);
    for (const [start, end] of [
      [0x8_f000n, 0x9_0fffn],
      [0xe00_0000n, 0xe00_0fffn],
      [0xd00_f000n, 0xd00_ffffn], // the second endpoint's region counts in a shared domain
      [0xfee0_0000n, 0xfee0_0fffn],
    ] as const) {
      assert.equal(d.map(1, start, end, 0x20_0000n), VIRTIO_IOMMU_S_INVAL, `over ${start}`);
    }
    assert.equal(d.map(1, 0x9_0000n, 0x9_0fffn, 0x20_0000n), VIRTIO_IOMMU_S_OK, 'next to it');

    // A RESERVED region is never reachable (dev.resv-mem.contained).
    d.events.offer([{ addr: 0x14_0000n, len: 64, writable: true }]);
    d.eduRead(0xe00_0800n, 8);
    assert.deepEqual([nextFault(d).address], [0xe00_0800n]);
  });
});
