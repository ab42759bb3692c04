// MAP and UNMAP requests, with the spec's seven UNMAP examples.

import assert from 'node:assert/strict';
import {
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_MAP_F_MMIO,
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
  mapping,
  R,
  RAM,
  RESERVED_REGION,
  RW,
  unmap,
  withDomain,
  type Harness,
} from './iommu-harness.js';

/** map(s, e) of the examples: one unit is one 4 KiB page, mapped onto RAM at the same offset. */
function mapUnits(h: Harness, s: bigint, e: bigint): number {
  return map(h, mapping(s * 0x1000n, (e + 1n) * 0x1000n - 1n, RAM + s * 0x1000n, RW));
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
    assert.equal(map(h, mapping(0x1800n, 0x2fffn, RAM, R)), VIRTIO_IOMMU_S_RANGE);
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });

  it('dev.map.alignment: phys_start off the page grid gets VIRTIO_IOMMU_S_RANGE', () => {
    const h = withDomain();
    assert.equal(map(h, mapping(0x1000n, 0x1fffn, RAM + 0x800n, R)), VIRTIO_IOMMU_S_RANGE);
  });

  it('dev.map.alignment: the address after virt_end off the page grid gets VIRTIO_IOMMU_S_RANGE', () => {
    const h = withDomain();
    assert.equal(map(h, mapping(0x1000n, 0x17ffn, RAM, R)), VIRTIO_IOMMU_S_RANGE);
  });

  it('dev.config.page-sizes: the lowest set bit of page_size_mask is the granularity', () => {
    const h = withDomain({ pageSizeMask: 0x4020_0200n });
    assert.equal(map(h, mapping(0x200n, 0x3ffn, RAM + 0x200n, R)), VIRTIO_IOMMU_S_OK);
    assert.equal(map(h, mapping(0x500n, 0x5ffn, RAM, R)), VIRTIO_IOMMU_S_RANGE);
  });

  it('maps up to the last address of the 64-bit space, and refuses a physical range that would wrap', () => {
    const h = withDomain({ inputRange: { start: 0n, end: 0xffff_ffff_ffff_ffffn } });
    assert.equal(
      map(h, mapping(0xffff_ffff_ffff_f000n, 0xffff_ffff_ffff_ffffn, RAM, R)),
      VIRTIO_IOMMU_S_OK,
    );
    assert.equal(
      map(h, mapping(0x1000n, 0x2fffn, 0xffff_ffff_ffff_f000n, R)),
      VIRTIO_IOMMU_S_RANGE,
    );
  });

  it('dev.map.overlap: a range that overlaps a mapping gets VIRTIO_IOMMU_S_INVAL and the mapping stays', () => {
    const h = withDomain();
    assert.equal(map(h, mapping(0x2000n, 0x3fffn, RAM, R)), VIRTIO_IOMMU_S_OK);
    assert.equal(map(h, mapping(0x3000n, 0x4fffn, RAM + 0x10000n, R)), VIRTIO_IOMMU_S_INVAL);
    assert.equal(map(h, mapping(0x1000n, 0x5fffn, RAM + 0x10000n, R)), VIRTIO_IOMMU_S_INVAL);
    assert.equal(map(h, mapping(0x2000n, 0x3fffn, RAM + 0x10000n, R)), VIRTIO_IOMMU_S_INVAL);
    assert.deepEqual(dma(h, EP, 'read', 0x3000n), { ok: true, pa: RAM + 0x1000n, length: 16 });
  });

  it('dev.map.unknown-flags: undefined flags get VIRTIO_IOMMU_S_INVAL', () => {
    const h = withDomain();
    assert.equal(map(h, mapping(0x1000n, 0x1fffn, RAM, 0x9)), VIRTIO_IOMMU_S_INVAL);
    assert.equal(map(h, mapping(0x1000n, 0x1fffn, RAM, 0x80000001)), VIRTIO_IOMMU_S_INVAL);
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });

  it('dev.map.unknown-flags: VIRTIO_IOMMU_MAP_F_MMIO is known only once VIRTIO_IOMMU_F_MMIO was negotiated', () => {
    const without = withDomain({}, ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_MMIO));
    assert.equal(
      map(without, mapping(0x1000n, 0x1fffn, RAM, RW | VIRTIO_IOMMU_MAP_F_MMIO)),
      VIRTIO_IOMMU_S_INVAL,
    );
    const h = withDomain();
    assert.equal(
      map(h, mapping(0x1000n, 0x1fffn, RAM, RW | VIRTIO_IOMMU_MAP_F_MMIO)),
      VIRTIO_IOMMU_S_OK,
    );
    assert.deepEqual(dma(h, EP, 'write', 0x1000n, 4), { ok: true, pa: RAM, length: 4 });
  });

  it('dev.map.noent: a domain that does not exist gets VIRTIO_IOMMU_S_NOENT', () => {
    const h = makeDevice();
    assert.equal(map(h, mapping(0x1000n, 0x1fffn, RAM, R)), VIRTIO_IOMMU_S_NOENT);
  });

  it('dev.map.bypass-domain: a bypass domain gets VIRTIO_IOMMU_S_INVAL', () => {
    const h = makeDevice();
    attach(h, { domain: 1, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS });
    assert.equal(map(h, mapping(0x1000n, 0x1fffn, RAM, R)), VIRTIO_IOMMU_S_INVAL);
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });

  it('refuses a range outside input_range, and a domain outside domain_range, with VIRTIO_IOMMU_S_RANGE', () => {
    const h = withDomain({ inputRange: { start: 0x1000n, end: 0xf_ffffn } });
    assert.equal(map(h, mapping(0x0n, 0x1fffn, RAM, R)), VIRTIO_IOMMU_S_RANGE);
    assert.equal(map(h, mapping(0xf_f000n, 0x10_0fffn, RAM, R)), VIRTIO_IOMMU_S_RANGE);
    assert.equal(map(h, mapping(0x1000n, 0x1fffn, RAM, R, 0x10000)), VIRTIO_IOMMU_S_RANGE);
    assert.equal(map(h, mapping(0xf_f000n, 0xf_ffffn, RAM, R)), VIRTIO_IOMMU_S_OK);
  });

  it('refuses virt_end not above virt_start with VIRTIO_IOMMU_S_INVAL, even at byte granularity', () => {
    const h = withDomain({ pageSizeMask: 1n });
    assert.equal(map(h, mapping(0x2000n, 0x1fffn, RAM, R)), VIRTIO_IOMMU_S_INVAL);
    assert.equal(map(h, mapping(0x2000n, 0x2000n, RAM, R)), VIRTIO_IOMMU_S_INVAL);
    assert.equal(map(h, mapping(0x2001n, 0x2002n, RAM + 7n, R)), VIRTIO_IOMMU_S_OK);
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
      map(h, mapping(0xfee0_0000n, 0xfee0_0fffn, RAM, RW)),
      VIRTIO_IOMMU_S_INVAL,
      "EP's MSI window",
    );
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });

  it('dev.map.write-protect: a read-only mapping refuses writes', () => {
    const h = withDomain();
    map(h, mapping(0x1000n, 0x1fffn, RAM, R));
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: true, pa: RAM, length: 16 });
    assert.deepEqual(dma(h, EP, 'write', 0x1000n), { ok: false });
  });

  it('dev.map.write-only: not taken, a write-only mapping refuses reads', () => {
    const h = withDomain();
    map(h, mapping(0x1000n, 0x1fffn, RAM, VIRTIO_IOMMU_MAP_F_WRITE));
    assert.deepEqual(dma(h, EP, 'write', 0x1000n), { ok: true, pa: RAM, length: 16 });
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: false });
  });

  it('translates an access that runs past the end of a mapping up to that end', () => {
    const h = withDomain();
    map(h, mapping(0x1000n, 0x1fffn, RAM, RW));
    map(h, mapping(0x2000n, 0x2fffn, RAM + 0x8000n, RW));
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
    const h = withDomain({ maxMappings: 2 });
    assert.equal(mapUnits(h, 0n, 0n), VIRTIO_IOMMU_S_OK);
    assert.equal(mapUnits(h, 1n, 1n), VIRTIO_IOMMU_S_OK);
    assert.equal(mapUnits(h, 2n, 2n), VIRTIO_IOMMU_S_NOMEM);
    assert.equal(mapUnits(h, 1n, 2n), VIRTIO_IOMMU_S_INVAL);
    assert.equal(unmapUnits(h, 1n, 1n), VIRTIO_IOMMU_S_OK);
    assert.equal(mapUnits(h, 2n, 2n), VIRTIO_IOMMU_S_OK);
    // A domain that goes away gives its mappings back.
    attach(h, { domain: 2, endpoint: EP });
    assert.equal(map(h, mapping(0n, 0xfffn, RAM, R, 2)), VIRTIO_IOMMU_S_OK);
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
    const h = withDomain({ pageSizeMask: 1n });
    map(h, mapping(0x10n, 0x11n, RAM, R));
    map(h, mapping(0x12n, 0x13n, RAM, R));
    const before = deviceState(h);
    assert.equal(unmap(h, { domain: 1, virt_start: 0x13n, virt_end: 0x10n }), VIRTIO_IOMMU_S_INVAL);
    assert.deepEqual(deviceState(h), before);
    assert.equal(unmap(h, { domain: 1, virt_start: 0x12n, virt_end: 0x12n }), VIRTIO_IOMMU_S_RANGE);
    assert.equal(unmap(h, { domain: 1, virt_start: 0x10n, virt_end: 0x11n }), VIRTIO_IOMMU_S_OK);
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 1);
  });

  it('refuses a range outside input_range with VIRTIO_IOMMU_S_RANGE', () => {
    const h = withDomain({ inputRange: { start: 0x1000n, end: 0xf_ffffn } });
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
