// Lays out struct declarations: packed little-endian, every offset and size computed, and every
// scalar naturally aligned so that the C header has the same layout on every ABI.

import type { Field, RequestPart, SourcePlace, Struct } from '../model.js';
import { requestConstantName, SCALAR_SIZE } from '../model-facts.js';
import type { MemberDecl, Place, StructDecl } from './c-block.js';

export interface LocatedStruct {
  decl: StructDecl;
  section: string;
  at(place: Place): SourcePlace;
}

export interface LayoutError {
  message: string;
  source: SourcePlace;
}

/**
 * How fields are placed. `aligned` (the spec today): packed, and every scalar must already sit
 * at a multiple of its size. Historic versions use C's rules: `natural` pads as C would,
 * `packed` (`__attribute__((packed))`) never pads.
 */
export type LayoutMode = 'aligned' | 'natural' | 'packed';

interface Laid {
  struct: Struct;
  align: number;
}

/** Flattens inline definitions so that each struct follows the structs it uses. */
export function hoistInlineStructs<T extends LocatedStruct>(located: readonly T[]): T[] {
  const out: T[] = [];
  const visit = (item: T): void => {
    for (const m of item.decl.members) {
      if (m.kind === 'struct' && m.inline) visit({ ...item, decl: m.inline });
    }
    out.push(item);
  };
  located.forEach(visit);
  return out;
}

export function layoutStructs(
  located: LocatedStruct[],
  requestTypeOf: (structName: string) => string | undefined,
  mode: LayoutMode = 'aligned',
): { structs: Struct[]; errors: LayoutError[]; failed: Set<string> } {
  const errors: LayoutError[] = [];
  const laid = new Map<string, Laid>();
  const failed = new Set<string>();
  for (const item of hoistInlineStructs(located)) {
    const { decl } = item;
    if (laid.has(decl.name)) {
      errors.push({
        message: `Struct \`${decl.name}\` is defined twice; rename one or reuse the first with \`struct ${decl.name} NAME;\``,
        source: item.at(decl.place),
      });
      continue;
    }
    const result = layoutOne(item, laid, failed, requestTypeOf, errors, mode);
    if (result) laid.set(decl.name, result);
    else failed.add(decl.name);
  }
  return { structs: [...laid.values()].map((l) => l.struct), errors, failed };
}

function layoutOne(
  item: LocatedStruct,
  laid: Map<string, Laid>,
  failed: Set<string>,
  requestTypeOf: (structName: string) => string | undefined,
  errors: LayoutError[],
  mode: LayoutMode,
): Laid | undefined {
  const { decl } = item;
  if (decl.broken) return undefined;
  const fields: Field[] = [];
  const names = new Set<string>();
  let offset = 0;
  let align = 1;
  let part: RequestPart | undefined;
  let variable: string | undefined;
  let ok = true;
  const fail = (message: string, place: Place): void => {
    errors.push({ message, source: item.at(place) });
    ok = false;
  };
  let misaligned = false;
  const place = (size: number, name: string, at: Place): void => {
    if (mode === 'packed') return;
    if (mode === 'natural') {
      offset = Math.ceil(offset / size) * size;
      align = Math.max(align, size);
      return;
    }
    // One misplaced field shifts all that follow; report the first only.
    if (offset % size !== 0 && !misaligned) {
      misaligned = true;
      fail(
        `Field \`${name}\` of \`${decl.name}\` would sit at offset ${offset}, which is not a multiple of its alignment ${size}; C would insert padding. Add a reserved field before it.`,
        at,
      );
    }
    align = Math.max(align, size);
  };
  const common = (m: Exclude<MemberDecl, { kind: 'marker' }>) => ({
    source: item.at(m.place),
    ...(part ? { part } : {}),
    ...(m.doc ? { doc: m.doc } : {}),
  });

  for (const m of decl.members) {
    if (m.kind === 'marker') {
      if (part === 'writable' && m.part === 'readable') {
        fail('The device-readable part must come before the device-writable part', m.place);
      }
      part = m.part;
      continue;
    }
    const name = m.kind === 'bits' ? m.bits[0].name : m.name;
    for (const n of m.kind === 'bits' ? m.bits.map((b) => b.name) : [name]) {
      if (names.has(n)) fail(`Field \`${n}\` appears twice in \`${decl.name}\``, m.place);
      names.add(n);
    }
    if (m.kind === 'scalar') {
      const size = SCALAR_SIZE[m.type];
      place(size, m.name, m.place);
      if (m.lengthField) {
        if (variable) {
          fail(
            `\`${decl.name}\` already has a variable array (\`${variable}\`); a struct may have one`,
            m.place,
          );
        }
        variable = m.name;
        fields.push({
          kind: 'variable',
          name: m.name,
          type: m.type,
          offset,
          elementSize: size,
          lengthField: m.lengthField,
          ...common(m),
        });
        continue;
      }
      const count = m.count ?? 1;
      fields.push({
        kind: 'scalar',
        name: m.name,
        type: m.type,
        offset,
        size: size * count,
        ...(m.count !== undefined ? { count: m.count } : {}),
        ...common(m),
      });
      offset += size * count;
    } else if (m.kind === 'struct') {
      const inner = laid.get(m.struct);
      if (!inner) {
        if (failed.has(m.struct)) {
          ok = false;
          continue;
        }
        fail(
          `Unknown struct \`${m.struct}\` for field \`${m.name}\`; define it before \`${decl.name}\``,
          m.place,
        );
        continue;
      }
      if (inner.struct.variable) {
        fail(
          `\`${m.struct}\` has a variable array and cannot be nested in \`${decl.name}\``,
          m.place,
        );
      }
      place(inner.align, m.name, m.place);
      fields.push({
        kind: 'struct',
        name: m.name,
        struct: m.struct,
        offset,
        size: inner.struct.size,
        ...common(m),
      });
      offset += inner.struct.size;
    } else {
      const size = SCALAR_SIZE[m.type];
      const width = m.bits.reduce((sum, b) => sum + b.width, 0);
      if (width !== size * 8) {
        fail(
          `The bit ranges of this \`${m.type}\` add up to ${width} bits; they must fill all ${size * 8}`,
          m.place,
        );
      }
      place(size, name, m.place);
      let shift = 0;
      const bits = m.bits.map((b) => {
        const range = { name: b.name, shift, width: b.width };
        shift += b.width;
        return range;
      });
      fields.push({ kind: 'bits', name, type: m.type, offset, size, bits, ...common(m) });
      offset += size;
    }
  }
  if (mode === 'natural') offset = Math.ceil(offset / align) * align;
  if (offset % align !== 0 && !misaligned) {
    fail(
      `\`${decl.name}\` is ${offset} bytes, not a multiple of its alignment ${align}; C would pad its end. Add a reserved field.`,
      decl.place,
    );
  }

  const type = requestTypeOf(decl.name);
  const hasMarkers = decl.members.some((m) => m.kind === 'marker');
  if (type && !hasMarkers) {
    fail(
      `Request \`${decl.name}\` must mark its parts with \`/* device-readable */\` and \`/* device-writable */\``,
      decl.place,
    );
  }
  if (!type && hasMarkers) {
    fail(
      `\`${decl.name}\` marks device-readable/writable parts but no constant \`${requestConstantName(decl.name)}\` makes it a request`,
      decl.place,
    );
  }
  if (!ok) return undefined;

  const struct: Struct = {
    name: decl.name,
    section: item.section,
    size: offset,
    ...(variable ? { variable } : {}),
    fields,
    ...(decl.doc ? { doc: decl.doc } : {}),
    source: item.at(decl.place),
  };
  if (type) {
    const readable = fields.filter((f) => f.part === 'readable');
    const writable = fields.filter((f) => f.part === 'writable');
    const fixedSize = (fs: Field[]) =>
      fs.reduce((sum, f) => sum + (f.kind === 'variable' ? 0 : f.size), 0);
    const writableVariable = writable.find((f) => f.kind === 'variable')?.name;
    if (readable.some((f) => f.kind === 'variable')) {
      errors.push({
        message: 'A variable array must be in the device-writable part',
        source: struct.source,
      });
      return undefined;
    }
    struct.request = {
      type,
      readableSize: fixedSize(readable),
      writableSize: fixedSize(writable),
      ...(writableVariable ? { writableVariable } : {}),
    };
  }
  return { struct, align };
}
