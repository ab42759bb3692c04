// dist/ts/layout.ts: the model's sizes and offsets as constants. SIZEOF_X is the fixed size
// of struct X (a variable array counts as empty, fields after it are placed as if it were);
// OFFSETOF_X_F the offset of field F; for requests, the sizes of the two parts.

import type { SpecModel } from '../model.js';
import { banner, code, comment, ident, lines, type Code } from './codegen.js';
import { variableOf } from './ts-naming.js';

export const TS_LAYOUT_PATH = 'dist/ts/layout.ts';

export function emitTsLayout(model: SpecModel): string {
  const out: Code[] = [];
  for (const s of model.structs) {
    const upper = s.name.toUpperCase();
    const variable = variableOf(s);
    out.push(code``);
    out.push(
      comment(
        variable
          ? `struct ${s.name}: ${s.size} bytes plus the ${variable.lengthField} bytes of ${variable.name}.`
          : `struct ${s.name}: ${s.size} bytes.`,
        '',
        { doc: true },
      ),
      code`export const ${ident(`SIZEOF_${upper}`, 'ts')} = ${s.size};`,
    );
    for (const f of s.fields) {
      out.push(
        code`export const ${ident(`OFFSETOF_${upper}_${f.name.toUpperCase()}`, 'ts')} = ${f.offset};`,
      );
    }
    if (s.request) {
      out.push(
        comment(`The device-readable part: what the driver writes.`, '', { doc: true }),
        code`export const ${ident(`SIZEOF_${upper}_DRIVER_PART`, 'ts')} = ${s.request.readableSize};`,
        comment(
          `The device-writable part: what the device writes${variable ? `, without ${variable.name}` : ''}.`,
          '',
          { doc: true },
        ),
        code`export const ${ident(`SIZEOF_${upper}_DEVICE_PART`, 'ts')} = ${s.request.writableSize};`,
      );
    }
  }
  return code`${banner(model)}${lines(out)}`.toString();
}
