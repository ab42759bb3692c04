// dist/ts/types.ts: one interface per struct and request part. Numbers for u8/le16/le32,
// bigint for le64, Uint8Array for byte arrays; reserved fields are there like any other,
// so a test can set them non-zero. Bit ranges are separate numbers.

import type { SpecModel } from '../model.js';
import { banner, code, comment, ident, join, lines, type Code } from './codegen.js';
import { fieldCode } from './ts-fields.js';
import { structNames } from './ts-naming.js';
import { emitPropertyEntryType, propertyLists } from './ts-property-list.js';
import { tsRecords, positionOf, type TsRecord } from './ts-records.js';

export const TS_TYPES_PATH = 'dist/ts/types.ts';

function describe(r: TsRecord): string {
  const s = r.struct;
  const size = r.variable
    ? `${r.size} bytes plus ${r.variable.lengthField} bytes of ${r.variable.name}`
    : `${r.size} bytes`;
  if (r.part === 'driver')
    return `The device-readable part of ${s.name}: what the driver writes (${size}).`;
  if (r.part === 'device')
    return `The device-writable part of ${s.name}: what the device writes (${size}).`;
  return `${s.doc ? `${s.doc} ` : ''}struct ${s.name} (${size}).`;
}

export function emitTsTypes(model: SpecModel): string {
  const names = structNames(model);
  const typeOf = (struct: string) => ident(names.get(struct)!.type, 'ts');
  const unused = () => code``;
  const out: Code[] = [];
  for (const r of tsRecords(model)) {
    out.push(code``, comment(describe(r), '', { doc: true }));
    if (r.struct.request && !r.part) {
      const n = names.get(r.struct.name)!;
      out.push(
        code`export type ${ident(r.name, 'ts')} = ${ident(n.driverPart!, 'ts')} & ${ident(n.devicePart!, 'ts')};`,
      );
      continue;
    }
    out.push(code`export interface ${ident(r.name, 'ts')} {`);
    r.fields.forEach((f, i) => {
      const fc = fieldCode(
        f,
        (k) => positionOf(r, f, k),
        { read: unused, check: unused, write: unused, type: typeOf },
        i,
      );
      for (const p of fc.properties) {
        out.push(
          comment(p.doc, '  ', { doc: true }),
          code`  ${ident(p.name, 'ts-property')}: ${p.type};`,
        );
      }
    });
    out.push(code`}`);
  }
  const entryTypes = propertyLists(model).map((l) => emitPropertyEntryType(model, l));
  return code`${banner(model)}${lines(out)}${join(entryTypes, '')}`.toString();
}
