// Feature bits, the configuration space and resets.

import assert from 'node:assert/strict';
import { loadBoardDescription } from '../board/description.js';
import { FindingLog } from '../platform/findings.js';
import {
  VIRTIO_IOMMU_F_BYPASS,
  VIRTIO_IOMMU_F_BYPASS_CONFIG,
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MAP_UNMAP,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_MAP_F_READ,
  VIRTIO_IOMMU_S_OK,
} from '../../dist/ts/index.js';
import { createIommuModel, iommuOptionsOf } from '../board/iommu-model.js';
import {
  ALL_FEATURES,
  attach,
  bit,
  dma,
  EP,
  EP3,
  FakeContext,
  makeDevice,
  map,
  mapping,
  RAM,
  withDomain,
  type Harness,
} from './iommu-harness.js';

function config64(h: Harness, offset: number): bigint {
  return (
    (BigInt(h.device.readConfig(offset + 4, 4)) << 32n) | BigInt(h.device.readConfig(offset, 4))
  );
}

describe('iommu features', () => {
  const q35 = iommuOptionsOf(
    loadBoardDescription('q35').iommu,
    loadBoardDescription('q35').endpoints,
  );

  it('dev.features.map-unmap: the q35 board offers VIRTIO_IOMMU_F_MAP_UNMAP', () => {
    assert.equal(q35.features & bit(VIRTIO_IOMMU_F_MAP_UNMAP), bit(VIRTIO_IOMMU_F_MAP_UNMAP));
  });

  it('dev.features.no-legacy-bypass, dev.features.bypass-exclusive: the q35 board does not offer VIRTIO_IOMMU_F_BYPASS', () => {
    assert.equal(q35.features & bit(VIRTIO_IOMMU_F_BYPASS), 0n);
  });

  it('offers exactly the device-type features of its configuration', () => {
    const h = makeDevice({ features: bit(VIRTIO_IOMMU_F_MAP_UNMAP) });
    assert.equal(h.device.offeredFeatures(), bit(VIRTIO_IOMMU_F_MAP_UNMAP));
  });
});

describe('iommu device configuration', () => {
  it('dev.config.page-size-mask: page_size_mask is not zero, and a device cannot be made with 0', () => {
    const h = makeDevice();
    assert.equal(config64(h, 0), 0xffff_ffff_ffff_f000n);
    assert.throws(() => makeDevice({ pageSizeMask: 0n }), /page_size_mask/);
  });

  it('lays out input_range, domain_range and probe_size as struct virtio_iommu_config does', () => {
    const h = makeDevice({
      inputRange: { start: 0x1000n, end: 0xffff_ffff_ffffn },
      domainRange: { start: 2, end: 0x1234 },
      probeSize: 256,
    });
    assert.equal(config64(h, 8), 0x1000n);
    assert.equal(config64(h, 16), 0xffff_ffff_ffffn);
    assert.equal(h.device.readConfig(24, 4), 2);
    assert.equal(h.device.readConfig(28, 4), 0x1234);
    assert.equal(h.device.readConfig(28, 2), 0x1234);
    assert.equal(h.device.readConfig(32, 4), 256);
    assert.equal(h.device.readConfig(37, 1), 0);
  });

  it("shows the limits that apply when a field's feature is not offered", () => {
    const features =
      ALL_FEATURES &
      ~(
        bit(VIRTIO_IOMMU_F_INPUT_RANGE) |
        bit(VIRTIO_IOMMU_F_DOMAIN_RANGE) |
        bit(VIRTIO_IOMMU_F_PROBE) |
        bit(VIRTIO_IOMMU_F_BYPASS_CONFIG)
      );
    const h = makeDevice({ features, inputRange: { start: 0x1000n, end: 0xffffn }, bypass: 1 });
    assert.equal(config64(h, 8), 0n);
    assert.equal(config64(h, 16), 0xffff_ffff_ffff_ffffn);
    assert.equal(h.device.readConfig(24, 4), 0);
    assert.equal(h.device.readConfig(28, 4), 0xffff_ffff);
    assert.equal(h.device.readConfig(32, 4), 0);
    assert.equal(h.device.readConfig(36, 1), 0);
    // Without the features, the limits do not apply either.
    attach(h, { domain: 0, endpoint: EP });
    assert.equal(
      map(h, mapping(0x10_0000n, 0x10_0fffn, RAM, VIRTIO_IOMMU_MAP_F_READ, 0)),
      VIRTIO_IOMMU_S_OK,
    );
  });

  it('reads all ones past the end of the configuration', () => {
    const h = makeDevice();
    assert.equal(h.device.readConfig(40, 1), 0xff);
    assert.equal(h.device.readConfig(38, 4), 0xffff_ffff);
    assert.equal(h.device.readConfig(0x100, 2), 0xffff);
  });

  it('dev.config.bypass-initial: the device can start with bypass = 1', () => {
    assert.equal(makeDevice({ bypass: 1 }).device.readConfig(36, 1), 1);
    assert.equal(makeDevice({ bypass: 0 }).device.readConfig(36, 1), 0);
  });

  it('lets the driver change bypass once VIRTIO_IOMMU_F_BYPASS_CONFIG is negotiated, and only then', () => {
    const h = makeDevice({ bypass: 0 });
    h.device.writeConfig(36, 1, 1);
    assert.equal(h.device.readConfig(36, 1), 1);
    assert.deepEqual(dma(h, EP3, 'read', RAM), { ok: true, pa: RAM, length: 16 });
    const declined = makeDevice({ bypass: 0 }, ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_BYPASS_CONFIG));
    declined.device.writeConfig(36, 1, 1);
    assert.equal(declined.device.readConfig(36, 1), 0);
  });

  it('dev.config.bypass-value: bypass never shows anything but 0 or 1', () => {
    const h = makeDevice({ bypass: 1 });
    for (const value of [2, 0xff, 0x80]) {
      h.device.writeConfig(36, 1, value);
      assert.equal(h.device.readConfig(36, 1), 1);
    }
    h.device.writeConfig(36, 1, 0);
    h.device.writeConfig(36, 1, 3);
    assert.equal(h.device.readConfig(36, 1), 0);
  });

  it('keeps every other field read-only, even in a wider write that includes bypass', () => {
    const h = makeDevice({ bypass: 0 });
    h.device.writeConfig(0, 4, 0x1234);
    h.device.writeConfig(32, 4, 4096);
    h.device.writeConfig(36, 4, 0xffff_ff01);
    assert.equal(config64(h, 0), 0xffff_ffff_ffff_f000n);
    assert.equal(h.device.readConfig(32, 4), 512);
    assert.equal(h.device.readConfig(36, 4), 1);
  });
});

describe('iommu configurations a device cannot have', () => {
  const cases: [string, Parameters<typeof makeDevice>[0], RegExp][] = [
    [
      'an input_range that runs backwards',
      { inputRange: { start: 0x2000n, end: 0x1000n } },
      /input_range/,
    ],
    ['a domain_range past 32 bits', { domainRange: { start: 0, end: 2 ** 32 } }, /domain_range/],
    ['a probe_size that is not a byte count', { probeSize: 1.5 }, /probe_size/],
    ['no room for any mapping', { maxMappings: 0 }, /maxMappings/],
    ['a negative fault backlog', { faultBacklog: -1 }, /faultBacklog/],
    ['an endpoint ID past 32 bits', { endpoints: [{ id: 2 ** 32 }] }, /endpoint ID/],
    ['an endpoint declared twice', { endpoints: [{ id: EP }, { id: EP }] }, /declared twice/],
    [
      'a RESV_MEM subtype the spec does not define',
      { endpoints: [{ id: EP, reservedRegions: [{ subtype: 7, start: 0n, end: 1n }] }] },
      /subtype 7/,
    ],
    [
      'a reserved region that runs backwards',
      { endpoints: [{ id: EP, reservedRegions: [{ subtype: 0, start: 2n, end: 1n }] }] },
      /not a 64-bit range/,
    ],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what}`, () => {
      assert.throws(() => makeDevice(options), message);
    });
  }
});

describe('iommu resets', () => {
  it('dev.config.bypass-device-reset: bypass keeps its value across a device reset', () => {
    for (const value of [0, 1]) {
      const h = makeDevice({ bypass: value === 0 ? 1 : 0 });
      h.device.writeConfig(36, 1, value);
      h.device.reset();
      assert.equal(h.device.readConfig(36, 1), value);
    }
  });

  it('dev.config.bypass-system-reset: a system reset, which builds the device anew, shows the first value again', () => {
    const before = makeDevice({ bypass: 1 });
    before.device.writeConfig(36, 1, 0);
    before.device.reset();
    assert.equal(before.device.readConfig(36, 1), 0);
    const after = makeDevice(before.device.core.options);
    assert.equal(after.device.readConfig(36, 1), 1);
  });

  it('a device reset detaches every endpoint, drops every domain and forgets the features', () => {
    const h = withDomain({ bypass: 0 });
    map(h, mapping(0x1000n, 0x1fffn, RAM, VIRTIO_IOMMU_MAP_F_READ));
    h.device.reset();
    assert.equal(h.device.core.domains.size, 0);
    assert.equal(h.device.core.endpoints.get(EP)?.domain, undefined);
    assert.deepEqual(dma(h, EP, 'read', 0x1000n), { ok: false });
    assert.equal(h.device.core.negotiated(VIRTIO_IOMMU_F_MAP_UNMAP), false);
    h.device.featuresAccepted(ALL_FEATURES);
    assert.equal(attach(h, { domain: 1, endpoint: EP }), VIRTIO_IOMMU_S_OK);
    assert.equal(h.device.core.domains.get(1)?.mappings.size, 0);
  });
});

describe('iommu model for a board', () => {
  it("builds a device from each preset and reports findings into the board's log", () => {
    for (const preset of ['q35', 'arm64-virt']) {
      const board = loadBoardDescription(preset);
      const findings = new FindingLog();
      const model = createIommuModel({
        config: board.iommu,
        endpoints: board.endpoints,
        findings,
        virtio: new FakeContext(),
      });
      assert.equal(model.deviceId, 23);
      assert.deepEqual(model.queueMaxSizes, [256, 256]);
      model.writeConfig(0, 1, 0);
      assert.equal(findings.entries[0]?.statement, 'drv.config.read-only');
    }
  });

  it('takes the endpoints, their reserved regions and the configuration from the description', () => {
    const board = loadBoardDescription('q35');
    const options = iommuOptionsOf(board.iommu, board.endpoints);
    assert.deepEqual(
      options.endpoints.map((e) => e.id),
      board.endpoints.map((e) => e.endpoint),
    );
    assert.equal(options.pageSizeMask, board.iommu.page_size_mask);
    assert.equal(options.probeSize, board.iommu.probe_size);
    assert.equal(options.bypass, board.iommu.bypass ? 1 : 0);
  });
});
