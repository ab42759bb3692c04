// The facts of the real spec, as the model has them: layouts, groups, statements, determinism.

import assert from 'node:assert/strict';
import type { SpecModel, Struct } from '../model.js';
import { modelOutputs } from '../outputs.js';
import { validator } from '../schemas.js';
import { buildSpecModel } from './spec-model.js';

describe('the spec model', () => {
  let model: SpecModel;
  const struct = (name: string): Struct => {
    const s = model.structs.find((x) => x.name === name);
    assert.ok(s, `no struct ${name}`);
    return s;
  };
  const offsets = (name: string) =>
    Object.fromEntries(struct(name).fields.map((f) => [f.name, f.offset]));

  before(() => {
    model = buildSpecModel();
  });

  it('is the device with ID 23 and two virtqueues', () => {
    assert.equal(model.deviceId, 23);
    assert.deepEqual(
      model.virtqueues.map((q) => [q.index, q.name]),
      [
        [0, 'requestq'],
        [1, 'eventq'],
      ],
    );
  });

  it('lays out the requests as the spec defines them', () => {
    assert.equal(struct('virtio_iommu_req_head').size, 4);
    assert.equal(struct('virtio_iommu_req_tail').size, 4);
    assert.equal(struct('virtio_iommu_req_attach').size, 24);
    assert.deepEqual(offsets('virtio_iommu_req_attach'), {
      head: 0,
      domain: 4,
      endpoint: 8,
      flags: 12,
      reserved: 16,
      tail: 20,
    });
    assert.equal(struct('virtio_iommu_req_detach').size, 24);
    assert.equal(struct('virtio_iommu_req_map').size, 40);
    assert.deepEqual(offsets('virtio_iommu_req_map'), {
      head: 0,
      domain: 4,
      virt_start: 8,
      virt_end: 16,
      phys_start: 24,
      flags: 32,
      tail: 36,
    });
    assert.equal(struct('virtio_iommu_req_unmap').size, 32);
    assert.deepEqual(offsets('virtio_iommu_req_unmap'), {
      head: 0,
      domain: 4,
      virt_start: 8,
      virt_end: 16,
      reserved: 24,
      tail: 28,
    });
  });

  it('splits every request into the part the device reads and the part it writes', () => {
    const parts = (name: string) => struct(name).request;
    assert.deepEqual(parts('virtio_iommu_req_attach'), {
      type: 'VIRTIO_IOMMU_T_ATTACH',
      readableSize: 20,
      writableSize: 4,
    });
    assert.deepEqual(parts('virtio_iommu_req_map'), {
      type: 'VIRTIO_IOMMU_T_MAP',
      readableSize: 36,
      writableSize: 4,
    });
    assert.deepEqual(parts('virtio_iommu_req_probe'), {
      type: 'VIRTIO_IOMMU_T_PROBE',
      readableSize: 72,
      writableSize: 4,
      writableVariable: 'properties',
    });
    const probe = struct('virtio_iommu_req_probe');
    const properties = probe.fields.find((f) => f.name === 'properties');
    assert.equal(properties?.kind, 'variable');
    assert.equal(properties?.kind === 'variable' && properties.lengthField, 'probe_size');
    assert.equal(properties?.offset, 72);
  });

  it('lays out the configuration, the property header, RESV_MEM and the fault report', () => {
    assert.equal(struct('virtio_iommu_config').size, 40);
    assert.deepEqual(offsets('virtio_iommu_config'), {
      page_size_mask: 0,
      input_range: 8,
      domain_range: 24,
      probe_size: 32,
      bypass: 36,
      reserved: 37,
    });
    assert.equal(struct('virtio_iommu_range_64').size, 16);
    assert.equal(struct('virtio_iommu_range_32').size, 8);
    const property = struct('virtio_iommu_probe_property');
    assert.equal(property.size, 4);
    const bits = property.fields[0];
    assert.equal(bits.kind, 'bits');
    assert.deepEqual(bits.kind === 'bits' && bits.bits, [
      { name: 'type', shift: 0, width: 12 },
      { name: 'reserved', shift: 12, width: 4 },
    ]);
    assert.equal(struct('virtio_iommu_probe_resv_mem').size, 24);
    assert.deepEqual(offsets('virtio_iommu_probe_resv_mem'), {
      head: 0,
      subtype: 4,
      reserved: 5,
      start: 8,
      end: 16,
    });
    assert.equal(struct('virtio_iommu_fault').size, 24);
    assert.deepEqual(offsets('virtio_iommu_fault'), {
      reason: 0,
      reserved: 1,
      flags: 4,
      endpoint: 8,
      reserved1: 12,
      address: 16,
    });
  });

  it('has every constant of the spec in its group', () => {
    const group = (prefix: string) =>
      Object.fromEntries(
        model.constants
          .filter((c) => c.group === prefix)
          .map((c) => [c.name.slice(prefix.length), c.value]),
      );
    assert.deepEqual(group('VIRTIO_IOMMU_T_'), {
      ATTACH: 1,
      DETACH: 2,
      MAP: 3,
      UNMAP: 4,
      PROBE: 5,
    });
    assert.deepEqual(group('VIRTIO_IOMMU_S_'), {
      OK: 0,
      IOERR: 1,
      UNSUPP: 2,
      DEVERR: 3,
      INVAL: 4,
      RANGE: 5,
      NOENT: 6,
      FAULT: 7,
      NOMEM: 8,
    });
    assert.deepEqual(group('VIRTIO_IOMMU_F_'), {
      INPUT_RANGE: 0,
      DOMAIN_RANGE: 1,
      MAP_UNMAP: 2,
      BYPASS: 3,
      PROBE: 4,
      MMIO: 5,
      BYPASS_CONFIG: 6,
    });
    assert.deepEqual(group('VIRTIO_IOMMU_ATTACH_F_'), { BYPASS: 1 });
    assert.deepEqual(group('VIRTIO_IOMMU_MAP_F_'), { READ: 1, WRITE: 2, MMIO: 4 });
    assert.deepEqual(group('VIRTIO_IOMMU_PROBE_T_'), { RESV_MEM: 1 });
    assert.deepEqual(group('VIRTIO_IOMMU_RESV_MEM_T_'), { RESERVED: 0, MSI: 1 });
    assert.deepEqual(group('VIRTIO_IOMMU_FAULT_R_'), { UNKNOWN: 0, DOMAIN: 1, MAPPING: 2 });
    assert.deepEqual(group('VIRTIO_IOMMU_FAULT_F_'), { READ: 1, WRITE: 2, ADDRESS: 256 });
    const kinds = Object.fromEntries(model.groups.map((g) => [g.prefix, g.kind]));
    assert.equal(kinds.VIRTIO_IOMMU_F_, 'feature');
    assert.equal(kinds.VIRTIO_IOMMU_S_, 'enum');
    assert.equal(kinds.VIRTIO_IOMMU_MAP_F_, 'flags');
  });

  it('has every normative clause as one statement, by role and level', () => {
    const count = (role: string, level: string) =>
      model.statements.filter((s) => s.role === role && s.level === level).length;
    const table = Object.fromEntries(
      ['device', 'driver'].map((role) => [
        role,
        Object.fromEntries(
          ['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY', 'DEFINED'].map((l) => [
            l,
            count(role, l),
          ]),
        ),
      ]),
    );
    assert.deepEqual(table, EXPECTED_STATEMENTS);
  });

  it('states behaviour the spec defines without a keyword as DEFINED statements', () => {
    const defined = model.statements.filter((s) => s.level === 'DEFINED');
    assert.deepEqual(defined.map((s) => s.id).sort(), [
      'dev.attach.domain-range',
      'dev.attach.same-domain',
      'dev.bypass.identity',
      'dev.fault.flags-access',
      'dev.fault.reported-once',
      'dev.init.reset-detached',
      'dev.isolation.domain',
      'dev.map.input-range',
      'dev.map.mmio-available',
      'dev.pci.cfg-cap-window',
      'dev.pci.queue-size',
      'dev.translate.formula',
      'dev.unmap.covered',
    ]);
    for (const s of defined) assert.doesNotMatch(s.text, /\b(MUST|SHOULD|MAY)\b/, s.id);
  });

  it('runs the seven UNMAP examples of the spec as scenarios', () => {
    const unmapExamples = model.statements
      .flatMap((s) => s.scenarios)
      .filter((sc) => sc.steps.some((st) => st.op === 'request' && st.verb === 'unmap'));
    assert.ok(unmapExamples.length >= 7, `only ${unmapExamples.length} UNMAP scenarios`);
  });

  it('validates against its schema', () => {
    const validate = validator('spec-model.schema.json');
    assert.equal(validate(model), true, JSON.stringify(validate.errors));
    const cases = JSON.parse(modelOutputs(model).get('dist/cases.json')!);
    const validateCases = validator('cases.schema.json');
    assert.equal(validateCases(cases), true, JSON.stringify(validateCases.errors));
  });

  it('gives byte-identical output on two runs', () => {
    const first = modelOutputs(buildSpecModel());
    const second = modelOutputs(buildSpecModel());
    assert.deepEqual([...first], [...second]);
  });
});

/**
 * Statement counts by role and level: one statement per keyword of the normative sections of
 * the virtio v1.4 IOMMU chapter (109), plus ten DEFINED statements for behaviour the chapter
 * defines without a keyword (spec-src/CHANGELOG.md lists them; two of them, dev.bypass.identity
 * and dev.unmap.covered, were MUST and SHOULD before), plus the 35 statements of the PCI
 * transport and split virtqueue rules in 09-transport.md (33 with a keyword, dev.pci.queue-size
 * and dev.pci.cfg-cap-window DEFINED). A change here is a change to the spec's normative text.
 */
const EXPECTED_STATEMENTS = {
  device: { MUST: 42, 'MUST NOT': 4, SHOULD: 30, 'SHOULD NOT': 14, MAY: 9, DEFINED: 13 },
  driver: { MUST: 11, 'MUST NOT': 6, SHOULD: 19, 'SHOULD NOT': 5, MAY: 2, DEFINED: 0 },
};
