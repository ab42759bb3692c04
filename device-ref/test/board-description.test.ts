import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BOARD_PRESETS,
  BoardDescriptionError,
  loadBoardDescription,
  parseBoardDescription,
} from '../board/description.js';
import { iommuOptionsOf } from '../board/iommu-model.js';

const valid = () => ({
  name: 'test',
  ram_size: 0x100000,
  iommu: {
    slot: 1,
    features: ['VIRTIO_IOMMU_F_MAP_UNMAP'],
    page_size_mask: '0x1000',
    input_range: { start: '0x0', end: '0xffffffff' },
    domain_range: { start: 0, end: 10 },
    probe_size: 0,
    bypass: false,
  },
  endpoints: [{ slot: 2, kind: 'edu', reserved_regions: [] }],
});

describe('board descriptions', () => {
  it('loads the q35 preset with the defaults measured on QEMU 7.2', () => {
    const q35 = loadBoardDescription('q35');
    assert.equal(q35.ram_size, 256 * 1024 * 1024);
    assert.equal(q35.iommu.slot, 1);
    assert.deepEqual(q35.iommu.features, [
      'VIRTIO_IOMMU_F_INPUT_RANGE',
      'VIRTIO_IOMMU_F_DOMAIN_RANGE',
      'VIRTIO_IOMMU_F_MAP_UNMAP',
      'VIRTIO_IOMMU_F_PROBE',
      'VIRTIO_IOMMU_F_MMIO',
      'VIRTIO_IOMMU_F_BYPASS_CONFIG',
    ]);
    assert.equal(q35.iommu.page_size_mask, 0xfffffffffffff000n);
    assert.deepEqual(q35.iommu.input_range, { start: 0n, end: 0xffffffffffffffffn });
    assert.deepEqual(q35.iommu.domain_range, { start: 0, end: 0xffffffff });
    assert.equal(q35.iommu.probe_size, 512);
    assert.equal(q35.iommu.bypass, true);
    assert.deepEqual(q35.endpoints, [
      {
        slot: 2,
        kind: 'edu',
        endpoint: 0x10,
        dma_mask: 0xfffffffn,
        reserved_regions: [{ subtype: 'MSI', start: 0xfee00000n, end: 0xfeefffffn }],
      },
    ]);
  });

  it('loads every preset; arm64-virt has 4 KiB and 64 KiB pages and an MSI doorbell per endpoint', () => {
    for (const name of BOARD_PRESETS) assert.equal(loadBoardDescription(name).name, name);
    const arm = loadBoardDescription('arm64-virt');
    assert.equal(arm.iommu.page_size_mask, 0x11000n);
    assert.ok(arm.endpoints.every((e) => e.reserved_regions.some((r) => r.subtype === 'MSI')));
    assert.deepEqual(
      arm.endpoints.map((e) => e.slot),
      loadBoardDescription('q35').endpoints.map((e) => e.slot),
    );
  });

  it('loads a board file and takes dma_mask', () => {
    const dir = mkdtempSync(join(tmpdir(), 'viommu-board-'));
    try {
      const file = join(dir, 'board.json');
      const board = valid();
      writeFileSync(
        file,
        JSON.stringify({
          ...board,
          endpoints: [{ ...board.endpoints[0], dma_mask: '0xffffffffffffffff' }],
        }),
      );
      assert.equal(loadBoardDescription(file).endpoints[0]!.dma_mask, 0xffffffffffffffffn);
      writeFileSync(file, '{ not json');
      assert.throws(() => loadBoardDescription(file), BoardDescriptionError);
      assert.throws(() => loadBoardDescription(join(dir, 'missing.json')), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports schema violations with their JSON pointer', () => {
    const board = valid() as Record<string, unknown>;
    board.ram_size = 1000;
    (board.iommu as Record<string, unknown>).features = ['VIRTIO_IOMMU_F_TELEPORT'];
    (board.iommu as Record<string, unknown>).page_size_mask = 4096;
    board.extra = true;
    try {
      parseBoardDescription(board, 'bad.json');
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof BoardDescriptionError);
      const text = error.problems.join('\n');
      assert.match(error.message, /^bad\.json: invalid board description/);
      assert.match(text, /\/ram_size must be >= 1048576/);
      assert.match(text, /\/iommu\/features\/0 must be equal to one of the allowed values/);
      assert.match(text, /\/iommu\/page_size_mask must be string/);
      assert.match(text, /\(top level\) must NOT have additional properties/);
    }
  });

  it('takes "drafts" in iommu: the feature bit of each draft joins the offer; an unknown draft is refused', () => {
    const board = valid();
    const plain = parseBoardDescription(board, 'plain.json');
    const lazy = parseBoardDescription(
      { ...board, iommu: { ...board.iommu, drafts: ['lazy-iotlb-flush'] } },
      'lazy.json',
    );
    assert.deepEqual(lazy.iommu.drafts, ['lazy-iotlb-flush']);
    const offer = (b: typeof plain) => iommuOptionsOf(b.iommu, b.endpoints).features;
    // VIRTIO_IOMMU_F_LAZY_IOTLB_FLUSH is bit 7 (spec-src/11-lazy-iotlb-flush.md).
    assert.equal(offer(lazy), offer(plain) | (1n << 7n));
    // probe-limits needs VIRTIO_IOMMU_F_PROBE (bit 4), which this board offers already.
    const limits = parseBoardDescription(
      { ...board, iommu: { ...board.iommu, drafts: ['probe-limits'] } },
      'limits.json',
    );
    assert.equal(offer(limits), offer(plain) | (1n << 4n));
    assert.throws(
      () =>
        parseBoardDescription(
          { ...board, iommu: { ...board.iommu, drafts: ['teleport'] } },
          'bad.json',
        ),
      (error: BoardDescriptionError) =>
        /\/iommu\/drafts\/0 must be equal to one of the allowed values/.test(
          error.problems.join('\n'),
        ),
    );
  });

  it('reports what the schema cannot: shared slots, backwards ranges, no page size', () => {
    const board = valid();
    board.endpoints.push({ slot: 1, kind: 'edu', reserved_regions: [] });
    board.iommu.input_range = { start: '0x10', end: '0x1' };
    board.iommu.domain_range = { start: 5, end: 4 };
    board.iommu.page_size_mask = '0x0';
    (board.endpoints[0] as { reserved_regions: unknown[] }).reserved_regions.push({
      subtype: 'RESERVED',
      start: '0x2',
      end: '0x1',
    });
    assert.throws(
      () => parseBoardDescription(board, 'b.json'),
      (error: BoardDescriptionError) => {
        assert.deepEqual(error.problems, [
          '/endpoints/1/slot 1 is already used by /iommu/slot',
          '/iommu/input_range starts after it ends',
          '/iommu/domain_range starts after it ends',
          '/iommu/page_size_mask must offer at least one page size',
          '/endpoints/0/reserved_regions/0 starts after it ends',
        ]);
        return true;
      },
    );
  });

  it('dev.resv-mem.single-msi, dev.resv-mem.no-overlap: refuses two MSI regions and overlapping regions', () => {
    const board = valid();
    board.endpoints[0]!.reserved_regions = [
      { subtype: 'MSI', start: '0x1000', end: '0x1fff' },
      { subtype: 'RESERVED', start: '0x3000', end: '0x3fff' },
      { subtype: 'MSI', start: '0x2000', end: '0x2fff' },
      { subtype: 'RESERVED', start: '0x3fff', end: '0x4fff' },
    ] as never[];
    assert.throws(
      () => parseBoardDescription(board, 'b.json'),
      (error: BoardDescriptionError) => {
        assert.deepEqual(error.problems, [
          '/endpoints/0/reserved_regions has 2 MSI regions (/0, /2); a device presents one at most (dev.resv-mem.single-msi)',
          '/endpoints/0/reserved_regions/1 and /endpoints/0/reserved_regions/3 overlap; a device presents disjoint regions (dev.resv-mem.no-overlap)',
        ]);
        return true;
      },
    );
    board.endpoints[0]!.reserved_regions.splice(2, 2);
    assert.equal(parseBoardDescription(board, 'b.json').endpoints[0]!.reserved_regions.length, 2);
  });
});
