// MAP and UNMAP requests, with the spec's seven UNMAP examples.

import assert from 'node:assert/strict';
import {
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_MAP_F_MMIO,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_MAP_F_WRITE,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_NOMEM,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
} from '../../dist/ts/index.js';
import {
  ALL_FEATURES,
  attach,
  bit,
  deviceState,
  dma,
  EP,
  EP2,
  makeDevice,
  map,
  RAM,
  RESERVED_REGION,
  unmap,
  type Harness,
} from './iommu-harness.js';

const R = VIRTIO_IOMMU_MAP_F_READ;
const RW = VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE;

function withDomain(): Harness {
  const h = makeDevice();
  attach(h, { domain: 1, endpoint: EP });
  return h;
}

/** map(s, e) of the examples: one unit is one 4 KiB page, mapped onto RAM at the same offset. */
function mapUnits(h: Harness, s: bigint, e: bigint): number {
  return map(h, {
    domain: 1,
    virt_start: s * 0x1000n,
    virt_end: (e + 1n) * 0x1000n - 1n,
    phys_start: RAM + s * 0x1000n,
    flags: RW,
  });
}

function unmapUnits(h: Harness, s: bigint, e: bigint): number {
  return unmap(h, { domain: 1, virt_start: s * 0x1000n, virt_end: (e + 1n) * 0x1000n - 1n });
}

/** The units of 0..14 that EP can still read. */
function reachable(h: Harness): number[] {
  const units: number[] = [];
  for (let u = 0; u < 15; u++)
    if (dma(h, EP, 'read', BigInt(u) * 0x1000n + 0x10n).ok) units.push(u);
  return units;
}

describe('iommu MAP', () => {
  it('dev.map.alignment: virt_start off the page grid gets VIRTIO_IOMMU_S_RANGE', () => {
    const h = withDomain();
    assert.equal(
      map(h, { domain: 1, virt_start: 0x1800n, virt_end: 0x2fffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_RANGE,
    );
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });

  it('dev.map.alignment: phys_start off the page grid gets VIRTIO_IOMMU_S_RANGE', () => {
    const h = withDomain();
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0x1000n,
        virt_end: 0x1fffn,
        phys_start: RAM + 0x800n,
        flags: R,
      }),
      VIRTIO_IOMMU_S_RANGE,
    );
  });

  it('dev.map.alignment: the address after virt_end off the page grid gets VIRTIO_IOMMU_S_RANGE', () => {
    const h = withDomain();
    assert.equal(
      map(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x17ffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_RANGE,
    );
  });

  it('dev.config.page-sizes: the lowest set bit of page_size_mask is the granularity', () => {
    const h = makeDevice({ pageSizeMask: 0x4020_0200n });
    attach(h, { domain: 1, endpoint: EP });
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0x200n,
        virt_end: 0x3ffn,
        phys_start: RAM + 0x200n,
        flags: R,
      }),
      VIRTIO_IOMMU_S_OK,
    );
    assert.equal(
      map(h, { domain: 1, virt_start: 0x500n, virt_end: 0x5ffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_RANGE,
    );
  });

  it('maps up to the last address of the 64-bit space, and refuses a physical range that would wrap', () => {
    const h = makeDevice({ inputRange: { start: 0n, end: 0xffff_ffff_ffff_ffffn } });
    attach(h, { domain: 1, endpoint: EP });
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0xffff_ffff_ffff_f000n,
        virt_end: 0xffff_ffff_ffff_ffffn,
        phys_start: RAM,
        flags: R,
      }),
      VIRTIO_IOMMU_S_OK,
    );
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0x1000n,
        virt_end: 0x2fffn,
        phys_start: 0xffff_ffff_ffff_f000n,
        flags: R,
      }),
      VIRTIO_IOMMU_S_RANGE,
    );
  });

  it('dev.map.overlap: a range that overlaps a mapping gets VIRTIO_IOMMU_S_INVAL and the mapping stays', () => {
    const h = withDomain();
    assert.equal(
      map(h, { domain: 1, virt_start: 0x2000n, virt_end: 0x3fffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_OK,
    );
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0x3000n,
        virt_end: 0x4fffn,
        phys_start: RAM + 0x10000n,
        flags: R,
      }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0x1000n,
        virt_end: 0x5fffn,
        phys_start: RAM + 0x10000n,
        flags: R,
      }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0x2000n,
        virt_end: 0x3fffn,
        phys_start: RAM + 0x10000n,
        flags: R,
      }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.deepEqual(dma(h, EP, 'read', 0x3000n), { ok: true, pa: RAM + 0x1000n, length: 16 });
  });

  it('dev.map.unknown-flags: undefined flags get VIRTIO_IOMMU_S_INVAL', () => {
    const h = withDomain();
    assert.equal(
      map(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x1fffn, phys_start: RAM, flags: 0x9 }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0x1000n,
        virt_end: 0x1fffn,
        phys_start: RAM,
        flags: 0x80000001,
      }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });

  it('dev.map.unknown-flags: VIRTIO_IOMMU_MAP_F_MMIO is known only once VIRTIO_IOMMU_F_MMIO was negotiated', () => {
    const without = makeDevice({}, ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_MMIO));
    attach(without, { domain: 1, endpoint: EP });
    assert.equal(
      map(without, {
        domain: 1,
        virt_start: 0x1000n,
        virt_end: 0x1fffn,
        phys_start: RAM,
        flags: RW | VIRTIO_IOMMU_MAP_F_MMIO,
      }),
      VIRTIO_IOMMU_S_INVAL,
    );
    const h = withDomain();
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0x1000n,
        virt_end: 0x1fffn,
        phys_start: RAM,
        flags: RW | VIRTIO_IOMMU_MAP_F_MMIO,
      }),
      VIRTIO_IOMMU_S_OK,
    );
    assert.deepEqual(dma(h, EP, 'write', 0x1000n, 4), { ok: true, pa: RAM, length: 4 });
  });

  it('dev.map.noent: a domain that does not exist gets VIRTIO_IOMMU_S_NOENT', () => {
    const h = makeDevice();
    assert.equal(
      map(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x1fffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_NOENT,
    );
  });

  it('dev.map.bypass-domain: a bypass domain gets VIRTIO_IOMMU_S_INVAL', () => {
    const h = makeDevice();
    attach(h, { domain: 1, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS });
    assert.equal(
      map(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x1fffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });

  it('refuses a range outside input_range, and a domain outside domain_range, with VIRTIO_IOMMU_S_RANGE', () => {
    const h = makeDevice({ inputRange: { start: 0x1000n, end: 0xf_ffffn } });
    attach(h, { domain: 1, endpoint: EP });
    assert.equal(
      map(h, { domain: 1, virt_start: 0x0n, virt_end: 0x1fffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_RANGE,
    );
    assert.equal(
      map(h, { domain: 1, virt_start: 0xf_f000n, virt_end: 0x10_0fffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_RANGE,
    );
    assert.equal(
      map(h, {
        domain: 0x10000,
        virt_start: 0x1000n,
        virt_end: 0x1fffn,
        phys_start: RAM,
        flags: R,
      }),
      VIRTIO_IOMMU_S_RANGE,
    );
    assert.equal(
      map(h, { domain: 1, virt_start: 0xf_f000n, virt_end: 0xf_ffffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_OK,
    );
  });

  it('refuses virt_end not above virt_start with VIRTIO_IOMMU_S_INVAL, even at byte granularity', () => {
    const h = makeDevice({ pageSizeMask: 1n });
    attach(h, { domain: 1, endpoint: EP });
    assert.equal(
      map(h, { domain: 1, virt_start: 0x2000n, virt_end: 0x1fffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(
      map(h, { domain: 1, virt_start: 0x2000n, virt_end: 0x2000n, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.equal(
      map(h, { domain: 1, virt_start: 0x2001n, virt_end: 0x2002n, phys_start: RAM + 7n, flags: R }),
      VIRTIO_IOMMU_S_OK,
    );
  });

  it('dev.resv-mem.map-refused: a range over a reserved region of an attached endpoint gets VIRTIO_IOMMU_S_INVAL', () => {
    const h = withDomain();
    const span = {
      virt_start: RESERVED_REGION.start - 0x1000n,
      virt_end: RESERVED_REGION.start + 0xfffn,
      phys_start: RAM,
      flags: R,
    };
    assert.equal(map(h, { domain: 1, ...span }), VIRTIO_IOMMU_S_OK, 'EP has no region there');
    assert.equal(
      unmap(h, { domain: 1, virt_start: span.virt_start, virt_end: span.virt_end }),
      VIRTIO_IOMMU_S_OK,
    );
    attach(h, { domain: 1, endpoint: EP2 });
    assert.equal(map(h, { domain: 1, ...span }), VIRTIO_IOMMU_S_INVAL);
    assert.equal(
      map(h, {
        domain: 1,
        virt_start: 0xfee0_0000n,
        virt_end: 0xfee0_0fffn,
        phys_start: RAM,
        flags: RW,
      }),
      VIRTIO_IOMMU_S_INVAL,
      "EP's MSI window",
    );
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });

  it('dev.map.write-protect: a read-only mapping refuses writes', () => {
    const h = withDomain();
    map(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x1fffn, phys_start: RAM, flags: R });
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: true, pa: RAM, length: 16 });
    assert.deepEqual(dma(h, EP, 'write', 0x1000n), { ok: false });
  });

  it('dev.map.write-only: not taken, a write-only mapping refuses reads', () => {
    const h = withDomain();
    map(h, {
      domain: 1,
      virt_start: 0x1000n,
      virt_end: 0x1fffn,
      phys_start: RAM,
      flags: VIRTIO_IOMMU_MAP_F_WRITE,
    });
    assert.deepEqual(dma(h, EP, 'write', 0x1000n), { ok: true, pa: RAM, length: 16 });
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: false });
  });

  it('translates an access that runs past the end of a mapping up to that end', () => {
    const h = withDomain();
    map(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x1fffn, phys_start: RAM, flags: RW });
    map(h, {
      domain: 1,
      virt_start: 0x2000n,
      virt_end: 0x2fffn,
      phys_start: RAM + 0x8000n,
      flags: RW,
    });
    assert.deepEqual(dma(h, EP, 'read', 0x1ff0n, 0x20), {
      ok: true,
      pa: RAM + 0xff0n,
      length: 0x10,
    });
    assert.deepEqual(dma(h, EP, 'read', 0x2000n, 0x10), {
      ok: true,
      pa: RAM + 0x8000n,
      length: 0x10,
    });
  });

  it('answers VIRTIO_IOMMU_S_NOMEM beyond the mapping limit, and still VIRTIO_IOMMU_S_INVAL to an overlap', () => {
    const h = makeDevice({ maxMappings: 2 });
    attach(h, { domain: 1, endpoint: EP });
    assert.equal(mapUnits(h, 0n, 0n), VIRTIO_IOMMU_S_OK);
    assert.equal(mapUnits(h, 1n, 1n), VIRTIO_IOMMU_S_OK);
    assert.equal(mapUnits(h, 2n, 2n), VIRTIO_IOMMU_S_NOMEM);
    assert.equal(mapUnits(h, 1n, 2n), VIRTIO_IOMMU_S_INVAL);
    assert.equal(unmapUnits(h, 1n, 1n), VIRTIO_IOMMU_S_OK);
    assert.equal(mapUnits(h, 2n, 2n), VIRTIO_IOMMU_S_OK);
    // A domain that goes away gives its mappings back.
    attach(h, { domain: 2, endpoint: EP });
    assert.equal(
      map(h, { domain: 2, virt_start: 0n, virt_end: 0xfffn, phys_start: RAM, flags: R }),
      VIRTIO_IOMMU_S_OK,
    );
  });
});

describe('iommu UNMAP', () => {
  it('dev.unmap.gaps: example 1, unmap(0, 4) on an empty domain succeeds', () => {
    const h = withDomain();
    assert.equal(unmapUnits(h, 0n, 4n), VIRTIO_IOMMU_S_OK);
  });

  it('dev.unmap.covered: example 2, a = map(0, 9); unmap(0, 9) removes a', () => {
    const h = withDomain();
    mapUnits(h, 0n, 9n);
    assert.deepEqual(reachable(h), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(unmapUnits(h, 0n, 9n), VIRTIO_IOMMU_S_OK);
    assert.deepEqual(reachable(h), []);
  });

  it('dev.unmap.covered: example 3, a = map(0, 4); b = map(5, 9); unmap(0, 9) removes a and b', () => {
    const h = withDomain();
    mapUnits(h, 0n, 4n);
    mapUnits(h, 5n, 9n);
    assert.equal(unmapUnits(h, 0n, 9n), VIRTIO_IOMMU_S_OK);
    assert.deepEqual(reachable(h), []);
  });

  it('dev.unmap.split-status, dev.unmap.split-keep: example 4, a = map(0, 9); unmap(0, 4) fails and removes nothing', () => {
    const h = withDomain();
    mapUnits(h, 0n, 9n);
    assert.equal(unmapUnits(h, 0n, 4n), VIRTIO_IOMMU_S_RANGE);
    assert.deepEqual(reachable(h), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('dev.unmap.covered: example 5, a = map(0, 4); b = map(5, 9); unmap(0, 4) removes a and keeps b', () => {
    const h = withDomain();
    mapUnits(h, 0n, 4n);
    mapUnits(h, 5n, 9n);
    assert.equal(unmapUnits(h, 0n, 4n), VIRTIO_IOMMU_S_OK);
    assert.deepEqual(reachable(h), [5, 6, 7, 8, 9]);
  });

  it('dev.unmap.gaps: example 6, a = map(0, 4); unmap(0, 9) removes a', () => {
    const h = withDomain();
    mapUnits(h, 0n, 4n);
    assert.equal(unmapUnits(h, 0n, 9n), VIRTIO_IOMMU_S_OK);
    assert.deepEqual(reachable(h), []);
  });

  it('dev.unmap.gaps: example 7, a = map(0, 4); b = map(10, 14); unmap(0, 14) removes a and b', () => {
    const h = withDomain();
    mapUnits(h, 0n, 4n);
    mapUnits(h, 10n, 14n);
    assert.deepEqual(reachable(h), [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
    assert.equal(unmapUnits(h, 0n, 14n), VIRTIO_IOMMU_S_OK);
    assert.deepEqual(reachable(h), []);
  });

  it('dev.unmap.split-keep: a = map(0, 4); b = map(5, 9); unmap(0, 6) splits b, so a stays too', () => {
    const h = withDomain();
    mapUnits(h, 0n, 4n);
    mapUnits(h, 5n, 9n);
    assert.equal(unmapUnits(h, 0n, 6n), VIRTIO_IOMMU_S_RANGE);
    assert.deepEqual(reachable(h), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('dev.unmap.split-status: a range inside one mapping, or starting inside one, gets VIRTIO_IOMMU_S_RANGE', () => {
    const h = withDomain();
    mapUnits(h, 0n, 9n);
    assert.equal(unmapUnits(h, 3n, 5n), VIRTIO_IOMMU_S_RANGE);
    assert.equal(unmapUnits(h, 5n, 14n), VIRTIO_IOMMU_S_RANGE);
    assert.deepEqual(reachable(h), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('dev.unmap.reserved, dev.unmap.reserved-perform: non-zero reserved gets VIRTIO_IOMMU_S_INVAL and removes nothing', () => {
    const h = withDomain();
    mapUnits(h, 1n, 1n);
    assert.equal(
      unmap(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x1fffn, reserved: 1 }),
      VIRTIO_IOMMU_S_INVAL,
    );
    assert.deepEqual(reachable(h), [1]);
  });

  it('dev.unmap.noent: a domain that does not exist gets VIRTIO_IOMMU_S_NOENT', () => {
    const h = makeDevice();
    assert.equal(
      unmap(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x1fffn }),
      VIRTIO_IOMMU_S_NOENT,
    );
  });

  it('dev.unmap.bypass-domain: a bypass domain gets VIRTIO_IOMMU_S_INVAL', () => {
    const h = makeDevice();
    attach(h, { domain: 1, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS });
    assert.equal(
      unmap(h, { domain: 1, virt_start: 0x1000n, virt_end: 0x1fffn }),
      VIRTIO_IOMMU_S_INVAL,
    );
  });

  it('refuses virt_end below virt_start with VIRTIO_IOMMU_S_INVAL, and unmaps a single byte at byte granularity', () => {
    const h = makeDevice({ pageSizeMask: 1n });
    attach(h, { domain: 1, endpoint: EP });
    map(h, { domain: 1, virt_start: 0x10n, virt_end: 0x11n, phys_start: RAM, flags: R });
    map(h, { domain: 1, virt_start: 0x12n, virt_end: 0x13n, phys_start: RAM, flags: R });
    const before = deviceState(h);
    assert.equal(unmap(h, { domain: 1, virt_start: 0x13n, virt_end: 0x10n }), VIRTIO_IOMMU_S_INVAL);
    assert.deepEqual(deviceState(h), before);
    assert.equal(unmap(h, { domain: 1, virt_start: 0x12n, virt_end: 0x12n }), VIRTIO_IOMMU_S_RANGE);
    assert.equal(unmap(h, { domain: 1, virt_start: 0x10n, virt_end: 0x11n }), VIRTIO_IOMMU_S_OK);
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 1);
  });

  it('refuses a range outside input_range with VIRTIO_IOMMU_S_RANGE', () => {
    const h = makeDevice({ inputRange: { start: 0x1000n, end: 0xf_ffffn } });
    attach(h, { domain: 1, endpoint: EP });
    assert.equal(
      unmap(h, { domain: 1, virt_start: 0n, virt_end: 0xffff_ffffn }),
      VIRTIO_IOMMU_S_RANGE,
    );
    assert.equal(
      unmap(h, { domain: 0, virt_start: 0x1000n, virt_end: 0x1fffn }),
      VIRTIO_IOMMU_S_RANGE,
    );
  });
});
