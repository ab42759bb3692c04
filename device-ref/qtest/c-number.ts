// Layer: qtest.
// Numbers as QEMU's qtest reads them: qemu_strtou64 / qemu_strtoi64, that is glibc's
// strtoull / strtoll with base 0 and the whole word consumed. So: optional leading
// whitespace, an optional sign, then `0x…` hex, `0…` octal or decimal digits. A minus sign
// on an unsigned number wraps it ("-1" is 2^64-1); out of range is an error, as is any
// character left over. Where QEMU aborts on a bad number, the server answers FAIL instead.

const C_SPACE = /^[ \t\n\v\f\r]*/;
const U64_RANGE = 1n << 64n;
const I64_MAX = (1n << 63n) - 1n;

interface Parsed {
  negative: boolean;
  magnitude: bigint;
}

function parse(word: string): Parsed | undefined {
  let rest = word.replace(C_SPACE, '');
  let negative = false;
  if (rest.startsWith('+') || rest.startsWith('-')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  let prefix = '';
  let digits: RegExp = /^[0-9]+$/;
  if (/^0[xX][0-9a-fA-F]/.test(rest)) {
    prefix = '0x';
    digits = /^[0-9a-fA-F]+$/;
    rest = rest.slice(2);
  } else if (rest.startsWith('0')) {
    prefix = '0o';
    digits = /^[0-7]+$/;
  }
  if (!digits.test(rest)) return undefined;
  // Leading zeros aside, no 64-bit value needs more than 22 digits; skip parsing a huge word.
  if (rest.replace(/^0+/, '').length > 22) return { negative, magnitude: U64_RANGE };
  return { negative, magnitude: BigInt(prefix + rest) };
}

/**
 * A 64-bit value as qtest reads it: a number below 2^52, a bigint from there on. The words
 * clients send (addresses, sizes, register values) then cost no BigInt, and an address plus a
 * transfer size (at most 2^24) stays exact as a number.
 */
export type U64 = number | bigint;

/**
 * The words every client sends, parsed without regular expressions or substrings: `0x` and
 * 1 to 13 hex digits (52 bits), or a decimal of 1 to 15 digits (below 2^50) without a leading
 * zero, from `start` to `end` of `text`. Undefined for any other word, which then takes the
 * general path (which gives a bigint).
 */
function plainValue(text: string, start: number, end: number): number | undefined {
  const length = end - start;
  if (
    length > 2 &&
    length <= 15 &&
    text.charCodeAt(start) === 0x30 &&
    text.charCodeAt(start + 1) === 0x78
  ) {
    let value = 0;
    for (let i = start + 2; i < end; i++) {
      const c = text.charCodeAt(i);
      const letter = c | 0x20; // A-F folded onto a-f
      if (c >= 0x30 && c <= 0x39) value = value * 16 + (c - 0x30);
      else if (letter >= 0x61 && letter <= 0x66) value = value * 16 + (letter - 0x57);
      else return undefined;
    }
    return value;
  }
  if (length === 0 || length > 15 || text.charCodeAt(start) === 0x30) return undefined;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    value = value * 10 + (c - 0x30);
  }
  return value;
}

/** strtoull semantics: the value of `text` (or of its characters `start` to `end`) in [0, 2^64), or undefined. */
export function parseUnsigned64(text: string, start = 0, end = text.length): U64 | undefined {
  const plain = plainValue(text, start, end);
  if (plain !== undefined) return plain;
  const parsed = parse(text.slice(start, end));
  if (parsed === undefined || parsed.magnitude >= U64_RANGE) return undefined;
  return parsed.negative ? (U64_RANGE - parsed.magnitude) % U64_RANGE : parsed.magnitude;
}

/** strtoll semantics: the value of `text` (or of its characters `start` to `end`) in [-2^63, 2^63), or undefined. */
export function parseSigned64(text: string, start = 0, end = text.length): U64 | undefined {
  const plain = plainValue(text, start, end);
  if (plain !== undefined) return plain;
  const parsed = parse(text.slice(start, end));
  if (parsed === undefined) return undefined;
  const value = parsed.negative ? -parsed.magnitude : parsed.magnitude;
  return value < -I64_MAX - 1n || value > I64_MAX ? undefined : value;
}

/** The low `bits` (at most 32) bits of `value`, as a number. */
export function lowBits(value: U64, bits: number): number {
  return typeof value === 'number' ? value % 2 ** bits : Number(BigInt.asUintN(bits, value));
}
