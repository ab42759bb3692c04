// The model seen as C definitions: what the UAPI header declares, in the order it declares
// it. The header emitter prints this view, the layout test asserts it and drift compares
// any header with it, so the three can never disagree. A profile (generator/profiles/)
// adds to the view the names that one consumer keeps beyond the spec.

import type { BitRange, Constant, Field, SourcePlace, SpecModel, Struct } from '../model.js';

export interface CDefine {
  name: string;
  /** The C text of the value: `4`, `(1 << 8)`, `0xfff`. */
  expression: string;
  value: number;
  doc?: string;
  /** Set for names outside the spec: why the profile keeps them. */
  outsideSpec?: string;
  /** Where the spec defines it (for derived masks: the struct). */
  source?: SourcePlace;
  /** The draft it belongs to (a model built with drafts). */
  draft?: string;
}

export interface CDefineGroup {
  kind: 'defines';
  /** Title of the spec section the group belongs to. */
  section: string;
  defines: CDefine[];
}

export interface CField {
  name: string;
  /** `__le32`, `__u8`, `struct virtio_iommu_req_head`. */
  type: string;
  /** Fixed array length. */
  count?: number;
  /** The flexible array member at the end of the struct. */
  flexible?: boolean;
  offset: number;
  /** Bytes; 0 for the flexible array. */
  size: number;
  doc?: string;
  /** The bit ranges of a little-endian container that C cannot express portably. */
  bits?: BitRange[];
  /** `/* device-readable *\/` or `/* device-writable *\/` comes before this field. */
  partStart?: 'readable' | 'writable';
  outsideSpec?: string;
  source?: SourcePlace;
}

export interface CStruct {
  kind: 'struct';
  name: string;
  section: string;
  /** `sizeof` in C: up to the flexible array member when there is one. */
  size: number;
  fields: CField[];
  /** Fields the spec puts after the variable array: C can only describe them in a comment. */
  trailing: Field[];
  /** The variable array's length field (`probe_size`). */
  lengthField?: string;
  doc?: string;
  /** The draft it belongs to (a model built with drafts). */
  draft?: string;
  source: SourcePlace;
}

export type CItem = CDefineGroup | CStruct;

export interface CView {
  items: CItem[];
}

export const C_SCALAR: Record<string, string> = {
  u8: '__u8',
  le16: '__le16',
  le32: '__le32',
  le64: '__le64',
};

/** The C type of a field with its array suffix, as a header spells it: `__u8[4]`, `__u8[]`. */
export function cTypeText(f: Pick<CField, 'type' | 'count' | 'flexible'>): string {
  return f.flexible ? `${f.type}[]` : f.count !== undefined ? `${f.type}[${f.count}]` : f.type;
}

/**
 * Mask defines for the bit ranges of a container: `<STRUCT>_<RANGE>_MASK`, in place (shifted),
 * and `_SHIFT` when the range does not start at bit 0. Reserved ranges get none: they are
 * the bits the masks leave.
 */
export function bitDefines(struct: Struct, field: Field & { kind: 'bits' }): CDefine[] {
  const out: CDefine[] = [];
  for (const b of field.bits) {
    if (/^reserved\d*$/.test(b.name)) continue;
    const base = `${struct.name}_${b.name}`.toUpperCase();
    const mask = (2 ** b.width - 1) * 2 ** b.shift;
    out.push({
      name: `${base}_MASK`,
      expression: `0x${mask.toString(16)}`,
      value: mask,
      doc: `Bits of ${b.name} in the ${field.type} that opens ${struct.name}`,
      source: field.source,
      ...(struct.draft ? { draft: struct.draft } : {}),
    });
    if (b.shift > 0) {
      out.push({
        name: `${base}_SHIFT`,
        expression: String(b.shift),
        value: b.shift,
        doc: `First bit of ${b.name}`,
        source: field.source,
        ...(struct.draft ? { draft: struct.draft } : {}),
      });
    }
  }
  return out;
}

function cField(f: Field): CField {
  const common = {
    name: f.name,
    offset: f.offset,
    source: f.source,
    ...(f.doc ? { doc: f.doc } : {}),
  };
  switch (f.kind) {
    case 'scalar':
      return {
        ...common,
        type: C_SCALAR[f.type],
        size: f.size,
        ...(f.count !== undefined ? { count: f.count } : {}),
      };
    case 'struct':
      return { ...common, type: `struct ${f.struct}`, size: f.size };
    case 'bits':
      return { ...common, type: C_SCALAR[f.type], size: f.size, bits: f.bits };
    case 'variable':
      return { ...common, type: C_SCALAR[f.type], size: 0, flexible: true };
  }
}

function cStruct(s: Struct, titles: Map<string, string>): CStruct {
  const fields: CField[] = [];
  const trailing: Field[] = [];
  let lengthField: string | undefined;
  let previousPart: string | undefined;
  for (const f of s.fields) {
    if (lengthField !== undefined) {
      trailing.push(f);
      continue;
    }
    const c = cField(f);
    if (f.part && f.part !== previousPart) c.partStart = f.part;
    previousPart = f.part;
    fields.push(c);
    if (f.kind === 'variable') lengthField = f.lengthField;
  }
  // With a flexible array member, sizeof is the array's offset (the model keeps every
  // scalar aligned, so there is no padding before it).
  const size = lengthField !== undefined ? fields[fields.length - 1].offset : s.size;
  return {
    kind: 'struct',
    name: s.name,
    section: titles.get(s.section) ?? s.section,
    size,
    fields,
    trailing,
    ...(lengthField !== undefined ? { lengthField } : {}),
    ...(s.doc ? { doc: s.doc } : {}),
    ...(s.draft ? { draft: s.draft } : {}),
    source: s.source,
  };
}

function cDefine(c: Constant): CDefine {
  return {
    name: c.name,
    expression: c.expression,
    value: c.value,
    ...(c.doc ? { doc: c.doc } : {}),
    ...(c.draft ? { draft: c.draft } : {}),
    source: c.source,
  };
}

/**
 * The view in document order: every constant group and struct sits where the spec first
 * defines it; bit masks come just before their struct.
 */
export function cView(model: SpecModel): CView {
  const sectionIndex = new Map(model.sections.map((s, i) => [s.slug, i]));
  const titles = new Map(model.sections.map((s) => [s.slug, s.title]));
  const constants = new Map(model.constants.map((c) => [c.name, c]));
  type Key = [section: number, line: number, tie: number, order: number];
  const placed: { key: Key; item: CItem }[] = [];
  const key = (section: string, line: number, tie: number, order = 0): Key => [
    sectionIndex.get(section) ?? Number.MAX_SAFE_INTEGER,
    line,
    tie,
    order,
  ];
  for (const g of model.groups) {
    const members = g.members
      .map((m) => constants.get(m))
      .filter((c): c is Constant => c !== undefined);
    if (members.length === 0) continue;
    const first = Math.min(...members.map((m) => m.source.line));
    placed.push({
      key: key(g.section, first, 1),
      item: {
        kind: 'defines',
        section: titles.get(g.section) ?? g.section,
        defines: members.map(cDefine),
      },
    });
  }
  // A struct goes where it or its first user is defined, whichever comes first (an inline
  // definition sits inside its user); model order puts it before that user.
  const structKeys = new Map<string, Key>();
  const before = (a: Key, b: Key): boolean => compareKeys(a, b) < 0;
  model.structs.forEach((s, order) =>
    structKeys.set(s.name, key(s.section, s.source.line, 1, order)),
  );
  for (const s of [...model.structs].reverse()) {
    for (const f of s.fields) {
      if (f.kind !== 'struct') continue;
      const used = structKeys.get(f.struct)!;
      const user = structKeys.get(s.name)!;
      if (before(user, used)) structKeys.set(f.struct, [user[0], user[1], user[2], used[3]]);
    }
  }
  for (const s of model.structs) {
    const at = structKeys.get(s.name)!;
    const masks = s.fields.flatMap((f) => (f.kind === 'bits' ? bitDefines(s, f) : []));
    if (masks.length) {
      placed.push({
        key: [at[0], at[1], 0, at[3]],
        item: { kind: 'defines', section: titles.get(s.section) ?? s.section, defines: masks },
      });
    }
    placed.push({ key: at, item: cStruct(s, titles) });
  }
  placed.sort((a, b) => compareKeys(a.key, b.key));
  return { items: placed.map((p) => p.item) };
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

export function viewDefines(view: CView): CDefine[] {
  return view.items.flatMap((i) => (i.kind === 'defines' ? i.defines : []));
}

export function viewStructs(view: CView): CStruct[] {
  return view.items.filter((i): i is CStruct => i.kind === 'struct');
}
