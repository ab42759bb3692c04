// The device acts on the features negotiated, not on those it merely offers: each feature a
// driver can decline, declined through the transport's real FEATURES_OK handshake on a board,
// and the effect checked by DMA. The range limits are the exception the spec makes: they
// hold whenever the device offers them.

import assert from 'node:assert/strict';
import {
  encodeProbeDriverPart,
  SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART,
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_MAP_F_MMIO,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
  VIRTIO_IOMMU_S_UNSUPP,
  VIRTIO_IOMMU_T_PROBE,
} from '../../dist/ts/index.js';
import {
  ALL,
  EDU_ENDPOINT,
  head,
  iommuConfigAddress,
  IommuBoardDriver,
} from './support/iommu-board-driver.js';
import { encoded, RW } from './iommu-harness.js';

const BYPASS = iommuConfigAddress('bypass');
const RAM = 0x30_0000n;
const without = (feature: number) => ALL & ~(1 << feature);

describe('features the driver declines', () => {
  it('VIRTIO_IOMMU_F_MMIO declined: a MAP with VIRTIO_IOMMU_MAP_F_MMIO is one with an unknown flag (dev.map.unknown-flags)', () => {
    const d = new IommuBoardDriver();
    d.start(without(VIRTIO_IOMMU_F_MMIO));
    assert.equal(d.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    assert.equal(
      d.map(1, 0x5000n, 0x5fffn, RAM, RW | VIRTIO_IOMMU_MAP_F_MMIO),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(d.map(1, 0x5000n, 0x5fffn, RAM, RW), VIRTIO_IOMMU_S_OK, 'nothing was mapped');
    const accepted = new IommuBoardDriver();
    accepted.start(ALL);
    assert.equal(accepted.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    assert.equal(
      accepted.map(1, 0x5000n, 0x5fffn, RAM, RW | VIRTIO_IOMMU_MAP_F_MMIO),
      VIRTIO_IOMMU_S_OK,
    );
  });

  it('VIRTIO_IOMMU_F_BYPASS_CONFIG declined: bypass = 1 still lets unattached endpoints through, writes to it change nothing, ATTACH_F_BYPASS is an unknown flag', () => {
    const d = new IommuBoardDriver();
    d.start(without(VIRTIO_IOMMU_F_BYPASS_CONFIG));
    assert.equal(d.read(BYPASS, 1), 1n, 'the field is there: the device offers the feature');
    d.write(BYPASS, 1, 0);
    assert.equal(d.read(BYPASS, 1), 1n, 'a write without the feature changes nothing');
    assert.ok(
      d.board.findings.entries.some((f) => f.statement === 'drv.config.bypass-write'),
      'and is the driver’s mistake',
    );
    d.put(RAM, Uint8Array.of(1, 2, 3, 4));
    d.eduRead(RAM, 4);
    d.eduWrite(RAM + 0x10n, 4);
    assert.deepEqual(Array.from(d.bytes(RAM + 0x10n, 4)), [1, 2, 3, 4], 'still in bypass mode');

    assert.equal(d.attach(1, EDU_ENDPOINT, VIRTIO_IOMMU_ATTACH_F_BYPASS), VIRTIO_IOMMU_S_INVAL);
    d.put(RAM, Uint8Array.of(5, 6, 7, 8));
    d.eduRead(RAM, 4);
    d.eduWrite(RAM + 0x20n, 4);
    assert.deepEqual(Array.from(d.bytes(RAM + 0x20n, 4)), [5, 6, 7, 8], 'not attached anywhere');
    assert.equal(d.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK, 'domain 1 was not created');
  });

  it('VIRTIO_IOMMU_F_PROBE declined: PROBE comes back unwritten with used length 0, as from a device without it', () => {
    const d = new IommuBoardDriver();
    d.start(without(VIRTIO_IOMMU_F_PROBE));
    const probeSize = Number(d.read(iommuConfigAddress('probe_size'), 4));
    const request = encoded(SIZEOF_VIRTIO_IOMMU_REQ_PROBE_DRIVER_PART, encodeProbeDriverPart, {
      head: head(VIRTIO_IOMMU_T_PROBE),
      endpoint: EDU_ENDPOINT,
      reserved: new Uint8Array(64),
    });
    const { used, reply } = d.request(request, probeSize + 4);
    assert.equal(used, 0);
    assert.ok(
      reply.every((byte) => byte === 0xee),
      'not a byte written',
    );
    const accepted = new IommuBoardDriver();
    accepted.start(ALL);
    assert.equal(accepted.request(request, probeSize + 4).used, probeSize + 4);
  });

  it('VIRTIO_IOMMU_F_MAP_UNMAP declined: MAP gets VIRTIO_IOMMU_S_UNSUPP and maps nothing', () => {
    const d = new IommuBoardDriver();
    d.start(without(VIRTIO_IOMMU_F_MAP_UNMAP));
    assert.equal(d.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    assert.equal(d.map(1, 0x5000n, 0x5fffn, RAM), VIRTIO_IOMMU_S_UNSUPP);
    d.events.offer([{ addr: 0x14_0000n, len: 64, writable: true }]);
    d.eduRead(0x5000n, 4);
    assert.deepEqual(d.events.takeUsed(), [24], 'the access faulted');
  });

  it('VIRTIO_IOMMU_F_INPUT_RANGE and _DOMAIN_RANGE declined: the limits the device offers still hold', () => {
    const d = new IommuBoardDriver('narrow');
    d.start(without(VIRTIO_IOMMU_F_INPUT_RANGE) & without(VIRTIO_IOMMU_F_DOMAIN_RANGE));
    assert.equal(d.attach(16, EDU_ENDPOINT), VIRTIO_IOMMU_S_RANGE);
    assert.equal(d.attach(4, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    assert.equal(d.map(4, 0x8000n, 0x8fffn, RAM), VIRTIO_IOMMU_S_RANGE);
    // The driver knew no limit, so it broke no rule (drv.req.*-range need the feature).
    assert.deepEqual(
      d.board.findings.entries.filter((f) => f.statement?.startsWith('drv.req.')),
      [],
    );
  });

  it('a negotiation after a device reset replaces the features: what it accepts counts', () => {
    const d = new IommuBoardDriver();
    d.start(ALL);
    assert.equal(d.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    d.start(without(VIRTIO_IOMMU_F_MMIO)); // device_status 0 first
    assert.equal(d.attach(1, EDU_ENDPOINT), VIRTIO_IOMMU_S_OK);
    assert.equal(
      d.map(1, 0x5000n, 0x5fffn, RAM, RW | VIRTIO_IOMMU_MAP_F_MMIO),
      VIRTIO_IOMMU_S_INVAL,
    );
  });
});
