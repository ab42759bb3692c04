// dist/ts/field-layouts.ts: where every field of every struct lies, as data. A field is
// found by its dotted path (`input_range.end`, `head.type`): the fields of nested structs are
// listed under the nested struct's field, and each bit range of a bit container is listed
// by its own name. Consumers look fields up here instead of working offsets out.

import type { Field, SpecModel } from '../model.js';
import { banner, code, comment, ident, join, lines, quote, type Code } from './codegen.js';
import { fieldTypeText } from './ts-fields.js';

export const TS_FIELD_LAYOUTS_PATH = 'dist/ts/field-layouts.ts';

/** One row of the table: a dotted path and its place. */
interface FieldRow {
  path: string;
  offset: number;
  size: number;
  type: string;
  bits?: { shift: number; width: number };
  lengthField?: string;
}

/** Every field of `fields` at `base`, nested structs flattened under their field's path. */
function fieldRows(model: SpecModel, fields: Field[], base: number, prefix: string): FieldRow[] {
  const rows: FieldRow[] = [];
  for (const f of fields) {
    const path = `${prefix}${f.name}`;
    const offset = base + f.offset;
    switch (f.kind) {
      case 'scalar':
        rows.push({ path, offset, size: f.size, type: fieldTypeText(f) });
        break;
      case 'struct': {
        rows.push({ path, offset, size: f.size, type: fieldTypeText(f) });
        const nested = model.structs.find((s) => s.name === f.struct)!;
        rows.push(...fieldRows(model, nested.fields, offset, `${path}.`));
        break;
      }
      case 'bits':
        for (const b of f.bits) {
          rows.push({
            path: `${prefix}${b.name}`,
            offset,
            size: f.size,
            type: f.type,
            bits: { shift: b.shift, width: b.width },
          });
        }
        break;
      case 'variable':
        rows.push({ path, offset, size: 0, type: fieldTypeText(f), lengthField: f.lengthField });
        break;
    }
  }
  return rows;
}

/** A property name: bare where it is an identifier, quoted where it is a dotted path. */
function key(path: string): Code {
  return path.includes('.') ? quote(path) : ident(path, 'ts-property');
}

function rowCode(row: FieldRow): Code {
  const parts = [
    code`offset: ${row.offset}`,
    code`size: ${row.size}`,
    code`type: ${quote(row.type)}`,
  ];
  if (row.bits) parts.push(code`bits: { shift: ${row.bits.shift}, width: ${row.bits.width} }`);
  if (row.lengthField) parts.push(code`lengthField: ${quote(row.lengthField)}`);
  return code`      ${key(row.path)}: { ${join(parts, ', ')} },`;
}

export function emitTsFieldLayouts(model: SpecModel): string {
  const out: Code[] = [
    code``,
    comment(
      'Where a field lies in its struct: its byte offset, its size in bytes, and its type as the spec writes it.',
      '',
      { doc: true },
    ),
    code`export interface FieldLayout {`,
    code`  readonly offset: number;`,
    code`  readonly size: number;`,
    code`  readonly type: string;`,
    comment('A bit range of a little-endian word: its lowest bit and its width.', '  ', {
      doc: true,
    }),
    code`  readonly bits?: { readonly shift: number; readonly width: number };`,
    comment(
      'A variable array (size 0 here): the configuration field that gives its length in elements.',
      '  ',
      { doc: true },
    ),
    code`  readonly lengthField?: string;`,
    code`}`,
    code``,
    code`export interface StructLayout {`,
    comment('Fixed size in bytes; a variable array counts as empty.', '  ', { doc: true }),
    code`  readonly size: number;`,
    comment('Every field by its dotted path, in the order of the struct.', '  ', { doc: true }),
    code`  readonly fields: Readonly<Record<string, FieldLayout>>;`,
    code`}`,
    code``,
    code`export type StructName =`,
    ...model.structs.map(
      (s, i) => code`  | ${quote(s.name)}${i === model.structs.length - 1 ? code`;` : code``}`,
    ),
    code``,
    comment('The layout of every struct of the spec.', '', { doc: true }),
    code`export const STRUCT_LAYOUTS: Readonly<Record<StructName, StructLayout>> = {`,
  ];
  for (const s of model.structs) {
    out.push(
      code`  ${ident(s.name, 'ts-property')}: {`,
      code`    size: ${s.size},`,
      code`    fields: {`,
      ...fieldRows(model, s.fields, 0, '').map(rowCode),
      code`    },`,
      code`  },`,
    );
  }
  out.push(code`};`);
  return code`${banner(model)}${lines(out)}`.toString();
}
