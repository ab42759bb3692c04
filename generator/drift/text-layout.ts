// The header's layout and macro values worked out from its text, for when there is no C
// compiler: the fixed-width kernel and <stdint.h> types with natural alignment, and
// integer expressions. A struct with a type it does not know gets no layout.

import { evaluateCExpression } from '../c-expression.js';
import type { ParsedHeader } from './parse-header.js';
import type { Measurements, StructLayout } from './probe.js';

const SIZES: Record<string, number> = Object.fromEntries(
  (
    [
      [1, ['__u8', '__s8', 'uint8_t', 'int8_t', 'char', 'unsigned char', 'signed char']],
      [2, ['__u16', '__s16', '__le16', '__be16', 'uint16_t', 'int16_t', 'short', 'unsigned short']],
      [
        4,
        [
          '__u32',
          '__s32',
          '__le32',
          '__be32',
          'uint32_t',
          'int32_t',
          'int',
          'unsigned int',
          'unsigned',
        ],
      ],
      [
        8,
        [
          '__u64',
          '__s64',
          '__le64',
          '__be64',
          'uint64_t',
          'int64_t',
          'long long',
          'unsigned long long',
        ],
      ],
    ] as const
  ).flatMap(([size, names]) => names.map((n) => [n, size])),
);

export function textMeasurements(header: ParsedHeader): Measurements {
  const bodies = new Map(
    header.defines.filter((d) => !d.functionLike && d.body).map((d) => [d.name, d.body]),
  );
  const values = new Map<string, bigint>();
  const evaluating = new Set<string>();
  const valueOf = (name: string): bigint | undefined => {
    if (values.has(name)) return values.get(name);
    const body = bodies.get(name);
    if (body === undefined || evaluating.has(name)) return undefined;
    evaluating.add(name);
    const v = evaluateCExpression(body, valueOf);
    evaluating.delete(name);
    if (v !== undefined) values.set(name, v);
    return v;
  };
  for (const name of bodies.keys()) valueOf(name);

  const structs = new Map<string, StructLayout>();
  const aligns = new Map<string, number>();
  for (const s of header.structs) {
    let offset = 0;
    let align = 1;
    const fields: StructLayout['fields'] = new Map();
    let known = true;
    for (const f of s.fields) {
      const nested = /^struct (\w+)$/.exec(f.type)?.[1];
      const size = nested ? structs.get(nested)?.size : SIZES[f.type];
      const fieldAlign = nested ? aligns.get(nested) : size;
      const count =
        f.count === undefined ? 1n : f.count === '' ? 0n : evaluateCExpression(f.count, valueOf);
      if (
        size === undefined ||
        fieldAlign === undefined ||
        count === undefined ||
        f.bits !== undefined
      ) {
        known = false;
        break;
      }
      offset = Math.ceil(offset / fieldAlign) * fieldAlign;
      align = Math.max(align, fieldAlign);
      const total = size * Number(count);
      fields.set(f.name, f.count === '' ? { offset } : { offset, size: total });
      offset += total;
    }
    if (!known) continue;
    structs.set(s.name, { size: Math.ceil(offset / align) * align, fields });
    aligns.set(s.name, align);
  }
  return { structs, values };
}
