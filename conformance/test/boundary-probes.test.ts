// Where the boundary probes of a mapping look, and what they expect of each byte.

import assert from 'node:assert/strict';
import { VIRTIO_IOMMU_MAP_F_READ, VIRTIO_IOMMU_MAP_F_WRITE } from '../../dist/ts/index.js';
import { probeExpectations, probesAround } from '../scenario/boundary-probes.js';
import type { Mapping } from '../scenario/driver-view.js';

const RW = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;
const page: Mapping = {
  domain: 1,
  virtStart: 0x1000n,
  virtEnd: 0x1fffn,
  physStart: 0x100_0000n,
  flags: RW,
};
const MASK = (1n << 28n) - 1n;

describe('boundary probes', () => {
  it('straddle both ends from one byte off, and cover both edges from inside', () => {
    assert.deepEqual(
      probesAround(page, MASK).map((p) => [p.iova, p.length]),
      [
        [0xfffn, 16],
        [0x1000n, 16],
        [0x1ff0n, 16],
        [0x1ff1n, 16],
      ],
    );
  });

  it('shrink to a two-byte mapping and leave out what edu cannot reach', () => {
    const tiny = { ...page, virtStart: 0x3007n, virtEnd: 0x3008n };
    assert.deepEqual(
      probesAround(tiny, MASK).map((p) => [p.iova, p.length]),
      [
        [0x3006n, 3],
        [0x3007n, 2],
        [0x3007n, 2],
        [0x3007n, 3],
      ],
    );
    const atZero = { ...page, virtStart: 0n, virtEnd: 0xfffn };
    assert.equal(probesAround(atZero, MASK)[0]!.what, 'from virt_start');
  });

  it('require every byte of a probe inside the mapping, and only allow the mapped part of a straddle', () => {
    const [below, start] = probesAround(page, MASK);
    assert.deepEqual(probeExpectations(start!, [page], VIRTIO_IOMMU_MAP_F_READ), [
      { offset: 0, length: 16, address: 0x100_0000, required: true },
    ]);
    assert.deepEqual(probeExpectations(below!, [page], VIRTIO_IOMMU_MAP_F_READ), [
      { offset: 1, length: 15, address: 0x100_0000, required: false },
    ]);
  });

  it('expect nothing of a write through a read-only mapping, and allow a read of a write-only one', () => {
    const [, start] = probesAround(page, MASK);
    const readOnly = { ...page, flags: VIRTIO_IOMMU_MAP_F_READ };
    assert.deepEqual(probeExpectations(start!, [readOnly], VIRTIO_IOMMU_MAP_F_WRITE), []);
    const writeOnly = { ...page, flags: VIRTIO_IOMMU_MAP_F_WRITE };
    assert.deepEqual(probeExpectations(start!, [writeOnly], VIRTIO_IOMMU_MAP_F_READ), [
      { offset: 0, length: 16, address: 0x100_0000, required: false },
    ]);
  });

  it('follow a neighbouring mapping across the edge', () => {
    const next = { ...page, virtStart: 0x2000n, virtEnd: 0x2fffn, physStart: 0x200_0000n };
    const above = probesAround(page, MASK)[3]!;
    assert.deepEqual(probeExpectations(above, [page, next], VIRTIO_IOMMU_MAP_F_READ), [
      { offset: 0, length: 15, address: 0x100_0ff1, required: true },
      { offset: 15, length: 1, address: 0x200_0000, required: true },
    ]);
  });
});
