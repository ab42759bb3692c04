// Shared by the tests of the generated codecs: an arbitrary for every field of a record (the
// round trips and the golden bytes from the C compiler), and the error a call throws.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Field, SpecModel } from '../model.js';

export type Value = Record<string, unknown>;

const MAX = { u8: 0xff, le16: 0xffff, le32: 0xffffffff } as const;
/** Records with Object.prototype, like the decoders return. */
export const PLAIN = { noNullPrototype: true } as const;

export function fieldArbitraries(
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

/** The error `f` throws; fails the test when it throws none. */
export function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  assert.fail('no error thrown');
}
