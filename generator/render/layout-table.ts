// The offset/size table of one struct, as the parser laid it out, shown beside its C code.

import type { Element } from 'hast';
import type { Field, Struct, VariableField } from '../model.js';
import { fieldAnchor, hrefTo, structAnchor } from './anchors.js';
import { h, type Child } from './hast.js';
import { nameLink } from './name-links.js';

const partLabel = { readable: 'device-readable', writable: 'device-writable' } as const;

/** `72`, or `72 + probe_size` for a field that follows a variable array. */
function offsetText(offset: number, after: VariableField | undefined): string {
  if (!after) return String(offset);
  return `${offset} + ${variableBytes(after)}`;
}

function variableBytes(f: VariableField): string {
  return f.elementSize === 1 ? f.lengthField : `${f.lengthField} × ${f.elementSize}`;
}

function fieldRows(
  struct: Struct,
  field: Field,
  after: VariableField | undefined,
  request: boolean,
): Element[] {
  const cells = (id: string, offset: string, size: Child, name: Child, type: Child): Element =>
    h(
      'tr',
      { id, className: field.part ? [`part-${field.part}`] : undefined, title: field.doc },
      h('td', { className: ['num'] }, offset),
      h('td', { className: ['num'] }, size),
      h('td', {}, h('code', {}, name)),
      h('td', {}, h('code', {}, type)),
      request && h('td', {}, field.part && partLabel[field.part]),
    );
  const offset = offsetText(field.offset, after);
  switch (field.kind) {
    case 'scalar':
      return [
        cells(
          fieldAnchor(struct.name, field.name),
          offset,
          field.size,
          field.name,
          field.count === undefined ? field.type : `${field.type}[${field.count}]`,
        ),
      ];
    case 'struct':
      return [
        cells(fieldAnchor(struct.name, field.name), offset, field.size, field.name, [
          'struct ',
          nameLink(structAnchor(field.struct), field.struct),
        ]),
      ];
    case 'bits':
      return field.bits.map((b) =>
        cells(
          fieldAnchor(struct.name, b.name),
          offset,
          b.width === 1 ? `bit ${b.shift}` : `bits ${b.shift}–${b.shift + b.width - 1}`,
          b.name,
          field.type,
        ),
      );
    case 'variable':
      return [
        cells(
          fieldAnchor(struct.name, field.name),
          offset,
          variableBytes(field),
          field.name,
          `${field.type}[${field.lengthField}]`,
        ),
      ];
  }
}

export function layoutTable(struct: Struct): Element {
  const request = struct.request !== undefined;
  const variable = struct.fields.find((f): f is VariableField => f.kind === 'variable');
  let after: VariableField | undefined;
  const rows: Element[] = [];
  for (const field of struct.fields) {
    rows.push(...fieldRows(struct, field, after, request));
    if (field === variable) after = variable;
  }
  const size = variable ? `${struct.size} bytes + ${variable.name}` : `${struct.size} bytes`;
  const parts = struct.request
    ? `; device-readable ${struct.request.readableSize}, device-writable ${struct.request.writableSize}${variable ? ` + ${variable.name}` : ''}`
    : '';
  return h(
    'table',
    { className: ['layout'] },
    h(
      'caption',
      {},
      h('a', { href: hrefTo(structAnchor(struct.name)) }, h('code', {}, `struct ${struct.name}`)),
      `: ${size}${parts}`,
    ),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'Offset'),
        h('th', {}, 'Size'),
        h('th', {}, 'Field'),
        h('th', {}, 'Type'),
        request && h('th', {}, 'Part'),
      ),
    ),
    h('tbody', {}, rows),
  );
}
