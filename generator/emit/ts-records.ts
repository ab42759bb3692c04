// The records dist/ts encodes and decodes: every struct whole, and for a request its driver
// part (device-readable, offset 0) and its device part (device-writable, from the end of
// the readable part). Shared by the types and codecs emitters.

import type { Field, SpecModel, Struct } from '../model.js';
import { code, ident, type Code } from './codegen.js';
import { lengthParam } from './ts-fields.js';
import { structNames, variableOf } from './ts-naming.js';

export interface TsRecord {
  /** Key of the record in the codecs' layout table: `virtio_iommu_req_map#driver`. */
  key: string;
  struct: Struct;
  part?: 'driver' | 'device';
  /** TypeScript type name, also the word in `encode…`/`decode…`. */
  name: string;
  fields: Field[];
  /** Offset of the record within the struct. */
  base: number;
  /** Fixed size, without the variable array. */
  size: number;
  variable?: Field & { kind: 'variable' };
}

export function tsRecords(model: SpecModel): TsRecord[] {
  const names = structNames(model);
  const out: TsRecord[] = [];
  for (const s of model.structs) {
    const n = names.get(s.name)!;
    const variable = variableOf(s);
    const within = (fields: Field[]) => (variable && fields.includes(variable) ? { variable } : {});
    out.push({
      key: s.name,
      struct: s,
      name: n.type,
      fields: s.fields,
      base: 0,
      size: s.size,
      ...within(s.fields),
    });
    if (s.request && n.driverPart && n.devicePart) {
      const readable = s.fields.filter((f) => f.part === 'readable');
      const writable = s.fields.filter((f) => f.part === 'writable');
      out.push({
        key: `${s.name}#driver`,
        struct: s,
        part: 'driver',
        name: n.driverPart,
        fields: readable,
        base: 0,
        size: s.request.readableSize,
        ...within(readable),
      });
      out.push({
        key: `${s.name}#device`,
        struct: s,
        part: 'device',
        name: n.devicePart,
        fields: writable,
        base: s.request.readableSize,
        size: s.request.writableSize,
        ...within(writable),
      });
    }
  }
  return out;
}

/** The offset expression of byte `k` of field `f` in record `r`, from `at`. */
export function positionOf(r: TsRecord, f: Field, k = 0): Code {
  const relative = f.offset - r.base + k;
  const afterVariable = r.variable && r.fields.indexOf(f) > r.fields.indexOf(r.variable);
  const fixed = relative === 0 ? code`at` : code`at + ${relative}`;
  if (!afterVariable || !r.variable) return fixed;
  const length = lengthParam(r.variable);
  return r.variable.elementSize === 1
    ? code`${fixed} + ${length}`
    : code`${fixed} + ${length} * ${r.variable.elementSize}`;
}

export function recordIdent(
  prefix: 'read' | 'check' | 'write' | 'encode' | 'decode',
  r: { name: string },
): Code {
  return ident(`${prefix}${r.name}`, 'ts');
}

/** `size` or `size + probeSize`: the bytes the record takes. */
export function sizeExpression(r: TsRecord): Code {
  if (!r.variable) return code`${r.size}`;
  const length = lengthParam(r.variable);
  return r.variable.elementSize === 1
    ? code`${r.size} + ${length}`
    : code`${r.size} + ${length} * ${r.variable.elementSize}`;
}
