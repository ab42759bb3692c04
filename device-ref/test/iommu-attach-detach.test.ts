// ATTACH and DETACH requests.

import assert from 'node:assert/strict';
import {
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_FAULT_R_DOMAIN,
  VIRTIO_IOMMU_FAULT_R_MAPPING,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
} from '../../dist/ts/index.js';
import {
  ALL_FEATURES,
  attach,
  bit,
  detach,
  deviceState,
  dma,
  EP,
  EP2,
  EP3,
  faultReports,
  makeDevice,
  map,
  mapping,
  NONEXISTENT,
  offerEventBuffers,
  RAM,
  RW,
  withDomain,
} from './iommu-harness.js';

describe('iommu ATTACH', () => {
  it('dev.attach.reserved: non-zero reserved gets VIRTIO_IOMMU_S_INVAL and attaches nothing', () => {
    const h = makeDevice();
    assert.equal(attach(h, { domain: 1, endpoint: EP, reserved: 1 }), VIRTIO_IOMMU_S_INVAL);
    assert.equal(attach(h, { domain: 1, endpoint: EP, reserved: 0x1000000 }), VIRTIO_IOMMU_S_INVAL);
    assert.equal(h.device.core.domains.size, 0);
  });

  it('dev.attach.unknown-flags: undefined flags get VIRTIO_IOMMU_S_INVAL', () => {
    const h = makeDevice();
    assert.equal(attach(h, { domain: 1, endpoint: EP, flags: 0x2 }), VIRTIO_IOMMU_S_INVAL);
    assert.equal(attach(h, { domain: 1, endpoint: EP, flags: 0x80000000 }), VIRTIO_IOMMU_S_INVAL);
    assert.equal(h.device.core.domains.size, 0);
  });

  it('dev.attach.unknown-flags: VIRTIO_IOMMU_ATTACH_F_BYPASS is unknown unless VIRTIO_IOMMU_F_BYPASS_CONFIG was negotiated', () => {
    const h = makeDevice({}, ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_BYPASS_CONFIG));
    assert.equal(
      attach(h, { domain: 1, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(h.device.core.domains.size, 0);
  });

  it('dev.attach.noent: an unknown endpoint gets VIRTIO_IOMMU_S_NOENT', () => {
    const h = makeDevice();
    assert.equal(attach(h, { domain: 1, endpoint: NONEXISTENT }), VIRTIO_IOMMU_S_NOENT);
    assert.equal(h.device.core.domains.size, 0);
  });

  it('refuses a domain outside domain_range with VIRTIO_IOMMU_S_RANGE', () => {
    const h = makeDevice();
    assert.equal(attach(h, { domain: 0, endpoint: EP }), VIRTIO_IOMMU_S_RANGE);
    assert.equal(attach(h, { domain: 0x10000, endpoint: EP }), VIRTIO_IOMMU_S_RANGE);
    assert.equal(h.device.core.domains.size, 0);
  });

  it('dev.attach.shared-domain, dev.attach.shared-domain-unsupp: a domain holds several endpoints', () => {
    const h = makeDevice();
    assert.equal(attach(h, { domain: 1, endpoint: EP }), VIRTIO_IOMMU_S_OK);
    assert.equal(attach(h, { domain: 1, endpoint: EP2 }), VIRTIO_IOMMU_S_OK);
    assert.equal(map(h, mapping(0x1000n, 0x1fffn, RAM, RW)), VIRTIO_IOMMU_S_OK);
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: true, pa: RAM, length: 16 });
    assert.deepEqual(dma(h, EP2, 'read', 0x1000n), { ok: true, pa: RAM, length: 16 });
  });

  it('dev.attach.compatible, dev.attach.incompatible: endpoints with different reserved regions share a domain', () => {
    const h = makeDevice();
    assert.equal(attach(h, { domain: 1, endpoint: EP }), VIRTIO_IOMMU_S_OK);
    assert.equal(attach(h, { domain: 1, endpoint: EP2 }), VIRTIO_IOMMU_S_OK);
    assert.equal(attach(h, { domain: 1, endpoint: EP3 }), VIRTIO_IOMMU_S_OK);
  });

  it('dev.attach.bypass-mismatch: joining an ordinary domain with the bypass flag gets VIRTIO_IOMMU_S_INVAL', () => {
    const h = withDomain();
    const before = deviceState(h);
    assert.equal(
      attach(h, { domain: 1, endpoint: EP2, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.deepEqual(deviceState(h), before);
  });

  it('dev.attach.bypass-mismatch: joining a bypass domain without the bypass flag gets VIRTIO_IOMMU_S_INVAL', () => {
    const h = makeDevice();
    attach(h, { domain: 1, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS });
    const before = deviceState(h);
    assert.equal(attach(h, { domain: 1, endpoint: EP2 }), VIRTIO_IOMMU_S_INVAL);
    assert.deepEqual(deviceState(h), before);
  });

  it("dev.attach.bypass-mismatch: an endpoint already in the domain cannot change the domain's kind", () => {
    const h = withDomain();
    assert.equal(
      attach(h, { domain: 1, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(attach(h, { domain: 1, endpoint: EP }), VIRTIO_IOMMU_S_OK);
    assert.equal(h.device.core.domains.get(1)?.bypass, false);
  });

  it('dev.attach.move, dev.attach.move-unsupp: ATTACH to another domain moves the endpoint', () => {
    const h = withDomain();
    map(h, mapping(0x1000n, 0x1fffn, RAM, RW));
    assert.equal(attach(h, { domain: 2, endpoint: EP }), VIRTIO_IOMMU_S_OK);
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: false });
    map(h, mapping(0x1000n, 0x1fffn, RAM + 0x2000n, RW, 2));
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: true, pa: RAM + 0x2000n, length: 16 });
  });

  it('dev.attach.move-as-detach: the domain the endpoint leaves ceases to exist when it was the last one', () => {
    const h = withDomain();
    attach(h, { domain: 1, endpoint: EP2 });
    map(h, mapping(0x1000n, 0x1fffn, RAM, RW));
    attach(h, { domain: 2, endpoint: EP });
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 1, 'EP2 keeps domain 1 alive');
    attach(h, { domain: 2, endpoint: EP2 });
    assert.equal(h.device.core.domains.has(1), false);
    assert.equal(
      map(h, mapping(0x1000n, 0x1fffn, RAM, VIRTIO_IOMMU_MAP_F_READ)),
      VIRTIO_IOMMU_S_NOENT,
    );
    // The ID is free again, for a domain of the other kind too.
    assert.equal(
      attach(h, { domain: 1, endpoint: EP3, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS }),
      VIRTIO_IOMMU_S_OK,
    );
  });

  it('dev.attach.effective: the endpoint reaches what its domain maps', () => {
    const h = withDomain();
    map(h, mapping(0x4000n, 0x5fffn, RAM + 0x10000n, RW));
    assert.deepEqual(dma(h, EP, 'write', 0x4000n), { ok: true, pa: RAM + 0x10000n, length: 16 });
    assert.deepEqual(dma(h, EP, 'read', 0x5000n, 64), { ok: true, pa: RAM + 0x11000n, length: 64 });
  });
});

describe('iommu DETACH', () => {
  it('dev.detach.reserved: non-zero reserved is disregarded', () => {
    const h = withDomain();
    assert.equal(detach(h, { domain: 1, endpoint: EP, reserved: 1n }), VIRTIO_IOMMU_S_OK);
    assert.equal(h.device.core.domains.size, 0);
  });

  it('dev.detach.noent: an unknown endpoint gets VIRTIO_IOMMU_S_NOENT', () => {
    const h = withDomain();
    assert.equal(detach(h, { domain: 1, endpoint: NONEXISTENT }), VIRTIO_IOMMU_S_NOENT);
    assert.equal(h.device.core.domains.size, 1);
  });

  it('dev.detach.not-attached: a domain that does not exist gets VIRTIO_IOMMU_S_INVAL', () => {
    const h = withDomain();
    assert.equal(detach(h, { domain: 2, endpoint: EP }), VIRTIO_IOMMU_S_INVAL);
    assert.equal(h.device.core.endpoints.get(EP)?.domain?.id, 1);
  });

  it('dev.detach.not-attached: an endpoint in another domain gets VIRTIO_IOMMU_S_INVAL', () => {
    const h = withDomain();
    attach(h, { domain: 2, endpoint: EP2 });
    assert.equal(detach(h, { domain: 2, endpoint: EP }), VIRTIO_IOMMU_S_INVAL);
    assert.equal(h.device.core.endpoints.get(EP)?.domain?.id, 1);
    assert.equal(h.device.core.endpoints.get(EP2)?.domain?.id, 2);
  });

  it('refuses a domain outside domain_range with VIRTIO_IOMMU_S_RANGE', () => {
    const h = withDomain();
    assert.equal(detach(h, { domain: 0x10000, endpoint: EP }), VIRTIO_IOMMU_S_RANGE);
    assert.equal(h.device.core.endpoints.get(EP)?.domain?.id, 1);
  });

  it("dev.detach.isolation: a detached endpoint reaches none of the domain's mappings", () => {
    const h = makeDevice();
    offerEventBuffers(h, 4);
    attach(h, { domain: 1, endpoint: EP });
    map(h, mapping(0x1000n, 0x1fffn, RAM, RW));
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: true, pa: RAM, length: 16 });
    detach(h, { domain: 1, endpoint: EP });
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: false });
    assert.deepEqual(
      faultReports(h).map((f) => f.reason),
      [VIRTIO_IOMMU_FAULT_R_DOMAIN],
    );
  });

  it('dev.detach.isolation: another endpoint keeps the domain alive, the detached one is cut off', () => {
    const h = makeDevice();
    offerEventBuffers(h, 4);
    attach(h, { domain: 1, endpoint: EP });
    attach(h, { domain: 1, endpoint: EP2 });
    map(h, mapping(0x1000n, 0x1fffn, RAM, RW));
    detach(h, { domain: 1, endpoint: EP });
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: false });
    assert.deepEqual(dma(h, EP2, 'read', 0x1000n), { ok: true, pa: RAM, length: 16 });
    attach(h, { domain: 1, endpoint: EP });
    assert.deepEqual(dma(h, EP, 'write', 0x1000n), { ok: true, pa: RAM, length: 16 });
    assert.deepEqual(dma(h, EP, 'read', 0x2000n), { ok: false });
    assert.deepEqual(
      faultReports(h).map((f) => f.reason),
      [VIRTIO_IOMMU_FAULT_R_DOMAIN, VIRTIO_IOMMU_FAULT_R_MAPPING],
    );
  });
});
