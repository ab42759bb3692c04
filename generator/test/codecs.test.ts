// The generated codecs of dist/ts, for every struct and request part of the model: round
// trips under fast-check both ways, exact bounds, and typed errors that leave the buffer
// alone. The PROBE property list and the names for codes: codecs-property-list.test.ts; the
// very bytes a C program writes through the generated header: codecs-golden.test.ts.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as codecs from '../../dist/ts/index.js';
import { CodecError } from '../../dist/ts/index.js';
import { tsRecords, type TsRecord } from '../emit/ts-records.js';
import type { SpecModel } from '../model.js';
import { catchError, fieldArbitraries, PLAIN, type Value } from './codec-values.js';
import { specModel } from './spec-model.js';

type Decode = (bytes: Uint8Array | DataView, ...rest: number[]) => Value;
type Encode = (bytes: Uint8Array | DataView, value: Value, ...rest: number[]) => number;

const api = codecs as unknown as Record<string, unknown>;
const decoderOf = (r: TsRecord) => api[`decode${r.name}`] as Decode;
const encoderOf = (r: TsRecord) => api[`encode${r.name}`] as Encode;

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
