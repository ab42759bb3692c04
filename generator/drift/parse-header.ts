// Reads the definitions of a C header as text: object-like and function-like `#define`s,
// and `struct NAME { … };` with their fields, each with its line. Enough C for UAPI headers;
// what it does not understand (enums, typedefs, prototypes) it leaves alone.

export interface HeaderPlace {
  file: string;
  line: number;
}

export interface HeaderDefine {
  name: string;
  /** The replacement text, comments removed, on one line. */
  body: string;
  functionLike: boolean;
  place: HeaderPlace;
}

export interface HeaderField {
  name: string;
  /** The type as written, one space between tokens: `__le32`, `struct virtio_iommu_req_head`. */
  type: string;
  /** The array length as written (`4`, `VIRTIO_X`), '' for a flexible array member. */
  count?: string;
  /** Width of a bit-field. */
  bits?: string;
  place: HeaderPlace;
}

export interface HeaderStruct {
  name: string;
  fields: HeaderField[];
  place: HeaderPlace;
}

export interface ParsedHeader {
  file: string;
  defines: HeaderDefine[];
  structs: HeaderStruct[];
}

/** The header's field type with its array suffix, as cTypeText spells the model's. */
export function headerTypeText(f: HeaderField): string {
  const base = f.bits !== undefined ? `${f.type}:${f.bits}` : f.type;
  return f.count === undefined ? base : `${base}[${f.count}]`;
}

/** Blanks out comments, keeping every newline so that lines still count. */
function stripComments(text: string): string {
  return text.replace(
    /\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g,
    (m) => (m.startsWith('/') ? m.replace(/[^\n]/g, ' ') : m),
  );
}

interface Token {
  text: string;
  line: number;
}

const TOKEN =
  /[A-Za-z_]\w*|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S/g;

export function parseHeader(text: string, file: string): ParsedHeader {
  const defines: HeaderDefine[] = [];
  const lines = stripComments(text).split('\n');
  const code: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i];
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i]}`;
    const directive = /^\s*#\s*(\w+)(.*)$/.exec(line);
    code.push(...Array(i - start + 1).fill(''));
    if (!directive) {
      code[start] = line;
      continue;
    }
    if (directive[1] !== 'define') continue;
    const m = /^\s*([A-Za-z_]\w*)(\([^)]*\))?(.*)$/.exec(directive[2]);
    if (!m) continue;
    defines.push({
      name: m[1],
      body: m[3].trim().replace(/\s+/g, ' '),
      functionLike: m[2] !== undefined,
      place: { file, line: start + 1 },
    });
  }
  const tokens: Token[] = [];
  code.forEach((l, i) => {
    for (const m of l.matchAll(TOKEN)) tokens.push({ text: m[0], line: i + 1 });
  });
  return { file, defines, structs: parseStructs(tokens, file) };
}

function parseStructs(tokens: Token[], file: string): HeaderStruct[] {
  const structs: HeaderStruct[] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i].text;
    if (t === '{') depth++;
    else if (t === '}') depth--;
    else if (
      depth === 0 &&
      t === 'struct' &&
      /^[A-Za-z_]/.test(tokens[i + 1]?.text ?? '') &&
      tokens[i + 2]?.text === '{'
    ) {
      const { fields, end } = parseMembers(tokens, i + 3, file);
      structs.push({ name: tokens[i + 1].text, fields, place: { file, line: tokens[i].line } });
      i = end;
    }
  }
  return structs;
}

/** Members from `start` (just after `{`) to the matching `}`; returns the index of that `}`. */
function parseMembers(
  tokens: Token[],
  start: number,
  file: string,
): { fields: HeaderField[]; end: number } {
  const fields: HeaderField[] = [];
  let member: Token[] = [];
  let i = start;
  for (; i < tokens.length && tokens[i].text !== '}'; i++) {
    const t = tokens[i];
    if (t.text === '{') {
      // An anonymous or inline struct/union member: its body is one opaque type.
      const inner = parseMembers(tokens, i + 1, file);
      member.push({
        text: `{${inner.fields.map((f) => `${headerTypeText(f)} ${f.name};`).join(' ')}}`,
        line: t.line,
      });
      i = inner.end;
    } else if (t.text === ';') {
      fields.push(...declarators(member, file));
      member = [];
    } else {
      member.push(t);
    }
  }
  return { fields, end: i };
}

const QUALIFIERS = new Set(['__extension__', 'const', 'volatile']);

/** `__u8 a, b[4];` → fields a and b. */
function declarators(tokens: Token[], file: string): HeaderField[] {
  const words = tokens.filter((t) => !QUALIFIERS.has(t.text) && !t.text.startsWith('__attribute'));
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const t of words) {
    if (t.text === '(' || t.text === '[') depth++;
    if (t.text === ')' || t.text === ']') depth--;
    if (t.text === ',' && depth === 0) parts.push([]);
    else parts[parts.length - 1].push(t);
  }
  const first = parts[0];
  const nameIndex = (p: Token[]) => {
    const stop = p.findIndex((t) => t.text === '[' || t.text === ':');
    return (stop < 0 ? p.length : stop) - 1;
  };
  const n0 = nameIndex(first);
  if (n0 < 1) return [];
  const type = first
    .slice(0, n0)
    .map((t) => t.text)
    .join(' ');
  return parts.map((p, k) => {
    const at = k === 0 ? n0 : nameIndex(p);
    const rest = p.slice(at + 1).map((t) => t.text);
    const field: HeaderField = {
      name: p[at]?.text ?? '',
      type,
      place: { file, line: p[at]?.line ?? first[0].line },
    };
    if (rest[0] === '[') field.count = rest.slice(1, rest.indexOf(']')).join(' ');
    if (rest[0] === ':') field.bits = rest.slice(1).join(' ');
    return field;
  });
}
