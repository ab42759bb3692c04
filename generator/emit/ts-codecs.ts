// dist/ts/codecs.ts: encode and decode for every struct and every request part, as
// straight-line DataView code written out ahead of time (ajv standalone style). Each
// record gets private `read…` (no checks), `check…` (returns the path of a bad value) and
// `write…` functions, and public `decode…`/`encode…` that check the bounds first, so that
// short input is a CodecError and never a wrong value, and nothing is half-written.

import type { SpecModel } from '../model.js';
import { banner, code, comment, ident, join, lines, quote, type Code } from './codegen.js';
import { fieldCode, fieldTypeText, lengthParam } from './ts-fields.js';
import { structNames, type StructNames } from './ts-naming.js';
import {
  emitPropertyListDecoder,
  propertyListConstants,
  propertyListNames,
  propertyLists,
} from './ts-property-list.js';
import { positionOf, recordIdent, sizeExpression, tsRecords, type TsRecord } from './ts-records.js';

export const TS_CODECS_PATH = 'dist/ts/codecs.ts';

function layoutTable(records: TsRecord[]): Code {
  const rows = records.map((r) => {
    const entries = r.fields.flatMap((f) => {
      const offset = f.offset - r.base;
      const size = f.kind === 'variable' ? 0 : f.size;
      const nested = f.kind === 'struct' ? code`, ${quote(f.struct)}` : code``;
      const main = code`[${quote(f.name)}, ${offset}, ${size}, ${quote(fieldTypeText(f))}${nested}]`;
      if (f.kind !== 'bits') return [main];
      return [
        main,
        ...f.bits
          .filter((b) => b.name !== f.name)
          .map(
            (b) =>
              code`[${quote(b.name)}, ${offset}, ${size}, ${quote(`${f.type} bits ${b.shift}-${b.shift + b.width - 1}`)}]`,
          ),
      ];
    });
    return code`  ${quote(r.key)}: [${join(entries, ', ')}],`;
  });
  return join([code`const LAYOUT: LayoutTable = {`, ...rows, code`};`], '\n');
}

function describePart(r: TsRecord): string {
  if (r.part === 'driver')
    return `the device-readable part of ${r.struct.name} (what the driver writes)`;
  if (r.part === 'device')
    return `the device-writable part of ${r.struct.name} (what the device writes)`;
  return `struct ${r.struct.name}`;
}

function emitRecord(names: Map<string, StructNames>, r: TsRecord): Code[] {
  const nestedRecord = (struct: string) => ({ name: names.get(struct)!.type });
  const nested = {
    read: (s: string) => recordIdent('read', nestedRecord(s)),
    check: (s: string) => recordIdent('check', nestedRecord(s)),
    write: (s: string) => recordIdent('write', nestedRecord(s)),
    type: (s: string) => ident(names.get(s)!.type, 'ts'),
  };
  const codes = r.fields.map((f, i) => fieldCode(f, (k) => positionOf(r, f, k), nested, i));
  const type = ident(r.name, 'ts');
  const length = r.variable ? lengthParam(r.variable) : undefined;
  const lengthArg = length ? code`, ${length}: number` : code``;
  const lengthPass = length ? code`, ${length}` : code``;
  const key = quote(r.key);
  const size = sizeExpression(r);
  const lengthCheck = length
    ? [
        code`  if (${length} >>> 0 !== ${length}) throw badLength(${key}, ${quote(r.variable!.lengthField)}, ${length});`,
      ]
    : [];
  const bounds = (verb: 'decode' | 'encode') => [
    ...lengthCheck,
    code`  if (offset >>> 0 !== offset || offset + ${size} > bytes.byteLength) {`,
    code`    throw shortInput(LAYOUT, ${key}, offset, ${size}, bytes.byteLength, ${quote(verb)});`,
    code`  }`,
  ];
  const what = describePart(r);
  const lengthDoc = r.variable
    ? ` \`${length}\` is the ${r.variable.lengthField} of the device configuration.`
    : '';
  return [
    code``,
    code`function ${recordIdent('read', r)}(v: DataView, at: number${lengthArg}): ${type} {`,
    ...codes.flatMap((c) => c.prelude.map((p) => code`  ${p}`)),
    code`  return {`,
    ...codes.flatMap((c) => c.read.map((p) => code`    ${p},`)),
    code`  };`,
    code`}`,
    code``,
    code`function ${recordIdent('check', r)}(value: ${type}${lengthArg}): string | undefined {`,
    ...codes.flatMap((c) => c.check.map((p) => code`  ${p}`)),
    code`  return undefined;`,
    code`}`,
    code``,
    code`function ${recordIdent('write', r)}(v: DataView, at: number, value: ${type}${lengthArg}): void {`,
    ...codes.flatMap((c) => c.write.map((p) => code`  ${p}`)),
    code`}`,
    code``,
    comment(
      `Decodes ${what} at \`offset\` of \`bytes\`.${lengthDoc} Throws a CodecError when the bytes are too short.`,
      '',
      { doc: true },
    ),
    code`export function ${recordIdent('decode', r)}(bytes: Bytes${lengthArg}, offset = 0): ${type} {`,
    ...bounds('decode'),
    code`  const view = viewOf(bytes);`,
    code`  return ${recordIdent('read', r)}(view, startOf(bytes, view) + offset${lengthPass});`,
    code`}`,
    code``,
    comment(
      `Encodes ${what} at \`offset\` of \`bytes\` and returns the offset after it.${lengthDoc} Throws a CodecError, before writing anything, when the bytes are too short or a value does not fit its field.`,
      '',
      { doc: true },
    ),
    code`export function ${recordIdent('encode', r)}(bytes: Bytes, value: ${type}${lengthArg}, offset = 0): number {`,
    ...bounds('encode'),
    code`  const bad = ${recordIdent('check', r)}(value${lengthPass});`,
    code`  if (bad !== undefined) throw badValue(LAYOUT, ${key}, bad, value);`,
    code`  const view = viewOf(bytes);`,
    code`  ${recordIdent('write', r)}(view, startOf(bytes, view) + offset, value${lengthPass});`,
    code`  return offset + ${size};`,
    code`}`,
  ];
}

export function emitTsCodecs(model: SpecModel): string {
  const records = tsRecords(model);
  const lists = propertyLists(model);
  const names = structNames(model);
  const body = lines([
    comment('Field layout of every record, for the messages of CodecError.'),
    layoutTable(records),
    ...records.flatMap((r) => emitRecord(names, r)),
    ...lists.map((l) => emitPropertyListDecoder(model, l)),
  ]).toString();
  // Import what the body calls, so that no model leaves an unused import behind.
  const runtime = [
    'badLength',
    'badValue',
    'copyBytes',
    'malformed',
    'putBytes',
    'shortInput',
    'startOf',
    'viewOf',
  ]
    .filter((name) => body.includes(`${name}(`))
    .map((name) => ident(name, 'ts'));
  const constants = propertyListConstants(lists);
  const types = [
    ...records.map((r) => r.name),
    ...lists.map((l) => propertyListNames(model, l).entryType.toString()),
  ];
  const imports = [
    code`import { ${join([...runtime, code`type Bytes`, code`type LayoutTable`], ', ')} } from './runtime.js';`,
    ...(constants.length ? [code`import { ${join(constants, ', ')} } from './constants.js';`] : []),
    code`import type { ${join(
      types.map((n) => ident(n, 'ts')),
      ', ',
    )} } from './types.js';`,
  ];
  return `${banner(model).toString()}${lines([...imports, code``]).toString()}${body}`;
}
