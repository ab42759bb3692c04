// Parses a ` ```c ` block of the spec's own notation into struct and define declarations.
// The grammar is small on purpose (docs/spec-dialect.md); anything else is an error with a place.

import type { ScalarType } from '../model.js';

export interface Place {
  line: number;
  column: number;
}

export interface BlockError {
  message: string;
  place: Place;
}

export type MemberDecl =
  | { kind: 'marker'; part: 'readable' | 'writable'; place: Place }
  | {
      kind: 'scalar';
      type: ScalarType;
      name: string;
      count?: number;
      lengthField?: string;
      doc?: string;
      place: Place;
    }
  | {
      kind: 'struct';
      struct: string;
      name: string;
      doc?: string;
      place: Place;
      inline?: StructDecl;
    }
  | {
      kind: 'bits';
      type: ScalarType;
      bits: { name: string; width: number; place: Place }[];
      doc?: string;
      place: Place;
    };

export interface StructDecl {
  name: string;
  members: MemberDecl[];
  /** A member had a syntax error (reported already); the struct cannot be laid out. */
  broken?: boolean;
  doc?: string;
  place: Place;
}

export interface DefineDecl {
  name: string;
  value: number;
  expression: string;
  doc?: string;
  place: Place;
}

export interface CBlock {
  structs: StructDecl[];
  defines: DefineDecl[];
  errors: BlockError[];
}

type Token =
  | { t: 'ident'; v: string; place: Place }
  | { t: 'num'; v: number; place: Place }
  | { t: 'punct'; v: string; place: Place }
  | { t: 'comment'; v: string; place: Place }
  | { t: 'define'; v: string; place: Place; valuePlace: Place; name: string; rest: string };

const SCALARS: ReadonlySet<string> = new Set(['u8', 'le16', 'le32', 'le64']);
const MARKERS: Record<string, 'readable' | 'writable'> = {
  'device-readable': 'readable',
  'device-writable': 'writable',
};

function tokenize(text: string, errors: BlockError[]): Token[] {
  const tokens: Token[] = [];
  const lines = text.split('\n');
  let inComment: { text: string[]; place: Place } | undefined;
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l];
    let i = 0;
    const at = (col: number): Place => ({ line: l, column: col });
    if (!inComment && /^\s*#/.test(line)) {
      const m = /^(\s*)#define\s+([A-Za-z_]\w*)\s+(.*?)\s*$/.exec(line);
      if (!m) {
        errors.push({
          message: 'Expected `#define NAME VALUE`; no other preprocessor lines are allowed',
          place: at(line.indexOf('#')),
        });
        continue;
      }
      const valueColumn = line.indexOf(m[3], m[1].length + 8 + m[2].length);
      tokens.push({
        t: 'define',
        v: line,
        name: m[2],
        rest: m[3],
        place: at(m[1].length),
        valuePlace: at(valueColumn),
      });
      continue;
    }
    while (i < line.length) {
      if (inComment) {
        const end = line.indexOf('*/', i);
        if (end < 0) {
          inComment.text.push(line.slice(i));
          i = line.length;
          continue;
        }
        inComment.text.push(line.slice(i, end));
        tokens.push({
          t: 'comment',
          v: inComment.text.join(' ').replace(/\s+/g, ' ').trim(),
          place: inComment.place,
        });
        inComment = undefined;
        i = end + 2;
        continue;
      }
      const ch = line[i];
      if (/\s/.test(ch)) {
        i++;
      } else if (line.startsWith('/*', i)) {
        inComment = { text: [], place: at(i) };
        i += 2;
      } else if (line.startsWith('//', i)) {
        tokens.push({ t: 'comment', v: line.slice(i + 2).trim(), place: at(i) });
        i = line.length;
      } else if (/[A-Za-z_]/.test(ch)) {
        const m = /^[A-Za-z_]\w*/.exec(line.slice(i))!;
        tokens.push({ t: 'ident', v: m[0], place: at(i) });
        i += m[0].length;
      } else if (/[0-9]/.test(ch)) {
        const m = /^(0[xX][0-9a-fA-F]+|[0-9]+)/.exec(line.slice(i))!;
        tokens.push({ t: 'num', v: Number(m[0]), place: at(i) });
        i += m[0].length;
      } else if ('{}[];:'.includes(ch)) {
        tokens.push({ t: 'punct', v: ch, place: at(i) });
        i++;
      } else {
        errors.push({ message: `Unexpected character \`${ch}\``, place: at(i) });
        i++;
      }
    }
  }
  if (inComment)
    errors.push({ message: 'Comment is not closed with `*/`', place: inComment.place });
  return tokens;
}

/** Evaluates `#define` values: a number, or `(A << B)`, with an optional trailing comment. */
function parseDefineValue(
  rest: string,
): { value: number; expression: string; doc?: string } | undefined {
  const m = /^(.*?)\s*(?:\/\*\s*(.*?)\s*\*\/)?$/.exec(rest)!;
  const expression = m[1];
  const doc = m[2] || undefined;
  const num = /^(0[xX][0-9a-fA-F]+|[0-9]+)$/.exec(expression);
  if (num) return { value: Number(num[1]), expression, doc };
  const shift = /^\(\s*(0[xX][0-9a-fA-F]+|[0-9]+)\s*<<\s*([0-9]+)\s*\)$/.exec(expression);
  if (shift && Number(shift[2]) < 32) {
    return { value: Number(shift[1]) * 2 ** Number(shift[2]), expression, doc };
  }
  return undefined;
}

class BlockParser {
  private i = 0;
  private pendingDoc: string | undefined;
  readonly structs: StructDecl[] = [];
  readonly defines: DefineDecl[] = [];

  constructor(
    private readonly tokens: Token[],
    readonly errors: BlockError[],
  ) {}

  parse(): void {
    while (this.i < this.tokens.length) {
      const tok = this.tokens[this.i];
      if (tok.t === 'comment') {
        this.pendingDoc = tok.v;
        this.i++;
      } else if (tok.t === 'define') {
        this.i++;
        const value = parseDefineValue(tok.rest);
        if (!value) {
          this.errors.push({
            message: `Cannot read the value of \`${tok.name}\`: write a number or \`(1 << N)\``,
            place: tok.valuePlace,
          });
        } else {
          this.defines.push({
            name: tok.name,
            value: value.value,
            expression: value.expression,
            doc: value.doc ?? this.pendingDoc,
            place: tok.place,
          });
        }
        this.pendingDoc = undefined;
      } else if (tok.t === 'ident' && tok.v === 'struct') {
        const decl = this.parseStruct();
        if (!decl) return;
        this.structs.push(decl);
        if (!this.expectPunct(';', 'after the closing `}` of a struct')) return;
      } else {
        this.fail(tok, 'Expected `struct NAME { ... };` or `#define NAME VALUE`');
        return;
      }
    }
  }

  private fail(tok: Token | undefined, message: string): undefined {
    const place = tok?.place ??
      this.tokens[this.tokens.length - 1]?.place ?? { line: 0, column: 0 };
    this.errors.push({ message, place });
    return undefined;
  }

  private expectPunct(v: string, where: string): boolean {
    const tok = this.tokens[this.i];
    if (tok?.t === 'punct' && tok.v === v) {
      this.i++;
      return true;
    }
    this.fail(tok, `Expected \`${v}\` ${where}`);
    return false;
  }

  private expectIdent(what: string): { v: string; place: Place } | undefined {
    const tok = this.tokens[this.i];
    if (tok?.t === 'ident') {
      this.i++;
      return tok;
    }
    return this.fail(tok, `Expected ${what}`);
  }

  /** At `struct`: parses `struct NAME { members }` and leaves the cursor after `}`. */
  private parseStruct(): StructDecl | undefined {
    const doc = this.pendingDoc;
    this.pendingDoc = undefined;
    const start = this.tokens[this.i++];
    const name = this.expectIdent('a struct name after `struct`');
    if (!name) return undefined;
    if (!this.expectPunct('{', `after \`struct ${name.v}\``)) return undefined;
    const errorsBefore = this.errors.length;
    const members = this.parseMembers();
    if (!members) return undefined;
    const broken = this.errors.length > errorsBefore;
    return { name: name.v, members, doc, place: start.place, ...(broken ? { broken } : {}) };
  }

  /** Parses members up to and including the closing `}`. */
  private parseMembers(): MemberDecl[] | undefined {
    const members: MemberDecl[] = [];
    let doc: string | undefined;
    for (;;) {
      const tok = this.tokens[this.i];
      if (!tok) return this.fail(tok, 'The struct is not closed with `};`');
      if (tok.t === 'punct' && tok.v === '}') {
        this.i++;
        return members;
      }
      if (tok.t === 'comment') {
        this.i++;
        const part = MARKERS[tok.v.toLowerCase()];
        if (part) members.push({ kind: 'marker', part, place: tok.place });
        else doc = tok.v;
        continue;
      }
      const member = this.parseMember(doc);
      if (member) members.push(member);
      else if (!this.skipPastSemicolon()) return undefined;
      doc = undefined;
    }
  }

  /** Error recovery: skips the rest of a broken member so the struct's other errors show too. */
  private skipPastSemicolon(): boolean {
    while (this.i < this.tokens.length) {
      const tok = this.tokens[this.i];
      if (tok.t === 'punct' && tok.v === '}') return true;
      this.i++;
      if (tok.t === 'punct' && tok.v === ';') return true;
    }
    return false;
  }

  private parseMember(doc: string | undefined): MemberDecl | undefined {
    const tok = this.tokens[this.i];
    if (tok.t !== 'ident') return this.fail(tok, 'Expected a field: `TYPE NAME;`');
    if (tok.v === 'struct') {
      const next = this.tokens[this.i + 2];
      if (next?.t === 'punct' && next.v === '{') {
        const inline = this.parseStruct();
        if (!inline) return undefined;
        const name = this.expectIdent(
          `a field name after the definition of \`struct ${inline.name}\``,
        );
        if (!name || !this.expectPunct(';', `after field \`${name?.v}\``)) return undefined;
        return { kind: 'struct', struct: inline.name, name: name.v, doc, place: tok.place, inline };
      }
      this.i++;
      const type = this.expectIdent('a struct name after `struct`');
      const name = type && this.expectIdent(`a field name after \`struct ${type.v}\``);
      if (!type || !name) return undefined;
      if (!this.expectPunct(';', `after field \`${name.v}\``)) return undefined;
      return { kind: 'struct', struct: type.v, name: name.v, doc, place: tok.place };
    }
    if (!SCALARS.has(tok.v)) {
      return this.fail(
        tok,
        `Unknown type \`${tok.v}\`: use u8, le16, le32, le64 or \`struct NAME\``,
      );
    }
    const type = tok.v as ScalarType;
    this.i++;
    const after = this.tokens[this.i];
    if (after?.t === 'punct' && after.v === '{') {
      this.i++;
      return this.parseBits(type, doc, tok.place);
    }
    const name = this.expectIdent(`a field name after \`${type}\``);
    if (!name) return undefined;
    let count: number | undefined;
    let lengthField: string | undefined;
    const bracket = this.tokens[this.i];
    if (bracket?.t === 'punct' && bracket.v === '[') {
      this.i++;
      const size = this.tokens[this.i++];
      if (size?.t === 'num' && size.v > 0) count = size.v;
      else if (size?.t === 'ident') lengthField = size.v;
      else
        return this.fail(
          size,
          `Array \`${name.v}\` needs a positive length or a config field name`,
        );
      if (!this.expectPunct(']', `after the length of \`${name.v}\``)) return undefined;
    }
    if (!this.expectPunct(';', `after field \`${name.v}\``)) return undefined;
    return { kind: 'scalar', type, name: name.v, count, lengthField, doc, place: tok.place };
  }

  /** After `TYPE {`: parses `name : width;` ranges, then `};`. */
  private parseBits(
    type: ScalarType,
    doc: string | undefined,
    place: Place,
  ): MemberDecl | undefined {
    const bits: { name: string; width: number; place: Place }[] = [];
    for (;;) {
      const tok = this.tokens[this.i];
      if (tok?.t === 'punct' && tok.v === '}') {
        this.i++;
        break;
      }
      const name = this.expectIdent('a bit range `name : width;` or `}`');
      if (!name || !this.expectPunct(':', `after bit range \`${name.v}\``)) return undefined;
      const width = this.tokens[this.i++];
      if (width?.t !== 'num' || width.v < 1) {
        return this.fail(width, `Bit range \`${name.v}\` needs a positive width`);
      }
      if (!this.expectPunct(';', `after bit range \`${name.v}\``)) return undefined;
      bits.push({ name: name.v, width: width.v, place: name.place });
    }
    if (!this.expectPunct(';', 'after the bit ranges')) return undefined;
    if (bits.length === 0)
      return this.fail(this.tokens[this.i - 1], 'A bit container needs at least one range');
    return { kind: 'bits', type, bits, doc, place };
  }
}

export function parseCBlock(text: string): CBlock {
  const errors: BlockError[] = [];
  const parser = new BlockParser(tokenize(text, errors), errors);
  parser.parse();
  return { structs: parser.structs, defines: parser.defines, errors };
}
