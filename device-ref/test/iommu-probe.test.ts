// PROBE requests and RESV_MEM properties.

import assert from 'node:assert/strict';
import {
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_PROBE_T_RESV_MEM,
  VIRTIO_IOMMU_RESV_MEM_T_MSI,
  VIRTIO_IOMMU_RESV_MEM_T_RESERVED,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_NOENT,
  VIRTIO_IOMMU_S_OK,
  decodeProbeProperties,
  type ProbeResvMem,
} from '../../dist/ts/index.js';
import {
  ALL_FEATURES,
  bit,
  EP,
  EP2,
  EP3,
  makeDevice,
  MSI_REGION,
  NONEXISTENT,
  probe,
  RESERVED_REGION,
} from './iommu-harness.js';

/** The RESV_MEM properties of a reply, walked as a driver walks them (decodeProbeProperties). */
function properties(
  written: Uint8Array,
  probeSize: number,
): { offset: number; property: ProbeResvMem }[] {
  return decodeProbeProperties(written.subarray(0, probeSize)).map((entry) => {
    assert.equal(entry.kind, 'resv_mem', 'a property of a type the device does not send');
    return entry as { offset: number; property: ProbeResvMem };
  });
}

const TWO_REGIONS = [
  { subtype: VIRTIO_IOMMU_RESV_MEM_T_MSI, start: 0x800_0000n, end: 0x80f_ffffn },
  { subtype: VIRTIO_IOMMU_RESV_MEM_T_RESERVED, start: 0x1000n, end: 0x1fffn },
];

describe('iommu PROBE', () => {
  it('dev.probe.length, dev.probe.property-reserved, dev.resv-mem.reserved: one RESV_MEM property per reserved region', () => {
    const h = makeDevice();
    const written = probe(h, { endpoint: EP });
    assert.equal(written.length, 512 + 4);
    assert.deepEqual(Array.from(written.subarray(512)), [VIRTIO_IOMMU_S_OK, 0, 0, 0]);
    const [entry, ...rest] = properties(written, 512);
    assert.deepEqual(rest, []);
    assert.deepEqual(entry!.property, {
      head: { type: VIRTIO_IOMMU_PROBE_T_RESV_MEM, reserved: 0, length: 20 },
      subtype: VIRTIO_IOMMU_RESV_MEM_T_MSI,
      reserved: new Uint8Array(3),
      start: MSI_REGION.start,
      end: MSI_REGION.end,
    });
    assert.equal(
      properties(probe(h, { endpoint: EP2 }), 512)[0]!.property.start,
      RESERVED_REGION.start,
    );
  });

  it('dev.probe.next-offset: a second property starts length + 4 bytes after the first, in address order', () => {
    const h = makeDevice({ endpoints: [{ id: EP, reservedRegions: TWO_REGIONS }] });
    const list = properties(probe(h, { endpoint: EP }), 512);
    assert.deepEqual(
      list.map((p) => p.offset),
      [0, 24],
    );
    assert.deepEqual(
      list.map((p) => p.property.start),
      [0x1000n, 0x800_0000n],
    );
  });

  it('dev.probe.zero-fill: the rest of properties is zero, and an endpoint without regions gets only zeros', () => {
    const h = makeDevice();
    const written = probe(h, { endpoint: EP });
    assert.ok(written.subarray(24, 512).every((b) => b === 0));
    const empty = probe(h, { endpoint: EP3 });
    assert.ok(empty.subarray(0, 512).every((b) => b === 0));
    assert.equal(empty[512], VIRTIO_IOMMU_S_OK);
  });

  it('dev.probe.reserved: non-zero reserved is disregarded', () => {
    const h = makeDevice();
    assert.equal(probe(h, { endpoint: EP, reserved: 1 })[512], VIRTIO_IOMMU_S_OK);
    assert.equal(probe(h, { endpoint: EP, reserved: 0xffffffff })[512], VIRTIO_IOMMU_S_OK);
  });

  it('dev.probe.noent: an unknown endpoint gets VIRTIO_IOMMU_S_NOENT and no property', () => {
    const h = makeDevice();
    const written = probe(h, { endpoint: NONEXISTENT });
    assert.equal(written[512], VIRTIO_IOMMU_S_NOENT);
    assert.ok(written.subarray(0, 512).every((b) => b === 0));
  });

  it('dev.probe.unoffered-untouched, dev.probe.unoffered-used-len: without VIRTIO_IOMMU_F_PROBE the buffer comes back unwritten', () => {
    const h = makeDevice({ features: ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_PROBE) });
    assert.equal(probe(h, { endpoint: EP }, 512).length, 0);
  });

  it('dev.probe.short-buffer-untouched, dev.probe.short-buffer-inval: less room than probe_size gets VIRTIO_IOMMU_S_INVAL and no property', () => {
    const h = makeDevice();
    const written = probe(h, { endpoint: EP }, 100);
    assert.equal(written.length, 104);
    assert.ok(written.subarray(0, 100).every((b) => b === 0));
    assert.deepEqual(Array.from(written.subarray(100)), [VIRTIO_IOMMU_S_INVAL, 0, 0, 0]);
    assert.equal(h.device.core.endpoints.get(EP)?.probed, false);
  });

  it('puts the tail right after probe_size bytes of properties when the driver gives more room', () => {
    const h = makeDevice();
    const written = probe(h, { endpoint: EP }, 600);
    assert.equal(written.length, 516);
    assert.equal(written[512], VIRTIO_IOMMU_S_OK);
  });

  it('works with a probe_size of 0: only the tail', () => {
    const h = makeDevice({ probeSize: 0, endpoints: [{ id: EP3 }] });
    assert.deepEqual(probe(h, { endpoint: EP3 }), Uint8Array.of(VIRTIO_IOMMU_S_OK, 0, 0, 0));
  });

  it('dev.resv-mem.single-msi, dev.resv-mem.no-overlap: the device refuses a board that would break them', () => {
    const msi = { subtype: VIRTIO_IOMMU_RESV_MEM_T_MSI, start: 0x1000n, end: 0x1fffn };
    assert.throws(
      () =>
        makeDevice({
          endpoints: [{ id: EP, reservedRegions: [msi, { ...msi, start: 0x3000n, end: 0x3fffn }] }],
        }),
      /more than one MSI/,
    );
    assert.throws(
      () =>
        makeDevice({
          endpoints: [
            {
              id: EP,
              reservedRegions: [
                msi,
                { subtype: VIRTIO_IOMMU_RESV_MEM_T_RESERVED, start: 0x1800n, end: 0x2fffn },
              ],
            },
          ],
        }),
      /overlap/,
    );
    assert.throws(() => makeDevice({ probeSize: 20 }), /do not fit in probe_size/);
    assert.doesNotThrow(() =>
      makeDevice({ probeSize: 48, endpoints: [{ id: EP, reservedRegions: TWO_REGIONS }] }),
    );
  });

  it("with the probe-limits draft: PAGE_SIZE_MASK and INPUT_RANGE after the RESV_MEM properties, the board's values; probe_size must hold them", () => {
    const options = {
      pageSizeMask: 0x20_1000n,
      inputRange: { start: 0x1000n, end: 0xfff_ffffn },
      endpoints: [{ id: EP, reservedRegions: TWO_REGIONS }],
    };
    const plain = probe(makeDevice(options), { endpoint: EP });
    const written = probe(makeDevice({ ...options, drafts: ['probe-limits'] }), { endpoint: EP });
    // The RESV_MEM properties are those of a device without the draft; then the draft's own.
    assert.deepEqual(written.subarray(0, 48), plain.subarray(0, 48));
    const hex = Buffer.from(written.subarray(48, 88)).toString('hex');
    assert.equal(
      hex,
      // PAGE_SIZE_MASK (type 2, length 12): reserved, mask.
      '02000c00' +
        '00000000' +
        '0010200000000000' +
        // INPUT_RANGE (type 3, length 20): reserved, start, end.
        '03001400' +
        '00000000' +
        '0010000000000000' +
        'ffffff0f00000000',
    );
    assert.ok(written.subarray(88, 512).every((byte) => byte === 0));
    assert.throws(
      () => makeDevice({ ...options, probeSize: 87, drafts: ['probe-limits'] }),
      /endpoint \d+: 2 RESV_MEM properties and the probe-limits draft's PAGE_SIZE_MASK and INPUT_RANGE need 88 bytes, more than probe_size 87/,
    );
    assert.doesNotThrow(() => makeDevice({ ...options, probeSize: 88, drafts: ['probe-limits'] }));
  });
});
