// The PROBE property list of dist/ts (walking, decoding RESV_MEM, unknown types, bounds) and
// the names it gives codes, flags and features.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as codecs from '../../dist/ts/index.js';
import { CodecError } from '../../dist/ts/index.js';
import { catchError } from './codec-values.js';

describe('the PROBE property list', () => {
  const RESV_MEM = codecs.VIRTIO_IOMMU_PROBE_T_RESV_MEM;
  const resvMem = fc.record({
    kind: fc.constant('resv_mem' as const),
    subtype: fc.nat({ max: 255 }),
    start: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    end: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    extra: fc.nat({ max: 3 }).map((n) => n * 4),
  });
  const unknown = fc.record({
    kind: fc.constant('unknown' as const),
    type: fc.integer({ min: 2, max: 0xfff }),
    reserved: fc.nat({ max: 15 }),
    length: fc.nat({ max: 12 }),
  });

  it('walks the list, decodes RESV_MEM, returns unknown types by their header, and stops at type 0', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(resvMem, unknown), { maxLength: 6 }),
        fc.nat({ max: 16 }),
        (entries, spare) => {
          const size =
            entries.reduce((n, e) => n + 4 + (e.kind === 'resv_mem' ? 20 + e.extra : e.length), 0) +
            spare;
          const properties = new Uint8Array(size + 8).fill(0).subarray(0, size);
          const expected: codecs.ProbePropertyEntry[] = [];
          let at = 0;
          for (const e of entries) {
            if (e.kind === 'resv_mem') {
              const property = {
                head: { type: RESV_MEM, reserved: 0, length: 20 + e.extra },
                subtype: e.subtype,
                reserved: new Uint8Array(3),
                start: e.start,
                end: e.end,
              };
              codecs.encodeProbeResvMem(properties, property, at);
              expected.push({ kind: 'resv_mem', offset: at, property });
              at += 24 + e.extra;
            } else {
              const property = { type: e.type, reserved: e.reserved, length: e.length };
              codecs.encodeProbeProperty(properties, property, at);
              expected.push({ kind: 'unknown', offset: at, property });
              at += 4 + e.length;
            }
          }
          assert.deepEqual(codecs.decodeProbeProperties(properties), expected);
          // A property of type 0 ends the list, whatever follows.
          if (expected.length > 1) {
            const cut = expected[1].offset;
            const ended = properties.slice();
            ended[cut] = 0;
            ended[cut + 1] &= 0xf0;
            assert.deepEqual(codecs.decodeProbeProperties(ended), expected.slice(0, 1));
          }
        },
      ),
    );
  });

  it('throws a CodecError when a length runs past the end, or a RESV_MEM is too short for its fields', () => {
    const properties = new Uint8Array(32);
    codecs.encodeProbeProperty(properties, { type: 7, reserved: 0, length: 29 }, 0);
    const past = catchError(() => codecs.decodeProbeProperties(properties));
    assert.ok(past instanceof CodecError);
    assert.deepEqual(
      [past.kind, past.struct, past.field, past.needed, past.actual],
      ['malformed', 'virtio_iommu_probe_property', 'length', 33, 32],
    );
    codecs.encodeProbeProperty(properties, { type: RESV_MEM, reserved: 0, length: 8 }, 0);
    const short = catchError(() => codecs.decodeProbeProperties(properties));
    assert.ok(short instanceof CodecError);
    assert.deepEqual(
      [short.kind, short.struct, short.field],
      ['malformed', 'virtio_iommu_probe_resv_mem', 'head.length'],
    );
  });

  it('walks a window of a larger buffer: the device part of a reply, in place', () => {
    const probeSize = 32;
    const reply = new Uint8Array(8 + probeSize + 4);
    codecs.encodeProbeProperty(reply, { type: 9, reserved: 1, length: 0 }, 8);
    codecs.encodeProbeProperty(reply, { type: 9, reserved: 0, length: 24 }, 12);
    assert.deepEqual(codecs.decodeProbeProperties(reply, 8, probeSize), [
      { kind: 'unknown', offset: 0, property: { type: 9, reserved: 1, length: 0 } },
      { kind: 'unknown', offset: 4, property: { type: 9, reserved: 0, length: 24 } },
    ]);
    // The window ends at probe_size: a property that would reach into the tail is malformed.
    codecs.encodeProbeProperty(reply, { type: 9, reserved: 0, length: 25 }, 12);
    assert.throws(() => codecs.decodeProbeProperties(reply, 8, probeSize), CodecError);
    const outside = catchError(() => codecs.decodeProbeProperties(reply, 8, probeSize + 5));
    assert.ok(outside instanceof CodecError && outside.kind === 'short-input', String(outside));
  });

  it('goes through the device part of a PROBE reply', () => {
    const probeSize = 64;
    const buffer = new Uint8Array(probeSize + 4);
    const properties = new Uint8Array(probeSize);
    const resv = {
      head: { type: RESV_MEM, reserved: 0, length: 20 },
      subtype: 1,
      reserved: new Uint8Array(3),
      start: 0xfee00000n,
      end: 0xfeefffffn,
    };
    codecs.encodeProbeResvMem(properties, resv);
    const end = codecs.encodeProbeDevicePart(
      buffer,
      { properties, tail: { status: codecs.VIRTIO_IOMMU_S_OK, reserved: new Uint8Array(3) } },
      probeSize,
    );
    assert.equal(end, probeSize + 4);
    const reply = codecs.decodeProbeDevicePart(buffer, probeSize);
    assert.equal(codecs.statusName(reply.tail.status), 'VIRTIO_IOMMU_S_OK');
    assert.deepEqual(codecs.decodeProbeProperties(reply.properties), [
      { kind: 'resv_mem', offset: 0, property: resv },
    ]);
  });
});

describe('names for codes', () => {
  it('names statuses, request types, reasons, features and flags, and says when a value has no name', () => {
    assert.equal(codecs.statusName(codecs.VIRTIO_IOMMU_S_INVAL), 'VIRTIO_IOMMU_S_INVAL');
    assert.equal(codecs.statusName(42), '42 (not a VIRTIO_IOMMU_S_* value)');
    assert.equal(codecs.requestTypeName(codecs.VIRTIO_IOMMU_T_PROBE), 'VIRTIO_IOMMU_T_PROBE');
    assert.equal(
      codecs.faultReasonName(codecs.VIRTIO_IOMMU_FAULT_R_MAPPING),
      'VIRTIO_IOMMU_FAULT_R_MAPPING',
    );
    assert.equal(
      codecs.featureName(codecs.VIRTIO_IOMMU_F_BYPASS_CONFIG),
      'VIRTIO_IOMMU_F_BYPASS_CONFIG',
    );
    assert.deepEqual(codecs.mapFlagNames(codecs.VIRTIO_IOMMU_MAP_F_READ | 0x20), [
      'VIRTIO_IOMMU_MAP_F_READ',
      'bit 5 (not a VIRTIO_IOMMU_MAP_F_* flag)',
    ]);
  });
});
