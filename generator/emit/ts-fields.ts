// How one field of the model becomes TypeScript: its property types, the DataView reads that
// decode it, the checks an encoder runs before writing, and the writes. Straight-line code
// only; the codec emitter strings these together per struct.

import type { Field, ScalarType } from '../model.js';
import { SCALAR_SIZE } from '../model-facts.js';
import { camelCase, code, hex, ident, join, num, quote, type Code } from './codegen.js';

export interface FieldProperty {
  name: string;
  type: Code;
  doc: string;
}

export interface FieldCode {
  properties: FieldProperty[];
  /** Statements before the object literal (a bit container's word). */
  prelude: Code[];
  /** `name: expression` entries of the decoded object. */
  read: Code[];
  /** Statements that return the dotted path of a bad value. */
  check: Code[];
  write: Code[];
}

const GET: Record<ScalarType, Code> = {
  u8: code`getUint8`,
  le16: code`getUint16`,
  le32: code`getUint32`,
  le64: code`getBigUint64`,
};
const SET: Record<ScalarType, Code> = {
  u8: code`setUint8`,
  le16: code`setUint16`,
  le32: code`setUint32`,
  le64: code`setBigUint64`,
};
const LE = (t: ScalarType): Code => (t === 'u8' ? code`` : code`, true`);

function tsScalarType(t: ScalarType): Code {
  return t === 'le64' ? code`bigint` : code`number`;
}

/** The check that is true when `x` does not fit `t`. */
function badScalar(t: ScalarType, x: Code): Code {
  switch (t) {
    case 'u8':
      return code`(${x} & 0xff) !== ${x}`;
    case 'le16':
      return code`(${x} & 0xffff) !== ${x}`;
    case 'le32':
      return code`${x} >>> 0 !== ${x}`;
    case 'le64':
      return code`typeof ${x} !== 'bigint' || ${x} < 0n || ${x} > 0xffffffffffffffffn`;
  }
}

/** The name of a length parameter: `probe_size` → `probeSize`. */
export function lengthParam(f: Field & { kind: 'variable' }): Code {
  return ident(camelCase(f.lengthField), 'ts');
}

/** Type text for messages and docs: `le32`, `u8[3]`, `le16 bits 0-11`, `u8[probe_size]`. */
export function fieldTypeText(f: Field): string {
  switch (f.kind) {
    case 'scalar':
      return f.count !== undefined ? `${f.type}[${f.count}]` : f.type;
    case 'struct':
      return `struct ${f.struct}`;
    case 'bits':
      return f.type;
    case 'variable':
      return `${f.type}[${f.lengthField}]`;
  }
}

/**
 * The code for field `f`, whose byte `k` is at `pos(k)` (an offset expression from `at`).
 * `nested` names the functions and type of a nested struct; `slot` numbers the locals.
 */
export function fieldCode(
  f: Field,
  pos: (k?: number) => Code,
  nested: {
    read: (struct: string) => Code;
    check: (struct: string) => Code;
    write: (struct: string) => Code;
    type: (struct: string) => Code;
  },
  slot: number,
): FieldCode {
  const name = ident(f.name, 'ts-property');
  const value = code`value.${name}`;
  const where = `${fieldTypeText(f)} at offset ${f.offset}`;
  const doc = f.doc ? `${f.doc} (${where})` : where;
  const path = (n: string) => code`return ${quote(n)};`;
  switch (f.kind) {
    case 'scalar': {
      if (f.count === undefined) {
        return {
          properties: [{ name: f.name, type: tsScalarType(f.type), doc }],
          prelude: [],
          read: [code`${name}: v.${GET[f.type]}(${pos()}${LE(f.type)})`],
          check: [code`if (${badScalar(f.type, value)}) ${path(f.name)}`],
          write: [code`v.${SET[f.type]}(${pos()}, ${value}${LE(f.type)});`],
        };
      }
      if (f.type === 'u8') {
        // Short arrays are read and written byte by byte: no call, no loop.
        const short = f.count <= 8;
        const local = ident(`b${slot}`, 'ts');
        return {
          properties: [{ name: f.name, type: code`Uint8Array`, doc: `${doc}; ${f.count} bytes` }],
          prelude: short
            ? [
                code`const ${local} = new Uint8Array(${f.count});`,
                ...[...Array(f.count).keys()].map(
                  (i) => code`${local}[${i}] = v.getUint8(${pos(i)});`,
                ),
              ]
            : [],
          read: [
            short ? code`${name}: ${local}` : code`${name}: copyBytes(v, ${pos()}, ${f.count})`,
          ],
          check: [
            code`if (!(${value} instanceof Uint8Array) || ${value}.length !== ${f.count}) ${path(f.name)}`,
          ],
          write: short
            ? [...Array(f.count).keys()].map((i) => code`v.setUint8(${pos(i)}, ${value}[${i}]);`)
            : [code`putBytes(v, ${pos()}, ${value});`],
        };
      }
      const size = SCALAR_SIZE[f.type];
      const indexes = [...Array(f.count).keys()];
      const element = (i: number) => code`${value}[${i}]`;
      return {
        properties: [
          {
            name: f.name,
            type: code`${tsScalarType(f.type)}[]`,
            doc: `${doc}; ${f.count} elements`,
          },
        ],
        prelude: [],
        read: [
          code`${name}: [${join(
            indexes.map((i) => code`v.${GET[f.type]}(${pos(i * size)}${LE(f.type)})`),
            ', ',
          )}]`,
        ],
        check: [
          code`if (!Array.isArray(${value}) || ${value}.length !== ${f.count} || ${join(
            indexes.map((i) => code`${badScalar(f.type, element(i))}`),
            ' || ',
          )}) ${path(f.name)}`,
        ],
        write: indexes.map(
          (i) => code`v.${SET[f.type]}(${pos(i * size)}, ${element(i)}${LE(f.type)});`,
        ),
      };
    }
    case 'struct':
      return {
        properties: [{ name: f.name, type: nested.type(f.struct), doc }],
        prelude: [],
        read: [code`${name}: ${nested.read(f.struct)}(v, ${pos()})`],
        check: [
          code`{`,
          code`  const bad = ${nested.check(f.struct)}(${value});`,
          code`  if (bad !== undefined) return ${quote(`${f.name}.`)} + bad;`,
          code`}`,
        ],
        write: [code`${nested.write(f.struct)}(v, ${pos()}, ${value});`],
      };
    case 'bits': {
      const word = ident(`w${slot}`, 'ts');
      const big = f.type === 'le64';
      for (const b of f.bits) {
        if (b.width > 32)
          throw new Error(
            `Bit range \`${b.name}\` is ${b.width} bits wide; dist/ts handles up to 32`,
          );
      }
      const top = SCALAR_SIZE[f.type] * 8;
      const extract = (shift: number, width: number): Code => {
        const mask = hex(2 ** width - 1);
        if (big) return code`Number((${word} >> ${num(shift)}n) & ${mask}n)`;
        if (shift + width === 32) return code`${word} >>> ${shift}`;
        return shift === 0 ? code`${word} & ${mask}` : code`(${word} >>> ${shift}) & ${mask}`;
      };
      const compose = big
        ? join(
            f.bits.map((b) =>
              b.shift === 0
                ? code`BigInt(value.${ident(b.name, 'ts-property')})`
                : code`(BigInt(value.${ident(b.name, 'ts-property')}) << ${num(b.shift)}n)`,
            ),
            ' | ',
          )
        : code`(${join(
            f.bits.map((b) =>
              b.shift === 0
                ? code`value.${ident(b.name, 'ts-property')}`
                : code`(value.${ident(b.name, 'ts-property')} << ${b.shift})`,
            ),
            ' | ',
          )})${top === 32 ? code` >>> 0` : code``}`;
      return {
        properties: f.bits.map((b) => ({
          name: b.name,
          type: code`number`,
          doc: `bits ${b.shift}-${b.shift + b.width - 1} of the ${f.type} at offset ${f.offset}${b.name === f.name && f.doc ? `: ${f.doc}` : ''}`,
        })),
        prelude: [code`const ${word} = v.${GET[f.type]}(${pos()}${LE(f.type)});`],
        read: f.bits.map(
          (b) => code`${ident(b.name, 'ts-property')}: ${extract(b.shift, b.width)}`,
        ),
        check: f.bits.map((b) => {
          const x = code`value.${ident(b.name, 'ts-property')}`;
          const bad =
            b.width === 32
              ? code`${x} >>> 0 !== ${x}`
              : code`(${x} & ${hex(2 ** b.width - 1)}) !== ${x}`;
          return code`if (${bad}) ${path(b.name)}`;
        }),
        write: [code`v.${SET[f.type]}(${pos()}, ${compose}${LE(f.type)});`],
      };
    }
    case 'variable': {
      const length = lengthParam(f);
      const bytes = f.elementSize === 1 ? length : code`${length} * ${f.elementSize}`;
      return {
        properties: [
          {
            name: f.name,
            type: code`Uint8Array`,
            doc: `${doc}; the raw bytes, ${f.lengthField} elements of ${f.elementSize} bytes`,
          },
        ],
        prelude: [],
        read: [code`${name}: copyBytes(v, ${pos()}, ${bytes})`],
        check: [
          code`if (!(${value} instanceof Uint8Array) || ${value}.length !== ${bytes}) ${path(f.name)}`,
        ],
        write: [code`putBytes(v, ${pos()}, ${value});`],
      };
    }
  }
}
