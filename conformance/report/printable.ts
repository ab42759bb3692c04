// The printing boundary: text that came from outside (a device's reply, a device's output, a
// test title built from the spec) may hold control characters, and an escape sequence written
// raw to a terminal can move the cursor, rewrite what was printed or retitle the window. Every
// line the conform command prints goes through printable().

/** C0 and C1 controls, DEL (all of Cc), and the controls that reorder text (bidi overrides). */
const CONTROL = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

const escape = (char: string): string => {
  const code = char.codePointAt(0)!;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * `text` with every control character written as an escape (`\x1b`, `\u202e`). Newlines are
 * kept when `multiline` is set, so a stack prints as lines; tabs and the rest are escaped.
 */
export function printable(text: string, multiline = false): string {
  if (!multiline) return text.replace(CONTROL, escape);
  return text
    .split('\n')
    .map((line) => line.replace(CONTROL, escape))
    .join('\n');
}
