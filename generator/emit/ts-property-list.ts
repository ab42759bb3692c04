// The property list of a request's variable array (PROBE's `properties`): its entry type
// and the decoder that walks it as the spec's driver does. The spec ties the pieces
// together by name, as it ties `virtio_iommu_req_map` to `VIRTIO_IOMMU_T_MAP`:
// `virtio_iommu_req_probe.properties` holds `virtio_iommu_probe_property` headers, whose
// `type` is a `VIRTIO_IOMMU_PROBE_T_*` value; `VIRTIO_IOMMU_PROBE_T_RESV_MEM` is the
// struct `virtio_iommu_probe_resv_mem`, which starts with that header.

import type { Constant, Field, SpecModel, Struct } from '../model.js';
import { SCALAR_SIZE } from '../model-facts.js';
import { code, comment, hex, ident, lines, pascalCase, quote, type Code } from './codegen.js';
import { devicePrefix, structNames, variableOf } from './ts-naming.js';

export interface PropertyList {
  request: Struct;
  field: Field & { kind: 'variable' };
  header: Struct;
  /** Where `type` sits: the container offset, and its bits within. */
  type: { offset: number; container: 'u8' | 'le16' | 'le32'; shift: number; width: number };
  lengthOffset: number;
  lengthType: 'u8' | 'le16' | 'le32';
  entries: { constant: Constant; kind: string; struct: Struct }[];
}

function singular(word: string): string {
  return word.endsWith('ies')
    ? `${word.slice(0, -3)}y`
    : word.endsWith('s')
      ? word.slice(0, -1)
      : word;
}

/** The property lists of the model: requests whose variable array is a list of typed properties. */
export function propertyLists(model: SpecModel): PropertyList[] {
  const prefix = devicePrefix(model);
  const structs = new Map(model.structs.map((s) => [s.name, s]));
  const out: PropertyList[] = [];
  for (const request of model.structs) {
    const field = variableOf(request);
    const verb = /_req_(\w+)$/.exec(request.name)?.[1];
    if (!request.request || !field || field.type !== 'u8' || !verb) continue;
    const header = structs.get(`${prefix}${verb}_${singular(field.name)}`);
    if (!header) continue;
    let type: PropertyList['type'] | undefined;
    let length: PropertyList['lengthOffset'] | undefined;
    let lengthType: PropertyList['lengthType'] = 'le16';
    for (const f of header.fields) {
      if (f.kind === 'scalar' && f.count === undefined && f.type !== 'le64') {
        if (f.name === 'type')
          type = { offset: f.offset, container: f.type, shift: 0, width: SCALAR_SIZE[f.type] * 8 };
        if (f.name === 'length') [length, lengthType] = [f.offset, f.type];
      }
      if (f.kind === 'bits' && f.type !== 'le64') {
        const b = f.bits.find((r) => r.name === 'type');
        if (b) type = { offset: f.offset, container: f.type, shift: b.shift, width: b.width };
      }
    }
    if (!type || length === undefined) continue;
    const groupPrefix = `${prefix}${verb}_T_`.toUpperCase();
    const entries = model.constants
      .filter((c) => c.group === groupPrefix)
      .flatMap((constant) => {
        const kind = constant.name.slice(groupPrefix.length).toLowerCase();
        const struct = structs.get(`${prefix}${verb}_${kind}`);
        const first = struct?.fields[0];
        return struct && first?.kind === 'struct' && first.struct === header.name
          ? [{ constant, kind, struct }]
          : [];
      });
    out.push({ request, field, header, type, lengthOffset: length, lengthType, entries });
  }
  return out;
}

const GET = { u8: code`getUint8`, le16: code`getUint16`, le32: code`getUint32` };
const LE = (t: 'u8' | 'le16' | 'le32'): Code => (t === 'u8' ? code`` : code`, true`);

/** The TypeScript names of a list: its entry type and decoder, and the struct codecs it uses. */
export function propertyListNames(model: SpecModel, list: PropertyList) {
  const all = structNames(model);
  const verb = all.get(list.request.name)!.verb!;
  return {
    entryType: ident(`${verb}${pascalCase(singular(list.field.name))}Entry`, 'ts'),
    decode: ident(`decode${verb}${pascalCase(list.field.name)}`, 'ts'),
    header: ident(all.get(list.header.name)!.type, 'ts'),
    readHeader: ident(`read${all.get(list.header.name)!.type}`, 'ts'),
    struct: (s: Struct) => ident(all.get(s.name)!.type, 'ts'),
    read: (s: Struct) => ident(`read${all.get(s.name)!.type}`, 'ts'),
  };
}

/** The entry type for dist/ts/types.ts. */
export function emitPropertyEntryType(model: SpecModel, list: PropertyList): Code {
  const n = propertyListNames(model, list);
  const variants = [
    ...list.entries.map(
      (e) => code`  | { kind: ${quote(e.kind)}; offset: number; property: ${n.struct(e.struct)} }`,
    ),
    code`  | { kind: 'unknown'; offset: number; property: ${n.header} };`,
  ];
  return lines([
    code``,
    comment(
      `One entry of ${list.request.name}.${list.field.name}, as ${n.decode.toString()} returns it: a property of a known type, decoded, or the header of one it does not know. \`offset\` is where the property starts in the list.`,
      '',
      { doc: true },
    ),
    code`export type ${n.entryType} =`,
    ...variants,
  ]);
}

/** The list decoder for dist/ts/codecs.ts. */
export function emitPropertyListDecoder(model: SpecModel, list: PropertyList): Code {
  const n = propertyListNames(model, list);
  const hs = list.header.size;
  const struct = list.header.name;
  const t = list.type;
  const word = code`view.${GET[t.container]}(start + at${t.offset ? code` + ${t.offset}` : code``}${LE(t.container)})`;
  const typeOf =
    t.shift === 0 && t.width === SCALAR_SIZE[t.container] * 8
      ? word
      : t.shift === 0
        ? code`${word} & ${hex(2 ** t.width - 1)}`
        : code`(${word} >>> ${t.shift}) & ${hex(2 ** t.width - 1)}`;
  const cases = list.entries.flatMap((e) => {
    const body = e.struct.size - hs;
    return [
      code`      case ${ident(e.constant.name, 'ts')}:`,
      code`        if (length < ${body}) {`,
      code`          throw malformed(${quote(e.struct.name)}, 'head.length', 'the property at offset ' + at + ' says ' + length + ' bytes; its fields need ${body}', ${e.struct.size}, ${hs} + length);`,
      code`        }`,
      code`        out.push({ kind: ${quote(e.kind)}, offset: at, property: ${n.read(e.struct)}(view, start + at) });`,
      code`        break;`,
    ];
  });
  const unknown = code`out.push({ kind: 'unknown', offset: at, property: ${n.readHeader}(view, start + at) });`;
  return lines([
    code``,
    comment(
      `Walks ${list.request.name}.${list.field.name}, the \`length\` bytes at \`offset\` of \`bytes\` (by default all of them), as the spec's driver does: it reads each property's header, decodes the types it knows, returns the others as 'unknown' (their header only), and goes on ${hs} + length bytes further. It stops at a property whose type is 0 or where no header fits. A length that runs past the end is a CodecError ('malformed'), as is a known property too short for its fields. Offsets in the entries count from \`offset\`.`,
      '',
      { doc: true },
    ),
    code`export function ${n.decode}(bytes: Bytes, offset = 0, length = bytes.byteLength - offset): ${n.entryType}[] {`,
    code`  if (offset >>> 0 !== offset || length >>> 0 !== length || offset + length > bytes.byteLength) {`,
    code`    throw shortInput(LAYOUT, ${quote(`${list.request.name}#device`)}, offset, length, bytes.byteLength, 'decode');`,
    code`  }`,
    code`  const out: ${n.entryType}[] = [];`,
    code`  const view = viewOf(bytes);`,
    code`  const start = startOf(bytes, view) + offset;`,
    code`  const end = length;`,
    code`  let at = 0;`,
    code`  while (at + ${hs} <= end) {`,
    code`    const type = ${typeOf};`,
    code`    if (type === 0) break;`,
    code`    const length = view.${GET[list.lengthType]}(start + at + ${list.lengthOffset}${LE(list.lengthType)});`,
    code`    if (at + ${hs} + length > end) {`,
    code`      throw malformed(${quote(struct)}, 'length', 'the property at offset ' + at + ' says ' + length + ' bytes; ' + (end - at - ${hs}) + ' follow its header', at + ${hs} + length, end);`,
    code`    }`,
    ...(cases.length
      ? [
          code`    switch (type) {`,
          ...cases,
          code`      default:`,
          code`        ${unknown}`,
          code`    }`,
        ]
      : [code`    ${unknown}`]),
    code`    at += ${hs} + length;`,
    code`  }`,
    code`  return out;`,
    code`}`,
  ]);
}

/** The constants the decoders switch on. */
export function propertyListConstants(lists: PropertyList[]): Code[] {
  return lists.flatMap((l) => l.entries.map((e) => ident(e.constant.name, 'ts')));
}
