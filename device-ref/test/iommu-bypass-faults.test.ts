// Bypass mode, reserved regions at DMA time, and fault reports on the event queue.

import assert from 'node:assert/strict';
import {
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_FAULT_F_ADDRESS,
  VIRTIO_IOMMU_FAULT_F_READ,
  VIRTIO_IOMMU_FAULT_F_WRITE,
  VIRTIO_IOMMU_FAULT_R_DOMAIN,
  VIRTIO_IOMMU_FAULT_R_MAPPING,
  VIRTIO_IOMMU_MAP_F_READ,
} from '../../dist/ts/index.js';
import {
  ALL_FEATURES,
  attach,
  bit,
  detach,
  dma,
  EP,
  EP2,
  EP3,
  faultReports,
  makeDevice,
  map,
  mapping,
  MSI_REGION,
  offerEventBuffers,
  RAM,
  RESERVED_REGION,
  RW,
  withDomain,
} from './iommu-harness.js';

const WITHOUT_BYPASS_CONFIG = ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_BYPASS_CONFIG);

describe('iommu bypass mode', () => {
  it('dev.bypass.identity: bypass = 1 lets unattached endpoints through unchanged', () => {
    const h = makeDevice({ bypass: 1 });
    assert.deepEqual(dma(h, EP3, 'read', RAM), { ok: true, pa: RAM, length: 16 });
    assert.deepEqual(dma(h, EP3, 'write', RAM + 0x1000n), {
      ok: true,
      pa: RAM + 0x1000n,
      length: 16,
    });
  });

  it('dev.bypass.identity: bypass = 1 works even when the driver did not accept VIRTIO_IOMMU_F_BYPASS_CONFIG', () => {
    const h = makeDevice({ bypass: 1 }, WITHOUT_BYPASS_CONFIG);
    assert.deepEqual(dma(h, EP3, 'read', RAM), { ok: true, pa: RAM, length: 16 });
  });

  it('dev.bypass.identity: an endpoint in a bypass domain goes through unchanged', () => {
    const h = makeDevice({ bypass: 0 });
    attach(h, { domain: 1, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS });
    assert.deepEqual(dma(h, EP, 'read', RAM), { ok: true, pa: RAM, length: 16 });
    assert.deepEqual(dma(h, EP, 'write', RAM + 0x1000n), {
      ok: true,
      pa: RAM + 0x1000n,
      length: 16,
    });
  });

  it('dev.bypass.identity: with the older VIRTIO_IOMMU_F_BYPASS negotiated, unattached endpoints go through', () => {
    const features =
      (ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_BYPASS_CONFIG)) | bit(VIRTIO_IOMMU_F_BYPASS);
    const h = makeDevice({ features });
    assert.deepEqual(dma(h, EP3, 'read', RAM), { ok: true, pa: RAM, length: 16 });
    const declined = makeDevice({ features }, features & ~bit(VIRTIO_IOMMU_F_BYPASS));
    assert.deepEqual(dma(declined, EP3, 'read', RAM), { ok: false });
  });

  it('dev.bypass.identity: an endpoint detached from an ordinary domain falls back to bypass', () => {
    const h = withDomain({ bypass: 1 });
    map(h, mapping(0x1000n, 0x1fffn, RAM + 0x10000n, VIRTIO_IOMMU_MAP_F_READ));
    assert.deepEqual(dma(h, EP, 'read', RAM + 0x2000n), { ok: false });
    detach(h, { domain: 1, endpoint: EP });
    assert.deepEqual(dma(h, EP, 'read', RAM + 0x2000n), {
      ok: true,
      pa: RAM + 0x2000n,
      length: 16,
    });
  });

  it('dev.bypass.identity: a bypass endpoint reaches the last byte of the 64-bit space, no further', () => {
    const h = makeDevice({ bypass: 1 });
    assert.deepEqual(dma(h, EP3, 'read', 0xffff_ffff_ffff_fff8n, 16), {
      ok: true,
      pa: 0xffff_ffff_ffff_fff8n,
      length: 8,
    });
  });

  it('dev.bypass.unattached-blocked: bypass = 0 blocks unattached endpoints', () => {
    const h = makeDevice({ bypass: 0 });
    assert.deepEqual(dma(h, EP3, 'read', 0x1000n), { ok: false });
    assert.deepEqual(dma(h, EP3, 'write', RAM), { ok: false });
  });

  it('dev.bypass.unattached-blocked: without VIRTIO_IOMMU_F_BYPASS_CONFIG, bypass = 1 does not apply', () => {
    const h = makeDevice({ bypass: 1, features: WITHOUT_BYPASS_CONFIG });
    assert.deepEqual(dma(h, EP3, 'read', 0x1000n), { ok: false });
    assert.equal(h.device.readConfig(36, 1), 0);
  });

  it('refuses DMA by an endpoint the board did not declare, without a fault report', () => {
    const h = makeDevice({ bypass: 1 });
    offerEventBuffers(h, 1);
    assert.deepEqual(dma(h, 0x9999, 'read', RAM), { ok: false });
    assert.deepEqual(faultReports(h), []);
  });
});

describe('iommu reserved regions at DMA time', () => {
  it('dev.resv-mem.contained: the MSI window is never translated, a RESERVED region never reached', () => {
    const h = makeDevice({ bypass: 0 });
    offerEventBuffers(h, 4);
    attach(h, { domain: 1, endpoint: EP });
    attach(h, { domain: 1, endpoint: EP2 });
    assert.deepEqual(dma(h, EP, 'write', MSI_REGION.start, 4), {
      ok: true,
      pa: MSI_REGION.start,
      length: 4,
    });
    assert.deepEqual(
      dma(h, EP2, 'write', MSI_REGION.start, 4),
      { ok: false },
      'EP2 has no MSI window there',
    );
    assert.deepEqual(dma(h, EP2, 'read', RESERVED_REGION.start, 4), { ok: false });
    assert.deepEqual(
      faultReports(h).map((f) => [f.endpoint, f.reason, f.address]),
      [
        [EP2, VIRTIO_IOMMU_FAULT_R_MAPPING, MSI_REGION.start],
        [EP2, VIRTIO_IOMMU_FAULT_R_MAPPING, RESERVED_REGION.start],
      ],
    );
  });

  it("dev.resv-mem.contained: a mapping made before the endpoint joined stops at the endpoint's reserved region", () => {
    const h = makeDevice({ bypass: 0 });
    attach(h, { domain: 1, endpoint: EP3 });
    map(h, mapping(RESERVED_REGION.start - 0x1000n, RESERVED_REGION.start + 0xfffn, RAM, RW));
    attach(h, { domain: 1, endpoint: EP2 });
    assert.deepEqual(dma(h, EP3, 'read', RESERVED_REGION.start - 8n, 16), {
      ok: true,
      pa: RAM + 0xff8n,
      length: 16,
    });
    assert.deepEqual(dma(h, EP2, 'read', RESERVED_REGION.start - 8n, 16), {
      ok: true,
      pa: RAM + 0xff8n,
      length: 8,
    });
    assert.deepEqual(dma(h, EP2, 'read', RESERVED_REGION.start, 16), { ok: false });
  });

  it('an endpoint in bypass mode reaches its reserved regions like any other address', () => {
    const h = makeDevice({ bypass: 1 });
    assert.deepEqual(dma(h, EP2, 'read', RESERVED_REGION.start), {
      ok: true,
      pa: RESERVED_REGION.start,
      length: 16,
    });
  });
});

describe('iommu fault reports', () => {
  it('dev.fault.endpoint, dev.fault.reserved, dev.fault.undefined-flags: an unmapped read by an attached endpoint is a MAPPING fault', () => {
    const h = makeDevice();
    offerEventBuffers(h, 2);
    attach(h, { domain: 1, endpoint: EP });
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: false });
    assert.deepEqual(faultReports(h), [
      {
        reason: VIRTIO_IOMMU_FAULT_R_MAPPING,
        reserved: new Uint8Array(3),
        flags: VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_ADDRESS,
        endpoint: EP,
        reserved1: 0,
        address: 0x1000n,
      },
    ]);
  });

  it('dev.fault.endpoint: a write through a read-only mapping is a MAPPING fault with the WRITE flag', () => {
    const h = makeDevice();
    offerEventBuffers(h, 2);
    attach(h, { domain: 1, endpoint: EP });
    map(h, mapping(0x1000n, 0x1fffn, RAM, VIRTIO_IOMMU_MAP_F_READ));
    dma(h, EP, 'write', 0x1234n);
    assert.deepEqual(
      faultReports(h).map((f) => [f.reason, f.flags, f.address]),
      [
        [
          VIRTIO_IOMMU_FAULT_R_MAPPING,
          VIRTIO_IOMMU_FAULT_F_WRITE | VIRTIO_IOMMU_FAULT_F_ADDRESS,
          0x1234n,
        ],
      ],
    );
  });

  it('dev.fault.endpoint: an endpoint neither attached nor in bypass mode gets a DOMAIN fault', () => {
    for (const h of [makeDevice({ bypass: 0 }), makeDevice({ features: WITHOUT_BYPASS_CONFIG })]) {
      offerEventBuffers(h, 2);
      dma(h, EP3, 'read', 0x1000n);
      assert.deepEqual(
        faultReports(h).map((f) => [f.reason, f.endpoint]),
        [[VIRTIO_IOMMU_FAULT_R_DOMAIN, EP3]],
      );
    }
  });

  it('dev.fault.address-optional: the device always gives the address, with VIRTIO_IOMMU_FAULT_F_ADDRESS', () => {
    const h = makeDevice({ bypass: 0 });
    offerEventBuffers(h, 1);
    dma(h, EP3, 'write', 0xdead_b000n);
    assert.equal(
      faultReports(h)[0]!.flags & VIRTIO_IOMMU_FAULT_F_ADDRESS,
      VIRTIO_IOMMU_FAULT_F_ADDRESS,
    );
    assert.equal(faultReports(h)[0]!.address, 0xdead_b000n);
  });

  it('keeps faults in order until the driver offers event buffers, up to the backlog size', () => {
    const h = makeDevice({ bypass: 0, faultBacklog: 3 });
    for (let i = 1n; i <= 5n; i++) dma(h, EP3, 'read', i * 0x1000n);
    assert.equal(h.device.pendingFaults, 3);
    assert.equal(h.device.droppedFaults, 2);
    offerEventBuffers(h, 2);
    assert.deepEqual(
      faultReports(h).map((f) => f.address),
      [0x1000n, 0x2000n],
    );
    dma(h, EP3, 'read', 0x6000n);
    offerEventBuffers(h, 5);
    assert.deepEqual(
      faultReports(h).map((f) => f.address),
      [0x1000n, 0x2000n, 0x3000n, 0x6000n],
    );
    assert.equal(h.device.pendingFaults, 0);
  });

  it('dev.fault.single-buffer, dev.fault.older-format: a buffer too small for a report comes back unwritten; the report takes the next', () => {
    const h = makeDevice({ bypass: 0 });
    offerEventBuffers(h, 1, 16);
    offerEventBuffers(h, 1, 64);
    dma(h, EP3, 'read', 0x1000n);
    const used = h.context.queue(1).used;
    assert.deepEqual(
      used.map((u) => [u.chain.writableLength, u.written.length]),
      [
        [16, 0],
        [64, 24],
      ],
    );
    assert.equal(faultReports(h)[0]!.address, 0x1000n);
  });

  it('a device reset forgets the faults that waited', () => {
    const h = makeDevice({ bypass: 0 });
    dma(h, EP3, 'read', 0x1000n);
    h.device.reset();
    offerEventBuffers(h, 1);
    assert.deepEqual(faultReports(h), []);
  });
});
