// Device operations: the request head and tail, unknown types, buffers of the wrong size.

import assert from 'node:assert/strict';
import {
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_UNSUPP,
} from '../../dist/ts/index.js';
import {
  ALL_FEATURES,
  attach,
  attachRequest,
  bit,
  detach,
  EP,
  makeDevice,
  map,
  mapping,
  mapRequest,
  RAM,
  send,
  statusOf,
  unmap,
} from './iommu-harness.js';

describe('iommu device operations', () => {
  it('dev.req.status-ok: ATTACH, DETACH, MAP and UNMAP that succeed report VIRTIO_IOMMU_S_OK', () => {
    const h = makeDevice();
    assert.equal(attach(h, { domain: 1, endpoint: EP }), VIRTIO_IOMMU_S_OK);
    assert.equal(
      map(h, mapping(0x1000n, 0x1fffn, RAM, VIRTIO_IOMMU_MAP_F_READ)),
      VIRTIO_IOMMU_S_OK,
    );
    assert.equal(
      unmap(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x1fffn }),
      VIRTIO_IOMMU_S_OK,
    );
    assert.equal(detach(h, { domain: 1, endpoint: EP }), VIRTIO_IOMMU_S_OK);
  });

  for (const type of [0, 6, 0x40, 0xff]) {
    it(`dev.req.unknown-type-untouched, dev.req.unknown-type-used-len: type ${type} gets used length 0`, () => {
      const h = makeDevice();
      assert.equal(send(h, attachRequest({ type, domain: 1, endpoint: EP })).length, 0);
      assert.equal(h.device.core.domains.size, 0);
    });
  }

  it('dev.req.head-reserved: non-zero reserved bytes in the head are disregarded', () => {
    const h = makeDevice();
    assert.equal(attach(h, { headReserved: 1, domain: 1, endpoint: EP }), VIRTIO_IOMMU_S_OK);
    assert.equal(detach(h, { headReserved: 0xffffff, domain: 1, endpoint: EP }), VIRTIO_IOMMU_S_OK);
  });

  it('dev.req.tail-reserved: the tail is the status followed by three zero bytes', () => {
    const h = makeDevice();
    assert.deepEqual(
      send(h, attachRequest({ domain: 1, endpoint: EP })),
      Uint8Array.of(VIRTIO_IOMMU_S_OK, 0, 0, 0),
    );
    assert.deepEqual(
      send(h, attachRequest({ domain: 1, endpoint: EP, reserved: 1 })),
      Uint8Array.of(VIRTIO_IOMMU_S_INVAL, 0, 0, 0),
    );
  });

  it('returns a request too short for its head, or without room for the tail, unwritten', () => {
    const h = makeDevice();
    assert.equal(send(h, Uint8Array.of(1, 0, 0)).length, 0);
    assert.equal(send(h, attachRequest({ domain: 1, endpoint: EP }), 3).length, 0);
    assert.equal(send(h, attachRequest({ domain: 1, endpoint: EP }), 0).length, 0);
    assert.equal(h.device.core.domains.size, 0);
    assert.equal(h.findings.length, 3);
  });

  it('answers VIRTIO_IOMMU_S_INVAL to a request whose readable part is too short for its type', () => {
    const h = makeDevice();
    assert.deepEqual(
      send(h, attachRequest({ domain: 1, endpoint: EP }).subarray(0, 16)),
      Uint8Array.of(VIRTIO_IOMMU_S_INVAL, 0, 0, 0),
    );
    assert.equal(h.device.core.domains.size, 0);
  });

  it('ignores bytes past the readable size of the type, and writes only the tail into a longer writable part', () => {
    const h = makeDevice();
    const longer = new Uint8Array(64);
    longer.set(attachRequest({ domain: 1, endpoint: EP }));
    longer.fill(0xee, 20);
    const written = send(h, longer, 16);
    assert.deepEqual(written, Uint8Array.of(VIRTIO_IOMMU_S_OK, 0, 0, 0));
    assert.equal(h.device.core.domains.get(1)?.endpoints.has(EP), true);
  });

  it('serves every chain that is available when the driver notifies', () => {
    const h = makeDevice();
    const queue = h.context.queue(0);
    const mapPage = mapRequest(mapping(0n, 0xfffn, RAM, 1));
    for (const readable of [attachRequest({ domain: 1, endpoint: EP }), mapPage, mapPage])
      queue.available.push({ readable, writableLength: 4 });
    h.device.queueNotified(0, queue);
    assert.deepEqual(
      queue.used.map((u) => statusOf(u.written)),
      [VIRTIO_IOMMU_S_OK, VIRTIO_IOMMU_S_OK, VIRTIO_IOMMU_S_INVAL],
    );
  });

  it('answers VIRTIO_IOMMU_S_UNSUPP to MAP and UNMAP when VIRTIO_IOMMU_F_MAP_UNMAP was not negotiated', () => {
    const h = makeDevice({}, ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_MAP_UNMAP));
    assert.equal(attach(h, { domain: 1, endpoint: EP }), VIRTIO_IOMMU_S_OK);
    assert.equal(map(h, mapping(0n, 0xfffn, RAM, 1)), VIRTIO_IOMMU_S_UNSUPP);
    assert.equal(unmap(h, { domain: 1, virt_start: 0n, virt_end: 0xfffn }), VIRTIO_IOMMU_S_UNSUPP);
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });
});
