// Safe pieces for generated code, after ajv's `_` tagged template and `Name`: raw strings never
// reach the output. The literal parts of a `code` template are the emitter's own text;
// everything interpolated is a `Code` value, made only here: identifiers checked by `ident`,
// strings quoted by `quote`, prose made harmless by `comment`, numbers by `num`/`hex`.

import type { SpecModel } from '../model.js';

export class Code {
  readonly #text: string;
  private constructor(text: string) {
    this.#text = text;
  }
  /** Only this module turns text into Code. */
  static trusted(text: string): Code {
    return new Code(text);
  }
  toString(): string {
    return this.#text;
  }
}

const trusted = (text: string): Code => Code.trusted(text);

/** Code from a template: literal parts are emitter text, holes are Code or safe integers. */
export function code(strings: TemplateStringsArray, ...holes: (Code | number)[]): Code {
  let out = strings[0];
  holes.forEach((hole, i) => {
    out += hole instanceof Code ? hole.toString() : num(hole).toString();
    out += strings[i + 1];
  });
  return trusted(out);
}

/** A decimal integer literal. */
export function num(value: number): Code {
  if (!Number.isSafeInteger(value))
    throw new Error(`${value} is not a safe integer for generated code`);
  return trusted(String(value));
}

/** A hexadecimal integer literal, `0xfff`. */
export function hex(value: number | bigint): Code {
  const big = BigInt(value);
  if (big < 0n) throw new Error(`${value} is negative; hex literals here are unsigned`);
  return trusted(`0x${big.toString(16)}`);
}

export function join(parts: Code[], separator: string): Code {
  return trusted(parts.map(String).join(separator));
}

/**
 * `left`, then tabs (8 columns each) up to `column` (at least one), then `right`: the
 * kernel's way of aligning values and field names.
 */
export function tabAlign(left: Code, right: Code, column: number): Code {
  let width = 0;
  for (const ch of left.toString())
    width = ch === '\t' ? (Math.floor(width / 8) + 1) * 8 : width + 1;
  let tabs = '';
  do {
    tabs += '\t';
    width = (Math.floor(width / 8) + 1) * 8;
  } while (width < column);
  return trusted(`${left.toString()}${tabs}${right.toString()}`);
}

/** Lines of code, each followed by a newline. */
export function lines(parts: Code[]): Code {
  return trusted(parts.map((p) => `${p.toString()}\n`).join(''));
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

// C and C++ keywords: a generated header must compile as both.
const C_KEYWORDS = new Set(
  (
    'alignas alignof and and_eq asm auto bitand bitor bool break case catch char char16_t char32_t char8_t class ' +
    'compl concept const const_cast consteval constexpr constinit continue co_await co_return co_yield decltype ' +
    'default delete do double dynamic_cast else enum explicit export extern false float for friend goto if inline ' +
    'int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public ' +
    'register reinterpret_cast requires restrict return short signed sizeof static static_assert static_cast ' +
    'struct switch template this thread_local throw true try typedef typeid typename union unsigned using virtual ' +
    'void volatile wchar_t while xor xor_eq _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary ' +
    '_Noreturn _Static_assert _Thread_local'
  ).split(' '),
);

// Words a TypeScript binding (a function, type or variable name) cannot be.
const TS_RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally ' +
    'for function if import in instanceof new null return super switch this throw true try typeof var void ' +
    'while with implements interface let package private protected public static yield await any boolean ' +
    'number string symbol never unknown object bigint undefined type'
  ).split(' '),
);

export type IdentKind = 'c' | 'ts' | 'ts-property';

/**
 * A checked identifier. `c`: a C/C++ name (struct, field, macro); `ts`: a TypeScript binding;
 * `ts-property`: an object property, where reserved words are allowed.
 */
export function ident(name: string, kind: IdentKind): Code {
  if (!IDENTIFIER.test(name))
    throw new Error(`\`${name}\` is not a valid identifier for generated code`);
  if (kind === 'c' && C_KEYWORDS.has(name))
    throw new Error(`\`${name}\` is a C or C++ keyword and cannot name a definition`);
  if (kind === 'ts' && TS_RESERVED.has(name))
    throw new Error(`\`${name}\` is a reserved word in TypeScript`);
  if (name.startsWith('__') && kind !== 'ts-property') {
    throw new Error(`\`${name}\` starts with \`__\`, which is reserved for the implementation`);
  }
  return trusted(name);
}

/** A word from a fixed list the emitter owns (a C type name, a keyword). */
export function oneOf(text: string, allowed: readonly string[]): Code {
  if (!allowed.includes(text)) throw new Error(`\`${text}\` is not one of ${allowed.join(', ')}`);
  return trusted(text);
}

/** The value of a `#define`: an integer expression of numbers, names and operators. */
export function cExpression(text: string): Code {
  if (!/^[\w\s()<>|&^~+*%!-]+$/.test(text) || /\b0[xX](?![0-9a-fA-F])/.test(text)) {
    throw new Error(`\`${text}\` is not an integer expression for a #define`);
  }
  return trusted(text.replace(/\s+/g, ' ').trim());
}

/** A TypeScript string literal in single quotes. The one quoting helper. */
export function quote(text: string): Code {
  const escaped = JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  return trusted(`'${escaped}'`);
}

/** Prose made safe inside a block comment: one line, no comment terminator, no control characters. */
export function prose(text: string): Code {
  return trusted(
    text
      .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
      .replace(/\*\//g, '* /')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

/**
 * A block comment, wrapped to `width` columns: `/* text *\/` on one line when it fits,
 * otherwise the kernel's multi-line form. `doc` makes a TSDoc comment (`/** … *\/`).
 */
export function comment(
  text: string,
  indent = '',
  options: { doc?: boolean; width?: number } = {},
): Code {
  const width = options.width ?? 80;
  const open = options.doc ? '/**' : '/*';
  const body = prose(text).toString();
  const single = `${indent}${open} ${body} */`;
  if (single.length <= width) return trusted(single);
  return trusted(
    [`${indent}${open}`, ...wrap(body, `${indent} *`, width), `${indent} */`].join('\n'),
  );
}

/** Prose (already safe) as lines that start with `prefix` and stay within `width` columns. */
function wrap(body: string, prefix: string, width: number): string[] {
  const out: string[] = [];
  let line = prefix;
  for (const word of body.split(' ')) {
    if (line.length + 1 + word.length > width && line !== prefix) {
      out.push(line);
      line = prefix;
    }
    line += ` ${word}`;
  }
  out.push(line);
  return out;
}

/** The first sentence of a doc text: a short comment for a definition. */
export function firstSentence(text: string): string {
  const m = /^(.*?[.!?])(\s|$)/.exec(text.trim());
  return m ? m[1] : text.trim();
}

/** `probe_size` → `probeSize`, `input_range.start` → `inputRangeStart`. */
export function camelCase(name: string): string {
  return name
    .split(/[_.]+/)
    .filter(Boolean)
    .map((part, i) => (i === 0 ? part : part[0].toUpperCase() + part.slice(1)))
    .join('');
}

export function pascalCase(name: string): string {
  const camel = camelCase(name);
  return camel[0].toUpperCase() + camel.slice(1);
}

/**
 * The opening of every generated file: spec version and a do-not-edit line. Nothing that
 * depends on the machine or the day, so two runs give the same bytes.
 */
export function banner(model: SpecModel, extra: string[] = []): Code {
  const paragraphs = [
    `${model.title}, spec model ${model.version}${model.specVersion ? `, version ${model.specVersion}` : ''}.`,
    ...extra,
    'Do not edit: generated by viommu gen from spec-src/.',
  ];
  return trusted(
    ['/*', ...paragraphs.flatMap((p) => wrap(prose(p).toString(), ' *', 80)), ' */', ''].join('\n'),
  );
}
