// Driver findings: every driver rule the device can see broken is reported once, with its
// statement ID and the statement's text from dist/cases.json, and changes nothing else.

import assert from 'node:assert/strict';
import {
  DriverFindings,
  OBSERVED_DRIVER_STATEMENTS,
  type DriverStatement,
} from '../iommu/findings.js';
import {
  VIRTIO_IOMMU_ATTACH_F_BYPASS,
  VIRTIO_IOMMU_F_DOMAIN_RANGE,
  VIRTIO_IOMMU_F_INPUT_RANGE,
  VIRTIO_IOMMU_F_MMIO,
  VIRTIO_IOMMU_F_PROBE,
  VIRTIO_IOMMU_MAP_F_MMIO,
  VIRTIO_IOMMU_S_INVAL,
  VIRTIO_IOMMU_S_OK,
  VIRTIO_IOMMU_S_RANGE,
} from '../../dist/ts/index.js';
import { loadStatementCatalog, statementCatalog } from '../iommu/statements.js';
import {
  ALL_FEATURES,
  attach,
  attachRequest,
  bit,
  detach,
  EP,
  EP2,
  makeDevice,
  map,
  mapping,
  probe,
  R,
  RAM,
  RESERVED_REGION,
  send,
  takeFindings,
  unmap,
  type Harness,
} from './iommu-harness.js';

const catalog = loadStatementCatalog();

/** A device with EP probed and attached to domain 1, findings so far forgotten. */
function ready(features?: bigint): Harness {
  const h = makeDevice({}, features);
  probe(h, { endpoint: EP });
  attach(h, { domain: 1, endpoint: EP });
  takeFindings(h);
  return h;
}

/** Each observed statement, and a way to make a driver break it. */
const triggers: Record<DriverStatement, (h: Harness) => void> = {
  'drv.features.accept': (h) =>
    h.device.featuresAccepted(ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_INPUT_RANGE)),
  'drv.config.read-only': (h) => h.device.writeConfig(32, 4, 1024),
  'drv.config.bypass-write': (h) => {
    h.device.reset();
    h.device.writeConfig(36, 1, 1);
  },
  'drv.config.bypass-value': (h) => h.device.writeConfig(36, 1, 2),
  'drv.init.probe-before-attach': (h) => attach(h, { domain: 2, endpoint: EP2 }),
  'drv.req.head-reserved': (h) => detach(h, { domain: 1, endpoint: EP, headReserved: 0x10 }),
  'drv.req.input-range': (h) => map(h, mapping(0x1_0000_0000_0000n, 0x1_0000_0000_0fffn, RAM, R)),
  'drv.req.domain-range': (h) => map(h, mapping(0n, 0xfffn, RAM, R, 0x10000)),
  'drv.attach.reserved': (h) => attach(h, { domain: 1, endpoint: EP, reserved: 0x100 }),
  'drv.attach.bypass-flag-set': (h) => {
    attach(h, { domain: 3, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS });
    attach(h, { domain: 3, endpoint: EP });
  },
  'drv.attach.bypass-flag-clear': (h) =>
    attach(h, { domain: 1, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS }),
  'drv.detach.reserved': (h) => detach(h, { domain: 1, endpoint: EP, reserved: 1n << 56n }),
  'drv.map.flags-undefined': (h) => map(h, mapping(0n, 0xfffn, RAM, 0x10 | R)),
  'drv.map.bypass-domain': (h) => {
    attach(h, { domain: 3, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS });
    map(h, mapping(0n, 0xfffn, RAM, R, 3));
  },
  'drv.map.virt-end': (h) => map(h, mapping(0x2000n, 0x1fffn, RAM, R)),
  'drv.map.mmio-feature': (h) => {
    h.device.featuresAccepted(ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_MMIO));
    map(h, mapping(0n, 0xfffn, RAM, VIRTIO_IOMMU_MAP_F_MMIO));
  },
  'drv.unmap.reserved': (h) =>
    unmap(h, { domain: 1, virt_start: 0n, virt_end: 0xfffn, reserved: 1 }),
  'drv.unmap.whole-mappings': (h) =>
    unmap(h, { domain: 1, virt_start: 0x8000n, virt_end: 0x8fffn }),
  'drv.unmap.first-address': (h) => {
    map(h, mapping(0x1000n, 0x2fffn, RAM, R));
    unmap(h, { domain: 1, virt_start: 0x2000n, virt_end: 0x3fffn });
  },
  'drv.unmap.last-address': (h) => {
    map(h, mapping(0x1000n, 0x2fffn, RAM, R));
    unmap(h, { domain: 1, virt_start: 0x0n, virt_end: 0x1fffn });
  },
  'drv.unmap.bypass-domain': (h) => {
    attach(h, { domain: 3, endpoint: EP, flags: VIRTIO_IOMMU_ATTACH_F_BYPASS });
    unmap(h, { domain: 3, virt_start: 0n, virt_end: 0xfffn });
  },
  'drv.probe.buffer-size': (h) => probe(h, { endpoint: EP }, 256),
  'drv.probe.reserved': (h) => probe(h, { endpoint: EP, reserved: 0xff }),
  'drv.resv-mem.no-map': (h) => {
    probe(h, { endpoint: EP2 });
    attach(h, { domain: 1, endpoint: EP2 });
    map(h, mapping(RESERVED_REGION.start, RESERVED_REGION.start + 0xfffn, RAM, R));
  },
};

describe('iommu driver findings', () => {
  for (const statement of OBSERVED_DRIVER_STATEMENTS) {
    it(`${statement}: reported with the statement's text`, () => {
      const h = ready();
      triggers[statement](h);
      const found = h.findings.filter((f) => f.statement === statement);
      assert.equal(
        found.length,
        1,
        JSON.stringify(h.findings, (_, v: unknown) =>
          typeof v === 'bigint' ? `0x${v.toString(16)}` : v,
        ),
      );
      assert.equal(found[0]!.detail?.rule, catalog.get(statement)!.text);
      assert.match(found[0]!.message, /\w/);
    });
  }

  it('drv.unmap.first-address, drv.unmap.last-address: a range inside one mapping breaks both', () => {
    const h = ready();
    map(h, mapping(0x1000n, 0x4fffn, RAM, R));
    assert.equal(
      unmap(h, { domain: 1, virt_start: 0x2000n, virt_end: 0x2fffn }),
      VIRTIO_IOMMU_S_RANGE,
    );
    assert.deepEqual(takeFindings(h), ['drv.unmap.first-address', 'drv.unmap.last-address']);
  });

  it('reports a request that follows the rules with no finding', () => {
    const h = ready();
    assert.equal(map(h, mapping(0x1000n, 0x1fffn, RAM, R)), VIRTIO_IOMMU_S_OK);
    assert.equal(unmap(h, { domain: 1, virt_start: 0x0n, virt_end: 0xffffn }), VIRTIO_IOMMU_S_OK);
    probe(h, { endpoint: EP2 });
    attach(h, { domain: 1, endpoint: EP2 });
    assert.equal(detach(h, { domain: 1, endpoint: EP2 }), VIRTIO_IOMMU_S_OK);
    h.device.writeConfig(36, 1, 0);
    assert.deepEqual(h.findings, []);
  });

  it('drv.req.input-range, drv.req.domain-range: a driver that did not negotiate the range is not blamed', () => {
    const h = ready(
      ALL_FEATURES & ~(bit(VIRTIO_IOMMU_F_INPUT_RANGE) | bit(VIRTIO_IOMMU_F_DOMAIN_RANGE)),
    );
    assert.equal(
      map(h, mapping(0x1_0000_0000_0000n, 0x1_0000_0000_0fffn, RAM, R)),
      VIRTIO_IOMMU_S_RANGE,
    );
    assert.equal(attach(h, { domain: 0x10000, endpoint: EP }), VIRTIO_IOMMU_S_RANGE);
    assert.deepEqual(takeFindings(h), []);
  });

  it('drv.init.probe-before-attach: not reported when VIRTIO_IOMMU_F_PROBE was not negotiated', () => {
    const h = makeDevice({}, ALL_FEATURES & ~bit(VIRTIO_IOMMU_F_PROBE));
    takeFindings(h);
    attach(h, { domain: 1, endpoint: EP });
    assert.deepEqual(takeFindings(h), []);
  });

  it('explains an all-zero request in plain words', () => {
    const h = ready();
    assert.equal(send(h, new Uint8Array(20)).length, 0);
    assert.equal(h.findings.length, 1);
    assert.equal(h.findings[0]!.statement, undefined);
    assert.match(h.findings[0]!.message, /all zero/);
    assert.match(h.findings[0]!.message, /vmalloc/);
    assert.match(h.findings[0]!.message, /kmalloc/);
  });

  it('reports a request of an unknown type, an ATTACH flag that is not defined, and buffers of the wrong size', () => {
    const h = ready();
    send(h, attachRequest({ type: 9, domain: 1, endpoint: EP }));
    assert.equal(attach(h, { domain: 1, endpoint: EP, flags: 4 }), VIRTIO_IOMMU_S_INVAL);
    send(h, attachRequest({ domain: 1, endpoint: EP }), 8);
    send(h, attachRequest({ domain: 1, endpoint: EP }).subarray(0, 8));
    send(h, attachRequest({ domain: 1, endpoint: EP }), 2);
    assert.deepEqual(
      h.findings.map((f) => [
        f.statement,
        /type 9|not defined|8 bytes|instead of 20|no room/.test(f.message),
      ]),
      Array(5).fill([undefined, true]),
    );
  });

  it('refuses to start when dist/cases.json lacks a statement it reports', () => {
    const cases = { statements: [...catalog.values()].filter((s) => s.id !== 'drv.map.virt-end') };
    assert.throws(
      () => new DriverFindings(statementCatalog(cases), () => {}),
      /drv\.map\.virt-end/,
    );
    const flipped = {
      statements: [...catalog.values()].map((s) =>
        s.id === 'drv.unmap.reserved' ? { ...s, role: 'device' } : s,
      ),
    };
    assert.throws(
      () => new DriverFindings(statementCatalog(flipped), () => {}),
      /drv\.unmap\.reserved/,
    );
    assert.throws(() => statementCatalog({ statements: [{ id: 'x' }] }), /malformed/);
    assert.throws(() => statementCatalog({}), /no "statements"/);
  });
});
