// dist/ts/requests.ts: the request registry. Per request type (keyed by its verb, `map` for
// virtio_iommu_req_map): the type code, the sizes of the device-readable and device-writable
// parts, a blank driver part (every field zero but the type code), and the codecs of both
// parts with one signature, so that a driver or a device handles every request the same way.

import type { Field, SpecModel, Struct } from '../model.js';
import { banner, code, comment, ident, join, lines, quote, type Code } from './codegen.js';
import { devicePrefix, structNames } from './ts-naming.js';

export const TS_REQUESTS_PATH = 'dist/ts/requests.ts';

interface RequestItem {
  struct: Struct & { request: NonNullable<Struct['request']> };
  /** `map`: the words after `req_`. */
  verb: string;
  /** `Map`: the word of the codec functions and part types. */
  word: string;
}

function requestItems(model: SpecModel): RequestItem[] {
  const names = structNames(model);
  const prefix = `${devicePrefix(model)}req_`;
  return model.structs.flatMap((s) =>
    s.request && s.name.startsWith(prefix)
      ? [
          {
            struct: { ...s, request: s.request },
            verb: s.name.slice(prefix.length),
            word: names.get(s.name)!.verb!,
          },
        ]
      : [],
  );
}

/**
 * The dotted path of the field that holds a request's type code: its first byte, the first
 * field of its first nested struct (`head.type`). It must be a single u8.
 */
function typeFieldPath(model: SpecModel, struct: Struct): string {
  const first = struct.fields[0];
  if (first?.kind === 'struct') {
    return `${first.name}.${typeFieldPath(
      model,
      model.structs.find((s) => s.name === first.struct)!,
    )}`;
  }
  if (first?.kind === 'scalar' && first.type === 'u8' && first.count === undefined)
    return first.name;
  throw new Error(`Request \`${struct.name}\` does not start with a u8 field for its type code`);
}

/** The `name: zero` entries of `fields`, with `typeCode` at `typePath`. */
function blankEntries(model: SpecModel, fields: Field[], typePath: string, typeCode: Code): Code[] {
  const entries: Code[] = [];
  for (const f of fields) {
    const name = ident(f.name, 'ts-property');
    switch (f.kind) {
      case 'scalar': {
        const zero = f.type === 'le64' ? code`0n` : code`0`;
        if (f.name === typePath) entries.push(code`${name}: ${typeCode}`);
        else if (f.count === undefined) entries.push(code`${name}: ${zero}`);
        else if (f.type === 'u8') entries.push(code`${name}: new Uint8Array(${f.count})`);
        else entries.push(code`${name}: [${join(Array<Code>(f.count).fill(zero), ', ')}]`);
        break;
      }
      case 'struct': {
        const nested = model.structs.find((s) => s.name === f.struct)!;
        const inner = typePath.startsWith(`${f.name}.`) ? typePath.slice(f.name.length + 1) : '';
        const values = blankEntries(model, nested.fields, inner, typeCode);
        entries.push(code`${name}: { ${join(values, ', ')} }`);
        break;
      }
      case 'bits':
        for (const b of f.bits) entries.push(code`${ident(b.name, 'ts-property')}: 0`);
        break;
      case 'variable':
        throw new Error(`\`${f.name}\` is a variable array in a device-readable part`);
    }
  }
  return entries;
}

function entryCode(model: SpecModel, item: RequestItem): Code[] {
  const { struct, verb, word } = item;
  const type = ident(struct.request.type, 'ts');
  const fn = (prefix: string, part: string) => ident(`${prefix}${word}${part}`, 'ts');
  const readable = struct.fields.filter((f) => f.part === 'readable');
  const blank = blankEntries(model, readable, typeFieldPath(model, struct), type);
  const variable = struct.request.writableVariable;
  const lengthField = variable
    ? struct.fields.find((f): f is Field & { kind: 'variable' } => f.name === variable)!.lengthField
    : undefined;
  return [
    code`  ${ident(verb, 'ts-property')}: {`,
    code`    type: ${type},`,
    code`    name: ${quote(struct.request.type)},`,
    code`    struct: ${quote(struct.name)},`,
    code`    readableSize: ${struct.request.readableSize},`,
    code`    writableSize: ${struct.request.writableSize},`,
    ...(lengthField ? [code`    writableVariable: ${quote(lengthField)},`] : []),
    code`    blank: () => ({`,
    ...blank.map((entry) => code`      ${entry},`),
    code`    }),`,
    code`    encodeDriverPart: ${fn('encode', 'DriverPart')},`,
    code`    decodeDriverPart: ${fn('decode', 'DriverPart')},`,
    ...(lengthField
      ? [
          code`    encodeDevicePart: ${fn('encode', 'DevicePart')},`,
          code`    decodeDevicePart: ${fn('decode', 'DevicePart')},`,
        ]
      : [
          code`    encodeDevicePart: (bytes, value, _length, offset) => ${fn('encode', 'DevicePart')}(bytes, value, offset),`,
          code`    decodeDevicePart: (bytes, _length, offset) => ${fn('decode', 'DevicePart')}(bytes, offset),`,
        ]),
    code`  },`,
  ];
}

export function emitTsRequests(model: SpecModel): string {
  const items = requestItems(model);
  const partType = (item: RequestItem, part: string) => ident(`${item.word}${part}`, 'ts');
  const codecs = items.flatMap((item) =>
    ['encode', 'decode'].flatMap((prefix) =>
      ['DriverPart', 'DevicePart'].map((part) => ident(`${prefix}${item.word}${part}`, 'ts')),
    ),
  );
  const out: Code[] = [
    code`import type { Bytes } from './runtime.js';`,
    code`import { ${join(
      items.map((item) => ident(item.struct.request.type, 'ts')),
      ', ',
    )} } from './constants.js';`,
    code`import { ${join(codecs, ', ')} } from './codecs.js';`,
    code`import type { ${join(
      items.flatMap((item) => [partType(item, 'DriverPart'), partType(item, 'DevicePart')]),
      ', ',
    )} } from './types.js';`,
    code``,
    comment('One request type: its code, the sizes of its two parts, and their codecs.', '', {
      doc: true,
    }),
    code`export interface RequestEntry<DriverPart, DevicePart> {`,
    comment('The type code the driver writes into head.type.', '  ', { doc: true }),
    code`  readonly type: number;`,
    comment('The name of the type code: `VIRTIO_IOMMU_T_MAP`.', '  ', { doc: true }),
    code`  readonly name: string;`,
    code`  readonly struct: string;`,
    comment('Size of the device-readable part: what the driver writes.', '  ', { doc: true }),
    code`  readonly readableSize: number;`,
    comment('Size of the device-writable part, without its variable array.', '  ', {
      doc: true,
    }),
    code`  readonly writableSize: number;`,
    comment(
      'The configuration field whose value is the length of the variable array of the device-writable part, if it has one.',
      '  ',
      { doc: true },
    ),
    code`  readonly writableVariable?: string;`,
    comment('A driver part with every field zero but the type code.', '  ', { doc: true }),
    code`  blank(): DriverPart;`,
    code`  encodeDriverPart(bytes: Bytes, value: DriverPart, offset?: number): number;`,
    code`  decodeDriverPart(bytes: Bytes, offset?: number): DriverPart;`,
    comment(
      '`length`: the length of the variable array (the value of writableVariable); ignored without one.',
      '  ',
      { doc: true },
    ),
    code`  encodeDevicePart(bytes: Bytes, value: DevicePart, length: number, offset?: number): number;`,
    code`  decodeDevicePart(bytes: Bytes, length: number, offset?: number): DevicePart;`,
    code`}`,
    code``,
    code`export interface Requests {`,
    ...items.map(
      (item) =>
        code`  readonly ${ident(item.verb, 'ts-property')}: RequestEntry<${partType(item, 'DriverPart')}, ${partType(item, 'DevicePart')}>;`,
    ),
    code`}`,
    code``,
    code`export type RequestVerb = keyof Requests;`,
    code``,
    comment('Every request type of the spec by its verb.', '', { doc: true }),
    code`export const REQUESTS: Requests = {`,
    ...items.flatMap((item) => entryCode(model, item)),
    code`};`,
    code``,
    comment('The verb of each request type code.', '', { doc: true }),
    code`export const REQUEST_VERBS: Readonly<Record<number, RequestVerb>> = {`,
    ...items.map(
      (item) => code`  [${ident(item.struct.request.type, 'ts')}]: ${quote(item.verb)},`,
    ),
    code`};`,
  ];
  return code`${banner(model)}${lines(out)}`.toString();
}
