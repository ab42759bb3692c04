// The generated codecs of dist/ts, for every struct and request part of the model: round
// trips under fast-check both ways, exact bounds, typed errors that leave the buffer alone,
// the PROBE property list, and the very bytes a C program writes through the generated header.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import * as codecs from '../../dist/ts/index.js';
import { CodecError } from '../../dist/ts/index.js';
import { tsRecords, type TsRecord } from '../emit/ts-records.js';
import { UAPI_HEADER_PATH } from '../emit/uapi-header.js';
import type { Field, SpecModel } from '../model.js';
import { distOutputs } from '../outputs.js';
import { runC } from './c-compiler.js';
import { specModel } from './spec-model.js';

type Value = Record<string, unknown>;
type Decode = (bytes: Uint8Array | DataView, ...rest: number[]) => Value;
type Encode = (bytes: Uint8Array | DataView, value: Value, ...rest: number[]) => number;

const api = codecs as unknown as Record<string, unknown>;
const decoderOf = (r: TsRecord) => api[`decode${r.name}`] as Decode;
const encoderOf = (r: TsRecord) => api[`encode${r.name}`] as Encode;

const MAX = { u8: 0xff, le16: 0xffff, le32: 0xffffffff } as const;
/** Records with Object.prototype, like the decoders return. */
const PLAIN = { noNullPrototype: true } as const;

function fieldArbitraries(
  model: SpecModel,
  fields: Field[],
  length: number,
): Record<string, fc.Arbitrary<unknown>> {
  const out: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    if (f.kind === 'scalar') {
      const one: fc.Arbitrary<unknown> =
        f.type === 'le64'
          ? fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })
          : fc.integer({ min: 0, max: MAX[f.type] });
      out[f.name] =
        f.count === undefined
          ? one
          : f.type === 'u8'
            ? fc.uint8Array({ minLength: f.count, maxLength: f.count })
            : fc.array(one, { minLength: f.count, maxLength: f.count });
    } else if (f.kind === 'struct') {
      out[f.name] = fc.record(
        fieldArbitraries(model, model.structs.find((s) => s.name === f.struct)!.fields, length),
        PLAIN,
      );
    } else if (f.kind === 'bits') {
      for (const b of f.bits) out[b.name] = fc.integer({ min: 0, max: 2 ** b.width - 1 });
    } else {
      out[f.name] = fc.uint8Array({
        minLength: length * f.elementSize,
        maxLength: length * f.elementSize,
      });
    }
  }
  return out;
}

/** A record's value with the variable array's length, placed at an offset in a larger buffer. */
function sample(model: SpecModel, r: TsRecord) {
  return fc.nat({ max: r.variable ? 48 : 0 }).chain((length) =>
    fc.record({
      length: fc.constant(length),
      value: fc.record(fieldArbitraries(model, r.fields, length), PLAIN),
      offset: fc.nat({ max: 9 }),
      slack: fc.nat({ max: 5 }),
      view: fc.boolean(),
    }),
  );
}

const sizeOf = (r: TsRecord, length: number) =>
  r.size + (r.variable ? length * r.variable.elementSize : 0);
const lengthArgs = (r: TsRecord, length: number) => (r.variable ? [length] : []);

describe('dist/ts codecs', () => {
  const model = specModel();
  const records = tsRecords(model);

  it('cover every struct, and the driver and device parts of every request', () => {
    const requests = model.structs.filter((s) => s.request).length;
    assert.equal(records.length, model.structs.length + 2 * requests);
    for (const r of records) {
      assert.equal(typeof decoderOf(r), 'function', `decode${r.name}`);
      assert.equal(typeof encoderOf(r), 'function', `encode${r.name}`);
    }
  });

  for (const r of tsRecords(specModel())) {
    describe(`${r.name} (${r.key})`, () => {
      it('decodes what it encodes, at any offset of a Uint8Array or a DataView', () => {
        fc.assert(
          fc.property(sample(model, r), ({ length, value, offset, slack, view }) => {
            const size = sizeOf(r, length);
            // A subarray of a larger buffer: offsets must be relative to the subarray.
            const bytes = new Uint8Array(size + offset + slack + 7).subarray(
              3,
              3 + size + offset + slack,
            );
            const target = view
              ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
              : bytes;
            assert.equal(
              encoderOf(r)(target, value, ...lengthArgs(r, length), offset),
              offset + size,
            );
            assert.deepEqual(decoderOf(r)(target, ...lengthArgs(r, length), offset), value);
          }),
        );
      });

      it('encodes what it decodes, byte for byte', () => {
        fc.assert(
          fc.property(
            fc.nat({ max: r.variable ? 40 : 0 }),
            fc.infiniteStream(fc.nat({ max: 255 })),
            (length, stream) => {
              const size = sizeOf(r, length);
              const bytes = Uint8Array.from(stream.take(size));
              const out = new Uint8Array(size);
              encoderOf(r)(
                out,
                decoderOf(r)(bytes, ...lengthArgs(r, length)),
                ...lengthArgs(r, length),
              );
              assert.deepEqual(out, bytes);
            },
          ),
        );
      });

      it('throws a CodecError on short input, naming the field that does not fit', () => {
        fc.assert(
          fc.property(fc.nat({ max: r.variable ? 40 : 0 }), (length) => {
            const size = sizeOf(r, length);
            for (let have = 0; have < size; have++) {
              const error = catchError(() =>
                decoderOf(r)(new Uint8Array(have), ...lengthArgs(r, length)),
              );
              assert.ok(error instanceof CodecError);
              assert.equal(error.kind, 'short-input');
              assert.equal(error.struct, r.struct.name);
              assert.equal(error.needed, size);
              assert.equal(error.actual, have);
              assert.ok(
                error.field.length > 0 && error.message.includes(error.field),
                error.message,
              );
            }
          }),
          { numRuns: 5 },
        );
      });

      it('refuses a value that does not fit its field, writing nothing', () => {
        fc.assert(
          fc.property(
            sample(model, r),
            fc.nat(),
            fc.constantFrom(-1, 1.5, 2 ** 64, 'x'),
            ({ length, value }, pick, bad) => {
              const paths = leafPaths(value);
              const path = paths[pick % paths.length];
              const broken = structuredClone(value);
              setPath(
                broken,
                path,
                typeof getPath(value, path) === 'bigint'
                  ? bad === 2 ** 64
                    ? 2n ** 64n
                    : -1n
                  : bad,
              );
              const bytes = new Uint8Array(sizeOf(r, length)).fill(0xa5);
              const error = catchError(() => encoderOf(r)(bytes, broken, ...lengthArgs(r, length)));
              assert.ok(error instanceof CodecError, `${path} = ${String(bad)}`);
              assert.equal(error.kind, 'bad-value');
              assert.equal(error.field, path.join('.'));
              assert.ok(
                bytes.every((b) => b === 0xa5),
                'nothing is written',
              );
            },
          ),
          { numRuns: 50 },
        );
      });
    });
  }
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  assert.fail('no error thrown');
}

/** Paths of the scalar leaves of a value: ['head', 'type'], ['virt_start']; byte arrays are leaves. */
function leafPaths(value: Value, prefix: string[] = []): string[][] {
  return Object.entries(value).flatMap(([k, v]) =>
    v && typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v)
      ? leafPaths(v as Value, [...prefix, k])
      : [[...prefix, k]],
  );
}
const getPath = (v: Value, path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (o as Value)[k], v);
function setPath(v: Value, path: string[], x: unknown): void {
  (getPath(v, path.slice(0, -1)) as Value)[path[path.length - 1]] = x;
}

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

describe('golden bytes from the C compiler', () => {
  // The same values written by a C program through the generated header and by the TS
  // encoders must give the same bytes: one struct layout, one byte order.
  it('match what the TS encoders write, for every struct and the PROBE driver part', () => {
    const model = specModel();
    const dir = mkdtempSync(join(tmpdir(), 'viommu-golden-'));
    try {
      const header = join(dir, UAPI_HEADER_PATH);
      mkdirSync(dirname(header), { recursive: true });
      writeFileSync(header, distOutputs(model).get(UAPI_HEADER_PATH)!);
      // Every fixed struct, and the driver part of PROBE: C's struct ends at its flexible array.
      const cases = tsRecords(model).filter(
        (r) => (!r.part && !r.variable) || (r.part === 'driver' && r.struct.variable),
      );
      const program: string[] = [
        '#include <endian.h>',
        '#include <stdio.h>',
        '#include <string.h>',
        '#include <linux/virtio_iommu.h>',
        'static void dump(const char *name, const void *p, size_t n)',
        '{',
        '\tconst unsigned char *b = p;',
        '\tsize_t i;',
        '\tprintf("%s ", name);',
        '\tfor (i = 0; i < n; i++)',
        '\t\tprintf("%02x", b[i]);',
        '\tprintf("\\n");',
        '}',
        'int main(void)',
        '{',
      ];
      const expected = new Map<string, string>();
      for (const r of cases) {
        const values = fc.sample(fc.record(fieldArbitraries(model, r.fields, 0), PLAIN), {
          seed: 23,
          numRuns: 4,
        }) as Value[];
        values.forEach((value, i) => {
          const name = `${r.key}/${i}`;
          program.push('\t{', `\t\tstruct ${r.struct.name} s;`, '\t\tmemset(&s, 0, sizeof s);');
          program.push(...cAssignments(model, r.struct.name, value, 's').map((l) => `\t\t${l}`));
          program.push(`\t\tdump("${name}", &s, sizeof s);`, '\t}');
          const bytes = new Uint8Array(r.size);
          encoderOf(r)(bytes, value);
          expected.set(name, Buffer.from(bytes).toString('hex'));
        });
      }
      program.push('\treturn 0;', '}', '');
      const printed = new Map(
        runC(program.join('\n'), join(dir, 'dist', 'include'))
          .trim()
          .split('\n')
          .map((l) => l.split(' ') as [string, string]),
      );
      assert.ok(printed.size >= 4 * 13, `only ${printed.size} cases`);
      assert.deepEqual(printed, expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** C statements that store `value` into `lhs`, a struct `name`, through the generated header. */
function cAssignments(model: SpecModel, name: string, value: Value, lhs: string): string[] {
  const struct = model.structs.find((s) => s.name === name)!;
  const out: string[] = [];
  const store = (type: string, x: unknown) =>
    type === 'u8'
      ? `${String(x)}u`
      : type === 'le64'
        ? `htole64(0x${(x as bigint).toString(16)}ull)`
        : `hto${type}(${String(x)}u)`;
  for (const f of struct.fields) {
    if (f.kind === 'variable') break;
    const x = value[f.name];
    const to = `${lhs}.${f.name}`;
    if (f.kind === 'scalar' && f.count === undefined) out.push(`${to} = ${store(f.type, x)};`);
    else if (f.kind === 'scalar')
      Array.from(x as ArrayLike<unknown>).forEach((e, i) =>
        out.push(`${to}[${i}] = ${store(f.type, e)};`),
      );
    else if (f.kind === 'struct') out.push(...cAssignments(model, f.struct, x as Value, to));
    else if (f.kind === 'bits') {
      const word = f.bits.reduce((w, b) => w + (value[b.name] as number) * 2 ** b.shift, 0);
      out.push(`${to} = ${store(f.type, word)};`);
    }
  }
  return out;
}
